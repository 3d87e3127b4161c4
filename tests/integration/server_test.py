#!/usr/bin/env python3
"""Integration tests for `loanrisk serve`: the real binary on a free port, spoken to over HTTP(S).

usage: server_test.py LOANRISK_BINARY SOURCE_DIR DATA_DIR [test-name-substring]

Covers every route of SPEC section 3, every row of the error table of section 4, both request shapes,
CSV/NDJSON bodies giving the same PDs as JSON, keep-alive, pipelining, 50 concurrent clients, chunked
uploads, hot reload under load, a bad reload keeping the old model, SIGHUP, SIGTERM with a request in
flight, the connection cap, and TLS with a certificate made by openssl here. Python 3 stdlib only.
"""
import csv
import gzip
import http.client
import io
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

from server_process import ServerProcess

BIN, SOURCE, DATA = sys.argv[1], sys.argv[2], sys.argv[3]
ONLY = sys.argv[4] if len(sys.argv) > 4 else ""
MODEL = os.path.join(SOURCE, "models", "credit_risk_pd.json")
TOKEN = "s3cret-token"
TMP = tempfile.mkdtemp(prefix="loanrisk-server-test-")

LOAN = {"person_age": 22, "person_income": 59000, "person_home_ownership": "RENT", "person_emp_length": 123.0,
        "loan_intent": "PERSONAL", "loan_grade": "D", "loan_amnt": 35000, "loan_int_rate": 16.02,
        "loan_percent_income": 0.59, "cb_person_default_on_file": "Y", "cb_person_cred_hist_length": 3}
FEATURES = list(LOAN)


class Server(ServerProcess):
    """The server under test, with HTTP(S) helpers."""

    def __init__(self, *args, env=None, tls=None):
        super().__init__(BIN, MODEL, TMP, *args, env=env)
        self.tls = tls

    def conn(self, timeout=30):
        if self.tls:
            return http.client.HTTPSConnection("localhost", self.port, timeout=timeout, context=self.tls)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, conn=None):
        c = conn or self.conn()
        h = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        if conn is None:
            c.close()
        return r, data

    def json(self, method, path, body=None, headers=None, conn=None):
        r, data = self.request(method, path, body, headers, conn)
        ctype = r.getheader("Content-Type", "")
        return r.status, (json.loads(data) if ctype.startswith("application/json") else data.decode()), r


def read_dataset(limit):
    path = os.path.join(DATA, "credit_risk_dataset.csv")
    if not os.path.exists(path):
        return None
    rows = []
    with open(path, newline="") as f:
        for i, row in enumerate(csv.DictReader(f)):
            if i >= limit:
                break
            item = {"application_id": "L-%d" % i}
            for k, v in row.items():
                if k == "loan_status" or v == "":
                    continue
                try:
                    item[k] = float(v) if k not in ("person_home_ownership", "loan_intent", "loan_grade",
                                                     "cb_person_default_on_file") else v
                except ValueError:
                    item[k] = v
            rows.append(item)
    return rows


def synthetic_rows(n):
    grades, intents = "ABCDEFG", ["PERSONAL", "EDUCATION", "MEDICAL", "VENTURE", "HOMEIMPROVEMENT"]
    rows = []
    for i in range(n):
        r = dict(LOAN, application_id="S-%d" % i, person_age=20 + i % 50, loan_amnt=1000 + 37 * i,
                 loan_grade=grades[i % 7], loan_intent=intents[i % 5], loan_percent_income=(i % 60) / 100)
        if i % 13 == 0:
            del r["person_emp_length"]
        rows.append(r)
    return rows


ROWS = read_dataset(3000)
if ROWS is None:
    if os.environ.get("LOANRISK_REQUIRE_DATA"):
        sys.exit("FAIL: real data required but %s/credit_risk_dataset.csv is missing" % DATA)
    ROWS = synthetic_rows(3000)


def to_csv(rows):
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=["application_id"] + FEATURES, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in ["application_id"] + FEATURES})
    return out.getvalue()


def to_ndjson(rows):
    return "".join(json.dumps(r) + "\n" for r in rows)


# ---- tests ------------------------------------------------------------------------------------------

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def expect_error(status, body, want_status, want_code, path=None):
    expect(status == want_status, "status %s, expected %s: %s" % (status, want_status, body))
    expect(isinstance(body, dict) and body.get("error") == want_code, "error %r, expected %s" % (body, want_code))
    expect("detail" in body, "no detail in %r" % body)
    if path is not None:
        expect(body.get("path") == path, "path %r, expected %r" % (body.get("path"), path))


@test
def health_reports_api_and_model_version(s):
    st, b, _ = s.json("GET", "/health")
    expect(st == 200 and b["status"] == "ok" and b["api_version"] and len(b["model_version"]) == 16, b)


@test
def ready_is_200_once_the_model_is_warm(s):
    st, b, _ = s.json("GET", "/ready")
    expect(st == 200 and b["status"] == "ready", b)


@test
def predict_accepts_both_request_shapes_with_the_same_pd(s):
    st1, wrapped, _ = s.json("POST", "/predict", {"application_id": "A-1", "data": LOAN})
    st2, flat, _ = s.json("POST", "/predict", dict(LOAN, application_id="A-1"))
    expect(st1 == 200 and st2 == 200, (wrapped, flat))
    expect(wrapped == flat, "wrapped %r != flat %r" % (wrapped, flat))
    for key in ("application_id", "pd_default", "decision", "expected_loss", "assumptions", "model_version", "score",
                "reason_codes", "warnings"):
        expect(key in flat, "missing %s in %r" % (key, flat))
    expect(flat["application_id"] == "A-1", flat)
    expect(flat["assumptions"] == {"LGD": 0.6, "APPROVE_MAX": 0.3, "REJECT_MIN": 0.6}, flat["assumptions"])
    pd = flat["pd_default"]
    expect(flat["decision"] == ("APPROVE" if pd < 0.3 else "MANUAL_REVIEW" if pd < 0.6 else "REJECT"), flat)
    expect(abs(flat["expected_loss"] - round(pd * 35000 * 0.6, 2)) < 0.02, flat)
    expect(1 <= len(flat["reason_codes"]) <= 3 and all(r["contribution"] > 0 for r in flat["reason_codes"]), flat)


@test
def predict_flags_values_outside_the_training_range_and_nulls_missing_ids(s):
    st, b, _ = s.json("POST", "/predict", dict(LOAN, person_age=150))
    expect(st == 200 and b["application_id"] is None, b)
    expect(any("person_age" in w for w in b["warnings"]), b["warnings"])
    st, b, _ = s.json("POST", "/predict", {"loan_grade": "A"})  # everything else missing: imputed, EL null
    expect(st == 200 and b["expected_loss"] is None, b)


@test
def batch_json_returns_results_count_assumptions_and_summary(s):
    rows = ROWS[:500]
    items = [r if i % 2 else {"application_id": r["application_id"], "data": {k: v for k, v in r.items()
                                                                             if k != "application_id"}}
             for i, r in enumerate(rows)]
    st, b, _ = s.json("POST", "/batch_predict", {"items": items})
    expect(st == 200, b)
    expect(b["count"] == 500 and len(b["results"]) == 500, b.get("count"))
    expect([r["application_id"] for r in b["results"]] == [r["application_id"] for r in rows], "ids out of order")
    sm = b["summary"]
    expect(sm["count"] == 500 and sum(sm["decisions"].values()) == 500, sm)
    expect(set(sm["expected_loss_by"]) == {"loan_grade", "loan_intent"}, sm["expected_loss_by"].keys())
    expect(sm["pd_histogram"]["edges"] == [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1], sm["pd_histogram"])
    expect(sm["psi"]["value"] is not None and "disparate_impact_ratio" in sm["approval_by_age_band"], sm)
    # The single-loan route agrees with the batch.
    st, one, _ = s.json("POST", "/predict", rows[7])
    expect(one["pd_default"] == b["results"][7]["pd_default"], (one, b["results"][7]))


@test
def batch_csv_and_ndjson_bodies_give_the_same_pds_as_json(s):
    rows = ROWS
    st, j, _ = s.json("POST", "/batch_predict", {"items": rows})
    st2, n, _ = s.json("POST", "/batch_predict", to_ndjson(rows), {"Content-Type": "application/x-ndjson"})
    st3, c, _ = s.json("POST", "/batch_predict", to_csv(rows), {"Content-Type": "text/csv"})
    expect(st == st2 == st3 == 200, (st, st2, st3, n if st2 != 200 else "", c if st3 != 200 else ""))
    expect(j["results"] == n["results"] == c["results"], "results differ between JSON, NDJSON and CSV bodies")
    expect(j["summary"] == n["summary"] == c["summary"], "summaries differ")


@test
def batch_streams_chunked_ndjson_and_csv_uploads(s):
    rows = ROWS
    _, j, _ = s.json("POST", "/batch_predict", {"items": rows})
    for ctype, text in (("application/x-ndjson", to_ndjson(rows)), ("text/csv", to_csv(rows))):
        data = text.encode()
        chunks = (data[i:i + 997] for i in range(0, len(data), 997))  # chunk edges fall mid-line
        c = s.conn()
        c.request("POST", "/batch_predict", body=chunks, headers={"Content-Type": ctype}, encode_chunked=True)
        r = c.getresponse()
        body = json.loads(r.read())
        c.close()
        expect(r.status == 200, (ctype, body))
        expect(body["results"] == j["results"] and body["summary"] == j["summary"], ctype + " chunked differs")


@test
def an_error_mid_body_reaches_a_client_that_sends_its_whole_body_first(s):
    # http.client sends the whole body before reading. A bad row near the start is answered at once; the
    # server then reads and drops the rest before closing, so the answer is not lost to a reset.
    rows = (ROWS * (200000 // len(ROWS) + 1))[:200000]
    lines = to_csv(rows).split("\n")
    cells = lines[10].split(",")
    cells[FEATURES.index("person_age") + 1] = "abc"  # after application_id
    lines[10] = ",".join(cells)
    body = "\n".join(lines).encode()
    expect(len(body) > 8 << 20, len(body))
    for _ in range(2):
        c = s.conn()
        try:
            c.request("POST", "/batch_predict", body=body, headers={"Content-Type": "text/csv"})
            r = c.getresponse()
            answer = json.loads(r.read())
        except OSError as e:
            raise AssertionError("the client lost the answer: %r" % e)
        finally:
            c.close()
        expect_error(r.status, answer, 422, "invalid_field")
        expect(answer["path"] == "line 11, column person_age", answer)
        expect(r.getheader("Connection") == "close", r.getheaders())
    expect(s.json("GET", "/health")[0] == 200, "health after")


@test
def an_error_the_body_cannot_change_is_answered_before_the_body(s):
    # Expect: 100-continue with a Content-Type the route does not take: the 415 instead of the 100.
    for path, ctype, status, code in (("/batch_predict", "text/plain", 415, "unsupported_media_type"),
                                      ("/batch_predict?group_by=nosuch", "text/csv", 422, "invalid_request"),
                                      ("/predict", "text/csv", 415, "unsupported_media_type"),
                                      ("/nowhere", "text/csv", 404, "not_found"),
                                      ("/health", "text/csv", 405, "method_not_allowed")):
        with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
            c.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: 50000000\r\n"
                       "Expect: 100-continue\r\n\r\n" % (path, ctype)).encode())
            data = recv_response(c)
        expect(data.startswith(b"HTTP/1.1 %d" % status), (path, data[:200]))
        body = json.loads(data[data.index(b"\r\n\r\n") + 4:])
        expect(body["error"] == code, (path, body))
    # A client sending a large body anyway gets the answer, not a reset, and no loans are counted.
    before = s.json("GET", "/stats")[1]["loans_scored_total"]
    body = to_csv((ROWS * 40)[:100000]).encode()
    c = s.conn()
    try:
        c.request("POST", "/batch_predict?group_by=nosuch", body=body, headers={"Content-Type": "text/csv"})
        r = c.getresponse()
        answer = json.loads(r.read())
    finally:
        c.close()
    expect_error(r.status, answer, 422, "invalid_request")
    expect(s.json("GET", "/stats")[1]["loans_scored_total"] == before, "loans counted")


@test
def a_compressed_request_body_is_415_with_accept_encoding_identity(s):
    text = to_csv(ROWS[:20]).encode()
    for coding, body in (("gzip", gzip.compress(text)), ("br", text), ("gzip, identity", gzip.compress(text))):
        r, data = s.request("POST", "/batch_predict", body, {"Content-Type": "text/csv", "Content-Encoding": coding})
        expect_error(r.status, json.loads(data), 415, "unsupported_media_type")
        expect(r.getheader("Accept-Encoding") == "identity", r.getheaders())
    r, _ = s.request("POST", "/batch_predict", text, {"Content-Type": "text/csv", "Content-Encoding": "identity"})
    expect(r.status == 200, r.status)
    r, _ = s.request("GET", "/health", None, {"Content-Encoding": "gzip"})  # no body: nothing to decode
    expect(r.status == 200, r.status)


@test
def batch_accept_csv_and_ndjson_return_results_in_that_format(s):
    rows = ROWS[:200]
    _, j, _ = s.json("POST", "/batch_predict", {"items": rows})
    r, data = s.request("POST", "/batch_predict", {"items": rows}, {"Accept": "text/csv"})
    expect(r.status == 200 and r.getheader("Content-Type").startswith("text/csv"), r.status)
    got = list(csv.DictReader(io.StringIO(data.decode())))
    expect(len(got) == 200 and r.getheader("X-Loanrisk-Count") == "200", len(got))
    for a, b in zip(got, j["results"]):
        expect(a["application_id"] == b["application_id"] and float(a["pd_default"]) == b["pd_default"]
               and a["decision"] == b["decision"], (a, b))
    r, data = s.request("POST", "/batch_predict", to_ndjson(rows),
                        {"Accept": "application/x-ndjson", "Content-Type": "application/x-ndjson"})
    lines = [json.loads(line) for line in data.decode().splitlines()]
    expect(r.status == 200 and len(lines) == 201, len(lines))
    expect(lines[:200] == j["results"], "NDJSON results differ")
    expect(lines[200]["summary"] == j["summary"] and lines[200]["count"] == 200, "NDJSON summary line")
    # Accept's weights: q=0 excludes a type, the highest weight wins, the first of equal ones; each type
    # weighs what its most specific range gives; a range with a malformed q is ignored.
    for accept, want in [("text/csv;q=0, application/json", "application/json"),
                         ("application/json;q=0.1, text/csv", "text/csv"),
                         ("application/x-ndjson;q=0", "application/json"),
                         ("text/csv;q=0.5, application/x-ndjson;q=0.9", "application/x-ndjson"),
                         ("text/csv; q=1.0, application/json", "text/csv"),
                         ("application/json;q=0, */*", "text/csv"),
                         ("text/csv;q = 0, application/json;q=0.5", "application/json"),
                         ("text/*", "text/csv"),
                         ("application/*;q=0.2, application/x-ndjson", "application/x-ndjson"),
                         ("application/ndjson;q=0, application/x-ndjson", "application/x-ndjson"),
                         ("text/csv;qs=1", "text/csv")]:
        r, _ = s.request("POST", "/batch_predict", {"items": rows[:3]}, {"Accept": accept})
        expect(r.status == 200 and r.getheader("Content-Type").startswith(want), (accept, r.getheader("Content-Type")))
    # Accept on two lines is one list.
    c = s.conn()
    body = json.dumps({"items": rows[:3]}).encode()
    c.putrequest("POST", "/batch_predict")
    for name, value in [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                        ("Accept", "application/json;q=0"), ("Accept", "text/csv")]:
        c.putheader(name, value)
    c.endheaders(body)
    r = c.getresponse()
    r.read()
    c.close()
    expect(r.status == 200 and r.getheader("Content-Type").startswith("text/csv"), r.getheader("Content-Type"))
    # ?explain=true in CSV: the score and three reason columns, as the JSON results have them.
    _, je, _ = s.json("POST", "/batch_predict?explain=true", {"items": rows[:20]})
    r, data = s.request("POST", "/batch_predict?explain=true", {"items": rows[:20]}, {"Accept": "text/csv"})
    got = list(csv.DictReader(io.StringIO(data.decode())))
    expect(r.status == 200 and len(got) == 20, (r.status, len(got)))
    for a, b in zip(got, je["results"]):
        reasons = [f'{c["feature"]}={c["value"]}' for c in b["reason_codes"]] + ["", "", ""]
        expect(int(a["score"]) == b["score"] and [a["reason_1"], a["reason_2"], a["reason_3"]] == reasons[:3], (a, b))


@test
def batch_query_options_results_group_by_and_explain(s):
    rows = ROWS[:100]
    st, b, _ = s.json("POST", "/batch_predict?results=false", {"items": rows})
    expect(st == 200 and "results" not in b and b["summary"]["count"] == 100, b.keys())
    st, b, _ = s.json("POST", "/batch_predict?results=false&group_by=person_home_ownership,loan_grade", {"items": rows})
    expect(list(b["summary"]["expected_loss_by"]) == ["person_home_ownership", "loan_grade"], b["summary"])
    st, b, _ = s.json("POST", "/batch_predict?explain=true", {"items": rows[:5]})
    expect(st == 200 and all("score" in r and "reason_codes" in r for r in b["results"]), b["results"][0])
    st, b, _ = s.json("POST", "/batch_predict?group_by=person_age", {"items": rows})
    expect_error(st, b, 422, "invalid_request", "query.group_by")
    st, b, _ = s.json("POST", "/batch_predict?results=maybe", {"items": rows})
    expect_error(st, b, 422, "invalid_request", "query.results")


@test
def model_card_lists_features_metrics_and_policy(s):
    st, b, _ = s.json("GET", "/model")
    expect(st == 200, b)
    names = {f["name"]: f for f in b["features"]}
    expect(set(FEATURES) <= set(names), names.keys())
    expect(names["loan_grade"]["categories"][:3] == ["A", "B", "C"], names["loan_grade"])
    expect(names["person_age"]["training_range"]["max"] == 144 and names["person_age"]["domain"]["min"] == 0,
           names["person_age"])
    expect("roc_auc" in json.dumps(b["metrics"]) and b["policy"]["LGD"] == 0.6, b["policy"])


@test
def openapi_describes_every_route(s):
    st, b, _ = s.json("GET", "/openapi.json")
    expect(st == 200 and b["openapi"].startswith("3.0"), b.get("openapi"))
    for p in ("/health", "/ready", "/predict", "/batch_predict", "/model", "/metrics", "/openapi.json", "/stats", "/",
              "/admin/reload"):
        expect(p in b["paths"], "missing " + p)
    expect("person_age" in b["components"]["schemas"]["Loan"]["properties"], "loan schema from the model")


@test
def metrics_is_prometheus_text_with_requests_latency_loans_decisions_pd_model_and_build(s):
    s.json("POST", "/predict", LOAN)
    r, data = s.request("GET", "/metrics")
    text = data.decode()
    expect(r.status == 200 and r.getheader("Content-Type").startswith("text/plain"), r.status)
    for needle in ('loanrisk_http_requests_total{route="/predict",status="200"}',
                   'loanrisk_http_request_duration_seconds_bucket{route="/predict",le="+Inf"}',
                   "loanrisk_loans_scored_total ", 'loanrisk_decisions_total{decision="REJECT"}',
                   'loanrisk_pd_bucket{le="0.1"}', "loanrisk_model_info{model_version=", "loanrisk_build_info{"):
        expect(needle in text, "missing " + needle)
    # The live PSI's loan count, for gating an alert on it: the same as /stats says.
    _, stats, _ = s.json("GET", "/stats")
    m = re.search(r"^loanrisk_live_loans (\d+)$", text, re.M)
    expect(m and int(m.group(1)) == stats["live"]["count"] >= 1, (m and m.group(0), stats["live"]["count"]))
    promtool = shutil.which("promtool")
    if promtool:
        p = subprocess.run([promtool, "check", "metrics"], input=data, capture_output=True)
        expect(p.returncode == 0, p.stdout.decode() + p.stderr.decode())


@test
def stats_is_a_live_snapshot_since_start(s):
    _, before, _ = s.json("GET", "/stats")
    s.json("POST", "/batch_predict", {"items": ROWS[:50]})
    st, after, _ = s.json("GET", "/stats")
    expect(st == 200 and after["loans_scored_total"] == before["loans_scored_total"] + 50, (before, after))
    live = after["live"]
    expect(live["count"] >= 50 and "psi" in live and "pd_histogram" in live and "decisions" in live, live.keys())


@test
def a_streamed_batch_that_fails_part_way_counts_no_loans(s):
    # 70,000 good rows (more than one 65,536-loan flush while the body streams), then a bad one: a 422, and
    # neither /metrics nor /stats counts any of the loans scored before it.
    def scored():
        _, stats, _ = s.json("GET", "/stats")
        _, data = s.request("GET", "/metrics")
        m = re.search(rb"^loanrisk_loans_scored_total (\d+)", data, re.M)
        return stats["loans_scored_total"], int(m.group(1))
    before = scored()
    rows = (ROWS * (70000 // len(ROWS) + 1))[:70000]
    body = to_csv(rows) + "bad,abc" + "," * (len(FEATURES) - 1) + "\n"
    r, data = s.request("POST", "/batch_predict?results=false", body.encode(), {"Content-Type": "text/csv"})
    expect_error(r.status, json.loads(data), 422, "invalid_field")
    expect(scored() == before, (before, scored()))


@test
def a_304_is_counted_under_its_own_status(s):
    r, _ = s.request("GET", "/")
    etag = r.getheader("ETag")
    r, _ = s.request("GET", "/", None, {"If-None-Match": etag})
    expect(r.status == 304, r.status)
    # No Content-Length: it would have to be the full page's (RFC 9110 section 8.6), not 0.
    expect(r.getheader("Content-Length") is None, r.getheaders())
    _, data = s.request("GET", "/metrics")
    expect(b'loanrisk_http_requests_total{route="/",status="304"} ' in data, "no 304 label")
    expect(b'route="/",status="other"' not in data, "304 counted as other")
    expect(b"loanrisk_connections_refused_total " in data, "no refused-connections counter")


@test
def dashboard_page_links_the_json_routes(s):
    r, data = s.request("GET", "/")
    html = data.decode()
    expect(r.status == 200 and r.getheader("Content-Type").startswith("text/html"), r.status)
    for link in ('href="/model"', 'href="/stats"', 'href="/openapi.json"'):
        expect(link in html, "missing " + link)


# -- the error table (SPEC section 4)

@test
def malformed_json_is_400_with_offset(s):
    st, b, _ = s.json("POST", "/batch_predict", '{"items": [{"person_age": 3', {"Content-Type": "application/json"})
    expect_error(st, b, 400, "malformed_json")
    expect(isinstance(b.get("offset"), int), b)


@test
def malformed_csv_is_400(s):
    st, b, _ = s.json("POST", "/batch_predict", 'application_id,loan_grade\n"A-1,B\n', {"Content-Type": "text/csv"})
    expect_error(st, b, 400, "malformed_csv")


@test
def wrong_type_is_422_with_the_field_path(s):
    items = [LOAN] * 17 + [{"application_id": "x", "data": dict(LOAN, person_age="old")}]
    st, b, _ = s.json("POST", "/batch_predict", {"items": items})
    expect_error(st, b, 422, "invalid_field", "items[17].data.person_age")


@test
def values_outside_the_domain_and_non_finite_numbers_are_422(s):
    st, b, _ = s.json("POST", "/predict", dict(LOAN, loan_amnt=-5))
    expect_error(st, b, 422, "invalid_field", "loan_amnt")
    st, b, _ = s.json("POST", "/predict", json.dumps(LOAN).replace("35000", "1e999"),
                      {"Content-Type": "application/json"})
    expect(st == 422, (st, b))
    st, b, _ = s.json("POST", "/batch_predict", "person_age,loan_grade\nNaN,A\n", {"Content-Type": "text/csv"})
    expect(st == 422 and b["error"] == "invalid_field", b)


@test
def unsupported_content_type_is_415(s):
    st, b, _ = s.json("POST", "/batch_predict", "<xml/>", {"Content-Type": "application/xml"})
    expect_error(st, b, 415, "unsupported_media_type")
    st, b, _ = s.json("POST", "/predict", "a=1", {"Content-Type": "application/x-www-form-urlencoded"})
    expect_error(st, b, 415, "unsupported_media_type")


@test
def body_over_the_limit_is_413_and_the_server_keeps_serving(s):
    with socket.create_connection(("127.0.0.1", s.port)) as sock:
        sock.sendall(b"POST /batch_predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 300000000\r\n\r\n")
        head = recv_response(sock)
    expect(head.startswith(b"HTTP/1.1 413"), head[:80])
    expect(b'"error":"payload_too_large"' in head, head)
    st, _, _ = s.json("GET", "/health")
    expect(st == 200, "server did not survive")


@test
def headers_too_large_are_431(s):
    st, b, _ = s.json("GET", "/health", headers={"X-Big": "a" * 20000})
    expect_error(st, b, 431, "headers_too_large")


@test
def unknown_route_is_404_and_wrong_method_405(s):
    st, b, _ = s.json("GET", "/nope")
    expect_error(st, b, 404, "not_found")
    st, b, r = s.json("GET", "/predict")
    expect_error(st, b, 405, "method_not_allowed")
    expect(r.getheader("Allow") == "POST", r.getheader("Allow"))
    st, b, r = s.json("DELETE", "/health")
    expect_error(st, b, 405, "method_not_allowed")
    expect(r.getheader("Allow") == "GET, HEAD", r.getheader("Allow"))
    # HEAD: GET's status and headers, no body; the keep-alive connection stays usable after it.
    c = s.conn()
    c.request("HEAD", "/health")
    r = c.getresponse()
    expect(r.status == 200 and r.read() == b"" and int(r.getheader("Content-Length")) > 0, r.status)
    c.request("GET", "/health")
    r = c.getresponse()
    expect(r.status == 200 and json.loads(r.read())["status"] == "ok", r.status)


@test
def admin_reload_without_the_right_token_is_401_and_changes_nothing(s):
    _, before, _ = s.json("GET", "/health")
    st, b, r = s.json("POST", "/admin/reload", {})
    expect_error(st, b, 401, "unauthorized")
    expect(r.getheader("WWW-Authenticate") == "Bearer", r.getheaders())
    st, b, _ = s.json("POST", "/admin/reload", {}, {"Authorization": "Bearer wrong-token"})
    expect_error(st, b, 401, "unauthorized")
    st, b, _ = s.json("POST", "/admin/reload", {}, {"Authorization": "Bearer " + TOKEN + "x"})
    expect_error(st, b, 401, "unauthorized")
    _, after, _ = s.json("GET", "/health")
    expect(before == after, (before, after))


@test
def bad_model_on_reload_is_422_and_the_old_model_keeps_serving(s):
    auth = {"Authorization": "Bearer " + TOKEN}
    _, before, _ = s.json("GET", "/health")
    bad = os.path.join(TMP, "bad.json")
    with open(MODEL) as f:
        m = json.load(f)
    m["features"][0]["transform"]["edges"] = [5, 3, 1]  # not increasing
    with open(bad, "w") as f:
        json.dump(m, f)
    # A valid model changed after it was written: its model_version is no longer its content hash.
    edited = os.path.join(TMP, "edited.json")
    with open(MODEL) as f:
        m = json.load(f)
    m["intercept"] += 0.5
    with open(edited, "w") as f:
        json.dump(m, f)
    for body in ({"model": bad}, {"model": "/nonexistent/model.json"}, {"model": edited}):
        st, b, _ = s.json("POST", "/admin/reload", body, auth)
        expect_error(st, b, 422, "invalid_model")
    st, b, _ = s.json("POST", "/admin/reload", {"model": edited}, auth)
    expect("is not the hash of the model's content" in b["detail"], b)
    st, b, _ = s.json("POST", "/admin/reload", {"model": 42}, auth)
    expect_error(st, b, 422, "invalid_field", "model")
    _, after, _ = s.json("GET", "/health")
    expect(before == after, (before, after))
    st, p, _ = s.json("POST", "/predict", LOAN)
    expect(st == 200, p)


@test
def reload_swaps_the_model_and_requests_under_load_never_fail(s):
    auth = {"Authorization": "Bearer " + TOKEN}
    other = other_model()
    failures, done, stop = [], [0], threading.Event()

    def hammer():
        c = s.conn()
        while not stop.is_set():
            try:
                st, b, _ = s.json("POST", "/predict", LOAN, conn=c)
                if st != 200:
                    failures.append((st, b))
                done[0] += 1
            except Exception as e:  # noqa: BLE001 - any failure counts
                failures.append(repr(e))
                c = s.conn()
        c.close()

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    versions = set()
    for i in range(10):
        st, b, _ = s.json("POST", "/admin/reload", {"model": other if i % 2 == 0 else MODEL}, auth)
        expect(st == 200 and b["status"] == "reloaded", b)
        versions.add(b["model_version"])
        for _ in range(4):  # new connections, on both I/O threads: each serves the model just installed
            st, h, _ = s.json("GET", "/health")
            expect(st == 200 and h["model_version"] == b["model_version"], (h, b["model_version"]))
            st, p, _ = s.json("POST", "/predict", LOAN)
            expect(st == 200 and p["model_version"] == b["model_version"], (st, p, b["model_version"]))
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join()
    expect(not failures, failures[:3])
    expect(done[0] > 50, "only %d requests" % done[0])
    expect(versions == {before_version(other), before_version(s)} and len(versions) == 2, versions)
    st, b, _ = s.json("POST", "/admin/reload", None, auth)  # empty body: the start-up file
    expect(st == 200 and b["path"] == MODEL, b)


def before_version(s):
    """The model_version of a model file (the start-up one for a server)."""
    with open(s if isinstance(s, str) else MODEL) as f:
        return json.load(f)["model_version"]


def other_model():
    """Another model with the same inputs, made as users make one (`loanrisk train`, which writes its content
    hash as model_version), from the test's rows with a label of their own."""
    path = os.path.join(TMP, "other.json")
    if not os.path.exists(path):
        data = os.path.join(TMP, "other.csv")
        with open(data, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["application_id"] + FEATURES + ["loan_status"], lineterminator="\n")
            w.writeheader()
            for i, r in enumerate(ROWS):
                label = int((r.get("loan_grade") in ("D", "E", "F", "G")) != (i % 7 == 0))
                w.writerow({**{k: r.get(k, "") for k in ["application_id"] + FEATURES}, "loan_status": label})
        subprocess.run([BIN, "train", "--data", data, "--out", path, "--quiet", "--no-crosses", "--bins", "5"],
                       check=True, capture_output=True)
    return path


@test
def sighup_reloads_the_model_file(s):
    r, data = s.request("GET", "/metrics")
    count = int(re.search(rb'loanrisk_model_reloads_total\{result="ok"\} (\d+)', data).group(1))
    s.proc.send_signal(signal.SIGHUP)
    for _ in range(100):
        r, data = s.request("GET", "/metrics")
        if int(re.search(rb'loanrisk_model_reloads_total\{result="ok"\} (\d+)', data).group(1)) == count + 1:
            return
        time.sleep(0.05)
    raise AssertionError("SIGHUP did not reload")


# -- HTTP behaviour

@test
def keep_alive_serves_many_requests_on_one_connection(s):
    c = s.conn()
    for _ in range(20):
        st, b, r = s.json("POST", "/predict", LOAN, conn=c)
        expect(st == 200 and not r.will_close, (st, r.getheaders()))
    st, b, _ = s.json("GET", "/nope", conn=c)  # errors keep the connection too
    st, b, r = s.json("GET", "/health", conn=c)
    expect(st == 200, b)
    c.close()


def recv_response(sock, count=1):
    """Reads `count` HTTP responses with Content-Length bodies; returns the raw bytes."""
    data, done = b"", 0
    sock.settimeout(10)
    pos = 0
    while done < count:
        head_end = data.find(b"\r\n\r\n", pos)
        if head_end < 0:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            continue
        length = int(re.search(rb"(?i)content-length: (\d+)", data[pos:head_end]).group(1))
        while len(data) < head_end + 4 + length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        pos = head_end + 4 + length
        done += 1
    return data


@test
def pipelined_requests_in_one_send_get_responses_in_order(s):
    body = json.dumps(dict(LOAN, application_id="P-2")).encode()
    req = (b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
           b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
           str(len(body)).encode() + b"\r\n\r\n" + body +
           b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
    with socket.create_connection(("127.0.0.1", s.port)) as sock:
        sock.sendall(req)
        data = recv_response(sock, 3)
    statuses = re.findall(rb"HTTP/1.1 (\d+)", data)
    expect(statuses == [b"200", b"200", b"404"], statuses)
    expect(data.index(b'"status":"ok"') < data.index(b'"P-2"') < data.index(b"not_found"), data)


@test
def header_names_and_media_types_are_case_insensitive_and_a_repeated_header_keeps_its_first_value(s):
    body = json.dumps({"items": [dict(LOAN, application_id="C-1")]}).encode()
    req = (b"POST /batch_predict HTTP/1.1\r\nHost: x\r\ncontent-TYPE: Application/JSON; charset=UTF-8\r\n"
           b"ACCEPT: Text/CSV\r\naccept: application/json\r\nContent-Length: " + str(len(body)).encode() +
           b"\r\n\r\n" + body)
    with socket.create_connection(("127.0.0.1", s.port)) as sock:
        sock.sendall(req)
        data = recv_response(sock, 1)
    head, _, text = data.partition(b"\r\n\r\n")
    expect(head.startswith(b"HTTP/1.1 200") and b"Content-Type: text/csv" in head, head)
    expect(text.startswith(b"application_id,") and b"\nC-1," in text, text)
    # The first Content-Type decides: CSV, which /predict does not take.
    body = json.dumps(LOAN).encode()
    req = (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\ncontent-type: application/json\r\n"
           b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body +
           b"POST /predict HTTP/1.1\r\nHost: x\r\nCONTENT-TYPE: application/JSON\r\nContent-Length: " +
           str(len(body)).encode() + b"\r\n\r\n" + body)
    with socket.create_connection(("127.0.0.1", s.port)) as sock:
        sock.sendall(req)
        data = recv_response(sock, 2)
    statuses = re.findall(rb"HTTP/1.1 (\d+)", data)
    expect(statuses == [b"415", b"200"], statuses)


@test
def fifty_concurrent_clients_all_succeed(s):
    results, errors = [], []

    def client(k):
        try:
            c = s.conn()
            for i in range(20):
                st, b, _ = s.json("POST", "/predict", dict(LOAN, application_id="C-%d-%d" % (k, i)), conn=c)
                results.append(st == 200 and b["application_id"] == "C-%d-%d" % (k, i))
            c.close()
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expect(not errors and len(results) == 1000 and all(results), (errors[:3], results.count(False)))


@test
def the_server_survives_garbage_and_half_requests(s):
    with socket.create_connection(("127.0.0.1", s.port)) as sock:
        sock.sendall(b"\x16\x03\x01garbage\r\n\r\n")
        data = recv_response(sock)
        expect(data.startswith(b"HTTP/1.1 400"), data[:60])
    with socket.create_connection(("127.0.0.1", s.port)) as sock:
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"person")
    st, _, _ = s.json("GET", "/health")
    expect(st == 200, "server died")


# ---- tests that need a server of their own --------------------------------------------------------------

def test_admin_disabled_connection_cap_and_policy_flags():
    s = Server("--max-connections", "2", "--approve-max", "0.2", "--threads", "1", env={"LOANRISK_LGD": "0.5"})
    try:
        st, b, _ = s.json("POST", "/admin/reload", {}, {"Authorization": "Bearer anything"})
        expect_error(st, b, 401, "admin_disabled")
        st, b, _ = s.json("POST", "/predict", LOAN)
        expect(b["assumptions"] == {"LGD": 0.5, "APPROVE_MAX": 0.2, "REJECT_MIN": 0.6}, b["assumptions"])
        held = [socket.create_connection(("127.0.0.1", s.port)) for _ in range(2)]
        time.sleep(0.2)
        with socket.create_connection(("127.0.0.1", s.port)) as extra:
            extra.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            data = recv_response(extra)
        expect(data.startswith(b"HTTP/1.1 503") and b"too_many_connections" in data, data[:100])
        for h in held:
            h.close()
        time.sleep(0.2)
        _, metrics = s.request("GET", "/metrics")
        expect(re.search(rb"^loanrisk_connections_refused_total [1-9]", metrics, re.M), "refused connection not counted")
        st, _, _ = s.json("GET", "/health")
        expect(st == 200, "connections freed")
    finally:
        expect(s.stop() == 0, "exit code")


def peak_rss_mib(server):
    with open("/proc/%d/status" % server.proc.pid) as f:
        return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1)) // 1024


def sanitized(server):
    """Whether the server runs under ASan or TSan (GCC links them as shared libraries)."""
    with open("/proc/%d/maps" % server.proc.pid) as f:
        return re.search(r"lib[at]san\.so", f.read()) is not None


def reset_peak_rss(server):
    """VmHWM back to the current RSS (Linux: clear_refs 5), so the next peak is the next request's."""
    with open("/proc/%d/clear_refs" % server.proc.pid, "w") as f:
        f.write("5")


def test_response_and_item_limits_are_413_and_count_no_loans():
    s = Server("--max-response-bytes", "100000", "--max-items", "1000000", "--threads", "1")
    try:
        rows = (ROWS * 30)[:80000]  # streamed in flushes of 65,536 loans: the first one is past the limit
        body = to_csv(rows).encode()
        for ctype, data in (("text/csv", body), ("application/x-ndjson", to_ndjson(rows).encode())):
            r, raw = s.request("POST", "/batch_predict", data, {"Content-Type": ctype})
            answer = json.loads(raw)
            expect_error(r.status, answer, 413, "response_too_large")
            expect("--max-response-bytes" in answer["detail"] and "results=false" in answer["detail"], answer)
        st, b, _ = s.json("POST", "/batch_predict", {"items": ROWS[:3000]})  # a whole JSON body, past it too
        expect_error(st, b, 413, "response_too_large")
        _, stats, _ = s.json("GET", "/stats")
        expect(stats["loans_scored_total"] == 0, "failed requests counted %s loans" % stats["loans_scored_total"])
        # Results a hundred times the body: written a slice at a time, so the server never holds them all. The
        # same body without results sets the peak of decoding and scoring it; the results may add one slice
        # (65,536 explained results, ~20 MiB), not all of them (230 MiB). Memory and time under a sanitizer
        # are another matter: there only the 413 is checked, on a smaller body.
        empties = b'{"items":[' + b",".join([b"{}"] * (20000 if sanitized(s) else 900000)) + b"]}"
        peaks = []
        for query in ("?explain=true&results=false", "?explain=true"):
            reset_peak_rss(s)
            r, raw = s.request("POST", "/batch_predict" + query, empties, {"Content-Type": "application/json"})
            expect(r.status == (200 if "false" in query else 413), (query, r.status, raw[:200]))
            peaks.append(peak_rss_mib(s))
        if not sanitized(s):
            expect(peaks[1] - peaks[0] < 100, "peak RSS %d MiB without results, %d MiB with" % tuple(peaks))
        r, raw = s.request("POST", "/batch_predict?results=false", body, {"Content-Type": "text/csv"})
        expect(r.status == 200 and json.loads(raw)["count"] == 80000, raw[:200])
        r, raw = s.request("POST", "/batch_predict?results=false", b'{"items":[' + b",".join([b"{}"] * 1000001) + b"]}",
                           {"Content-Type": "application/json"})
        expect_error(r.status, json.loads(raw), 413, "too_many_items")
        st, b, _ = s.json("POST", "/batch_predict", {"items": ROWS[:100]})  # under it
        expect(st == 200 and b["count"] == 100, st)
    finally:
        expect(s.stop() == 0, "exit code")


def faults_and_rss(server):
    """(minor page faults so far, resident bytes) of the server process, all its threads."""
    with open("/proc/%d/stat" % server.proc.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()  # from field 3 (state) on
    return int(fields[7]), int(fields[21]) * os.sysconf("SC_PAGE_SIZE")


def test_freed_memory_is_kept_for_the_next_request_and_released_when_idle():
    s = Server("--threads", "2", "--release-memory-after", "2")
    try:
        small = sanitized(s)  # ASan and TSan bring their own allocator: there only the requests are checked
        body = json.dumps({"items": ROWS * (3 if small else 34)}).encode()  # 100,000 loans, 29 MB
        pages = len(body) // os.sysconf("SC_PAGE_SIZE")
        start_rss = faults_and_rss(s)[1]
        conn = s.conn()  # one keep-alive connection, idle between requests
        faults = []
        for _ in range(3):
            before = faults_and_rss(s)[0]
            r, raw = s.request("POST", "/batch_predict", body, {"Content-Type": "application/json"}, conn=conn)
            faults.append(faults_and_rss(s)[0] - before)
            kept = faults_and_rss(s)[1]
            expect(r.status == 200 and json.loads(raw)["count"] == len(ROWS) * (3 if small else 34), raw[:200])
        # Probes and small requests go on: they do not hold the memory the large ones freed.
        deadline, rss = time.time() + (2 if small else 15), kept  # a sanitizer's allocator keeps it: no wait
        while time.time() < deadline and rss > kept - len(body):
            st, _, _ = s.json("GET", "/health", conn=conn)
            expect(st == 200, "health %s" % st)
            st, _, _ = s.json("POST", "/predict", LOAN, conn=conn)
            expect(st == 200, "predict %s" % st)
            time.sleep(0.2)
            rss = faults_and_rss(s)[1]
        conn.close()
        if small:
            return
        # The first request grows the heap; the next ones reuse its pages instead of faulting in fresh ones
        # (measured on this body: a few hundred faults kept, 3,000-15,000 with glibc's defaults).
        expect(max(faults[1:]) < pages // 4, "page faults per request %s, the body is %d pages" % (faults, pages))
        expect(kept >= start_rss + len(body), "RSS %d MiB at start, %d MiB after the requests: nothing kept" % (
            start_rss >> 20, kept >> 20))
        # Two seconds after the last: what they freed (the body, its decoded columns, the results) goes back.
        expect(rss <= kept - len(body), "RSS %d MiB after the requests, %d MiB 15 s later" % (kept >> 20, rss >> 20))
    finally:
        expect(s.stop() == 0, "exit code")


def test_access_log_has_one_parseable_line_per_request():
    s = Server("--access-log")
    try:
        with socket.create_connection(("127.0.0.1", s.port)) as c:
            c.sendall(b'GET /x"y\\z HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
            recv_response(c)
        r, data = s.request("HEAD", "/model")
        expect(r.status == 200 and data == b"", r.status)
    finally:
        expect(s.stop() == 0, "exit code")
    line = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \S+ "((?:[^"\\]|\\.)*)" (\d{3}) (\d+) [\d.]+ms$')
    logged = [m for m in map(line.match, s.stderr().splitlines()) if m]
    expect(any(m.group(1) == r'GET /x\"y\\z' and m.group(2) == "404" for m in logged), s.stderr())
    expect(any(m.group(1) == "HEAD /model" and m.group(2) == "200" and m.group(3) == "0" for m in logged), s.stderr())


def test_bad_policy_flags_are_a_start_up_error():
    p = subprocess.run([BIN, "serve", "--model", MODEL, "--approve-max", "0.7", "--reject-min", "0.6"],
                       capture_output=True, text=True, timeout=30)
    expect(p.returncode == 2 and "approve-max <= reject-min" in p.stderr, p.stderr)
    p = subprocess.run([BIN, "serve", "--model", "/nonexistent.json", "--port", "0"], capture_output=True, text=True,
                       timeout=30)
    expect(p.returncode == 1 and "/nonexistent.json" in p.stderr, p.stderr)


def test_sigterm_lets_in_flight_requests_finish_and_exits_0():
    s = Server("--threads", "2")
    body = to_ndjson(ROWS).encode()
    sock = socket.create_connection(("127.0.0.1", s.port))
    idle = socket.create_connection(("127.0.0.1", s.port))  # an idle keep-alive connection: closed at once
    sock.sendall(b"POST /batch_predict?results=false HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:len(body) // 2])
    half = socket.create_connection(("127.0.0.1", s.port))  # a request whose head is half sent: in flight too
    half.sendall(b"GET /health HTTP/1.1\r\nHo")
    time.sleep(0.3)
    s.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    expect(s.proc.poll() is None, "exited with a request in flight")
    idle.settimeout(5)
    expect(idle.recv(10) == b"", "idle connection not closed on drain")
    half.sendall(b"st: x\r\n\r\n")
    half_data = recv_response(half)
    half.close()
    expect(half_data.startswith(b"HTTP/1.1 200") and re.search(rb"(?i)connection: close", half_data), half_data[:200])
    sock.sendall(body[len(body) // 2:])
    data = recv_response(sock)
    sock.close()
    expect(data.startswith(b"HTTP/1.1 200"), data[:200])
    expect(re.search(rb"(?i)connection: close", data), "no Connection: close while draining")
    expect(b'"count":%d' % len(ROWS) in data, "incomplete response")
    code = s.proc.wait(timeout=20)
    expect(code == 0, "exit code %s" % code)
    expect("draining" in s.stderr(), s.stderr())
    refused = False
    try:
        socket.create_connection(("127.0.0.1", s.port), timeout=2).close()
    except OSError:
        refused = True
    expect(refused, "still listening after shutdown")


def test_a_drain_closes_a_lingering_connection_at_once():
    s = Server("--threads", "1")
    sock = socket.create_connection(("127.0.0.1", s.port))
    sock.sendall(b"POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 1000000\r\n\r\nab")
    data = recv_response(sock)
    expect(data.startswith(b"HTTP/1.1 404"), data[:100])
    sock.sendall(b"c")  # still sending: the server lingers, dropping it
    time.sleep(0.3)
    t0 = time.time()
    s.proc.send_signal(signal.SIGTERM)
    code = s.proc.wait(timeout=20)
    sock.close()
    expect(code == 0, "exit code %s" % code)
    expect(time.time() - t0 < 3, "the drain waited %.1fs for a lingering connection" % (time.time() - t0))


def test_tls_with_a_certificate_made_by_openssl():
    cert, key = os.path.join(TMP, "cert.pem"), os.path.join(TMP, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    ctx = ssl.create_default_context(cafile=cert)
    s = Server("--tls-cert", cert, "--tls-key", key, tls=ctx)
    try:
        c = s.conn()
        st, b, _ = s.json("GET", "/health", conn=c)
        expect(st == 200 and b["status"] == "ok", b)
        st, b, _ = s.json("POST", "/predict", LOAN, conn=c)  # keep-alive over TLS
        expect(st == 200 and "pd_default" in b, b)
        st, b, _ = s.json("POST", "/batch_predict", to_csv(ROWS[:300]), {"Content-Type": "text/csv"}, conn=c)
        expect(st == 200 and b["count"] == 300, b)
        c.close()
        # Errors the body cannot change, with a large body sent whole before reading: answered after the
        # body is read (no lingering close under TLS, so not early), the connection kept.
        big = to_csv((ROWS * 10)[:30000]).encode()
        c = s.conn()
        for path, ctype, want in (("/nowhere", "text/csv", 404), ("/batch_predict?group_by=nosuch", "text/csv", 422),
                                  ("/predict", "text/plain", 415)):
            r, _ = s.request("POST", path, big, {"Content-Type": ctype}, conn=c)
            expect(r.status == want, (path, r.status))
        expect(s.json("GET", "/health", conn=c)[0] == 200, "connection kept")
        c.close()
        # Plain HTTP to the TLS port is refused without taking the server down.
        try:
            plain = http.client.HTTPConnection("127.0.0.1", s.port, timeout=5)
            plain.request("GET", "/health")
            plain.getresponse()
        except (OSError, http.client.HTTPException):
            pass
        st, _, _ = s.json("GET", "/health")
        expect(st == 200, "TLS server died")
    finally:
        expect(s.stop() == 0, "exit code")


def main():
    failed = 0
    ran = 0

    def run(name, fn, *args):
        nonlocal failed, ran
        if ONLY and ONLY not in name:
            return
        ran += 1
        t0 = time.time()
        try:
            fn(*args)
            print("ok    %-80s %.2fs" % (name, time.time() - t0))
        except Exception as e:  # noqa: BLE001
            failed += 1
            print("FAIL  %s: %s" % (name, str(e)[:2000]))

    main_server = Server("--threads", "2", env={"LOANRISK_ADMIN_TOKEN": TOKEN})
    try:
        for fn in TESTS:
            run(fn.__name__, fn, main_server)
            if main_server.proc.poll() is not None:
                print("FAIL  server died:\n" + main_server.stderr())
                return 1
    finally:
        code = main_server.stop()
        if code != 0:
            failed += 1
            print("FAIL  main server exit code %s\n%s" % (code, main_server.stderr()))
    for fn in (test_admin_disabled_connection_cap_and_policy_flags,
               test_response_and_item_limits_are_413_and_count_no_loans,
               test_freed_memory_is_kept_for_the_next_request_and_released_when_idle,
               test_access_log_has_one_parseable_line_per_request,
               test_bad_policy_flags_are_a_start_up_error,
               test_sigterm_lets_in_flight_requests_finish_and_exits_0, test_a_drain_closes_a_lingering_connection_at_once,
               test_tls_with_a_certificate_made_by_openssl):
        run(fn.__name__, fn)
    print("%d tests, %d failed" % (ran, failed))
    shutil.rmtree(TMP, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
