#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora (tests/fuzz/corpus/<target>/) from the real data and the contract's
examples. Run once by hand when the contract changes; the seeds are committed.

usage: make_corpus.py DATA_CSV MODEL_JSON
"""
import csv
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
data_csv, model_json = sys.argv[1], sys.argv[2]

with open(data_csv, newline="") as f:
    rows = list(csv.DictReader(f))
# A spread of real rows, including ones with empty (missing) fields.
picked = rows[:6] + [r for r in rows if "" in r.values()][:4] + rows[1000:32000:6000]
for r in picked:
    r.pop("loan_status", None)


def typed(r):
    out = {}
    for k, v in r.items():
        if v == "":
            out[k] = None
            continue
        try:
            out[k] = int(v) if v.lstrip("-").isdigit() else float(v)
        except ValueError:
            out[k] = v
    return out


def write(target, name, text):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "w", newline="") as f:
        f.write(text)


items = [typed(r) for r in picked]
flat = [dict(i, application_id="A-%d" % n) for n, i in enumerate(items)]
wrapped = [{"application_id": "A-%d" % n, "data": i} for n, i in enumerate(items)]

# JSON: the contract's two shapes, single and batch, plus the id fallbacks and a few bad bodies.
write("json_decoder", "predict_wrapped.json", json.dumps(wrapped[0]))
write("json_decoder", "predict_flat.json", json.dumps(flat[1]))
write("json_decoder", "predict_missing.json", json.dumps({"data": items[7]}))
write("json_decoder", "batch_mixed.json", json.dumps({"items": flat[:5] + wrapped[5:]}))
write("json_decoder", "batch_ids.json", json.dumps({"items": [dict(items[0], ID="x"), dict(items[1], loan_id=7),
                                                            dict(items[2], client_id="", customer_id="c")]}))
write("json_decoder", "batch_empty.json", '{"items":[]}')
write("json_decoder", "bad_type.json", json.dumps({"items": [dict(items[0], person_age="old")]}))

# NDJSON (the cutting point is the first byte), CSV likewise.
write("ndjson_decoder", "wrapped.ndjson", "\x11" + "\n".join(json.dumps(w) for w in wrapped) + "\n")
write("ndjson_decoder", "flat_crlf.ndjson", "\x05" + "\r\n".join(json.dumps(i) for i in flat) + "\r\n\r\n")
fields = list(picked[0].keys())
lines = [",".join(fields + ["application_id"])]
lines += [",".join([r[k] for k in fields] + ["A-%d" % n]) for n, r in enumerate(picked)]
write("csv_decoder", "real.csv", "\x30" + "\n".join(lines) + "\n")
write("csv_decoder", "quoted_crlf.csv", "\x07" + '"person_age","loan_grade",loan_amnt\r\n"22","D",35000\r\n'
      '"1,5","""A""",\r\n')

# Model artifacts: the shipped model and a small one.
with open(model_json) as f:
    write("model_loader", "shipped.json", f.read())

# Whole requests as a client sends them (pipelined, chunked, CSV/NDJSON bodies).
def req(method, target, body="", headers=()):
    h = ["%s %s HTTP/1.1" % (method, target), "Host: x"] + list(headers)
    if body:
        h.append("Content-Length: %d" % len(body.encode()))
    return "\r\n".join(h) + "\r\n\r\n" + body


predict = json.dumps(wrapped[0])
write("http_handler", "predict.http", req("POST", "/predict", predict, ["Content-Type: application/json"]))
write("http_handler", "pipelined.http", req("GET", "/health") + req("GET", "/ready") + req("GET", "/model") +
      req("POST", "/predict?explain=true", json.dumps(flat[2]), ["Content-Type: application/json"]))
write("http_handler", "batch_json.http",
      req("POST", "/batch_predict?group_by=loan_grade", json.dumps({"items": flat}), ["Content-Type: application/json"]))
ndjson = "\n".join(json.dumps(i) for i in flat) + "\n"
chunks = "".join("%x\r\n%s\r\n" % (len(c.encode()), c) for c in [ndjson[:100], ndjson[100:]]) + "0\r\n\r\n"
write("http_handler", "batch_ndjson_chunked.http",
      "POST /batch_predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nAccept: text/csv\r\n"
      "Transfer-Encoding: chunked\r\n\r\n" + chunks)
write("http_handler", "batch_csv.http",
      req("POST", "/batch_predict?results=false", "\n".join(lines) + "\n", ["Content-Type: text/csv"]))
write("http_handler", "gets.http", req("GET", "/metrics") + req("GET", "/stats") + req("GET", "/openapi.json") +
      req("GET", "/", headers=["Accept-Encoding: gzip"]) + req("GET", "/static/app.js", headers=['If-None-Match: "x"']))
write("http_handler", "reload.http", req("POST", "/admin/reload", '{"model":"x"}', ["Authorization: Bearer t"]))
