#!/usr/bin/env python3
"""Abuse tests for `loanrisk serve`: the real binary on a free port, attacked the ways a public endpoint is.

usage: abuse_test.py LOANRISK_BINARY SOURCE_DIR [case-name-substring]

Every case must end with a clear 4xx JSON error (SPEC section 4: {"error": ..., "detail": ...}) or a closed
connection; afterwards the server must still answer GET /health 200 quickly and the process must be alive.
  1. slowloris: 500 connections dribbling a byte every 0.5 s, plus silent and idle keep-alive ones, all cut
     by the timeouts (server started with --read-timeout 2 --idle-timeout 2) while /health stays fast
  2. oversized headers (431) and bodies (413: Content-Length over --max-body-bytes, and chunked bodies
     growing past it on the buffered and the streamed path)
  3. a burst of 5,000 concurrent connections all answered 200; with --max-connections 100 the rest get the
     documented 503 too_many_connections
  4. malformed chunked encoding (bad hex, missing CRLF, size overflow, truncated, ...): 400 or a close
  5. request smuggling (CL + TE, two Content-Lengths, Transfer-Encoding without chunked last, ...): one 400,
     the request hidden in the body never executed (checked on the wire and in /metrics)
  6. deep JSON nesting and 10 MB strings on /predict and /batch_predict: no crash, quick, 4xx where invalid
  7. path traversal on the static files: 404 (never a file's contents)
  8. /admin/reload tokens: 401 for every wrong one, 200 for the right one, 401 admin_disabled when admin is disabled
  9. garbage: random bytes, a TLS ClientHello, the HTTP/2 preface, ...: 400 or a close
 10. a slow but steady upload (longer than --read-timeout, far above --min-body-rate): scored, not cut off
One line per case with its measured figures. Python 3 stdlib only; exits 1 on any failure.
"""
import json
import os
import random
import re
import resource
import select
import selectors
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from server_process import ServerProcess

BIN, SOURCE = sys.argv[1], sys.argv[2]
ONLY = sys.argv[3] if len(sys.argv) > 3 else ""
MODEL = os.path.join(SOURCE, "models", "credit_risk_pd.json")
TOKEN = "s3cret-Abuse-token-42"
TMP = tempfile.mkdtemp(prefix="loanrisk-abuse-test-")
MAX_BODY = 16 << 20  # the main server's --max-body-bytes: room for the 10 MB strings of case 6
MAX_HEADER = 8192
TIMEOUT_S = 2  # --read-timeout and --idle-timeout of the main server
NOFILE = 20000

LOAN = {"person_age": 22, "person_income": 59000, "person_home_ownership": "RENT", "person_emp_length": 3.0,
        "loan_intent": "PERSONAL", "loan_grade": "D", "loan_amnt": 35000, "loan_int_rate": 16.02,
        "loan_percent_income": 0.59, "cb_person_default_on_file": "Y", "cb_person_cred_hist_length": 3}


def raise_nofile(want=NOFILE):
    """Raises RLIMIT_NOFILE towards `want` (the hard limit too when allowed, i.e. as root); returns the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return want
        except (ValueError, OSError):
            want = hard
    if soft == resource.RLIM_INFINITY or soft >= want:
        return soft
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


class Server(ServerProcess):
    """A server under attack: more file descriptors allowed, and its fd count and a hung stop observable."""

    def __init__(self, *args, env=None):
        super().__init__(BIN, MODEL, TMP, *args, env=env, preexec_fn=raise_nofile)

    def fds(self):
        try:
            return len(os.listdir("/proc/%d/fd" % self.proc.pid))
        except OSError:
            return -1

    def stop(self, sig=signal.SIGTERM, timeout=30):
        try:
            return super().stop(sig, timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "hung on SIGTERM (killed)"


# ---- raw HTTP on sockets -------------------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def __repr__(self):
        return "%d %r" % (self.status, self.body[:160])


def parse_responses(data):
    """Complete HTTP/1.1 responses (Content-Length framed, as the server sends them) and the unparsed rest."""
    out = []
    while True:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            return out, data
        head = data[:end].decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3})", head[0])
        if not m:
            return out, data
        headers = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length", "0"))
        if len(data) < end + 4 + length:
            return out, data
        out.append(Response(int(m.group(1)), headers, data[end + 4:end + 4 + length]))
        data = data[end + 4 + length:]


class Exchange:
    """What came back on one connection: the responses, whether the server closed it, and when."""

    def __init__(self, responses, rest, closed, elapsed, send_error):
        self.responses, self.rest, self.closed, self.elapsed, self.send_error = \
            responses, rest, closed, elapsed, send_error

    def __repr__(self):
        return "responses=%r rest=%r closed=%s after %.2fs send_error=%r" % (
            self.responses, self.rest[:120], self.closed, self.elapsed, self.send_error)


def exchange(port, payload, timeout=3 * TIMEOUT_S + 1, settle=0.5, shut_wr=False):
    """Sends `payload` (bytes, or an iterable of bytes pieces) and reads until the server closes, `timeout`
    passes, or `settle` seconds pass with nothing more after complete responses (a keep-alive connection)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    t0 = time.monotonic()
    send_error = None
    try:
        for piece in ([payload] if isinstance(payload, bytes) else payload):
            sock.sendall(piece)
        if shut_wr:
            sock.shutdown(socket.SHUT_WR)
    except OSError as e:  # the server answered and closed before taking it all: read what it said
        send_error = e
    data, closed = b"", False
    deadline = t0 + timeout
    while True:
        now = time.monotonic()
        if now >= deadline:
            break
        resps, rest = parse_responses(data)
        complete = bool(resps) and not rest
        r, _, _ = select.select([sock], [], [], min(deadline - now, settle) if complete else deadline - now)
        if not r:
            if complete:
                break
            continue
        try:
            chunk = sock.recv(1 << 16)
        except OSError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
    elapsed = time.monotonic() - t0
    sock.close()
    resps, rest = parse_responses(data)
    return Exchange(resps, rest, closed, elapsed, send_error)


def check_error_response(r, what, statuses=None):
    """A 4xx (or one of `statuses`) with a SPEC section 4 JSON body."""
    ok_status = r.status in statuses if statuses else 400 <= r.status < 500
    expect(ok_status, "%s: status %d, expected %s: %r" % (what, r.status, sorted(statuses) if statuses else "4xx", r))
    expect(r.headers.get("content-type", "").startswith("application/json"), "%s: not JSON: %r" % (what, r.headers))
    b = r.json()
    expect(isinstance(b, dict) and isinstance(b.get("error"), str) and isinstance(b.get("detail"), str),
           "%s: not a SPEC section 4 error body: %r" % (what, r.body[:300]))
    return b["error"]


def outcome(x, what, statuses=None, close_within=None, one_response=False):
    """Checks an Exchange ended in 4xx JSON errors or a close; returns a short description."""
    expect(not x.rest.startswith(b"HTTP/") or x.closed, "%s: incomplete response %r" % (what, x.rest[:200]))
    expect(not x.rest or x.rest.startswith(b"HTTP/"), "%s: junk from the server %r" % (what, x.rest[:200]))
    if one_response:
        expect(len(x.responses) <= 1, "%s: %d responses, the body was executed as another request: %r" % (
            what, len(x.responses), x.responses))
    for r in x.responses:
        check_error_response(r, what, statuses)
    if not x.responses:
        expect(x.closed, "%s: no response and the connection was not closed in %.1fs" % (what, x.elapsed))
    if close_within is not None and not x.responses:
        expect(x.closed and x.elapsed <= close_within,
               "%s: no answer and the connection not closed within %.1fs: %r" % (what, close_within, x))
    if x.responses:
        desc = "+".join("%d %s" % (r.status, (r.json() or {}).get("error", "?")) for r in x.responses)
        return desc + (" closed" if x.closed else "")
    return "closed@%.1fs" % x.elapsed


def http_get(port, path, headers=b"", timeout=5):
    x = exchange(port, b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + b"\r\n",
                 timeout=timeout)
    expect(len(x.responses) == 1, "GET %s: %r" % (path, x))
    return x.responses[0]


def request(port, method, path, body=b"", headers=None, timeout=30):
    h = {"Host": "x", "Connection": "close", "Content-Length": str(len(body))}
    h.update(headers or {})
    head = "%s %s HTTP/1.1\r\n" % (method, path) + "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
    x = exchange(port, head.encode() + body, timeout=timeout)
    expect(len(x.responses) == 1, "%s %s: %r" % (method, path, x))
    return x.responses[0], x.elapsed


def health_once(port, timeout=2.0):
    """One GET /health on a fresh connection: (status or error text, seconds)."""
    t0 = time.perf_counter()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        resps, _ = parse_responses(data)
        st = resps[0].status if resps else "no response"
    except OSError as e:
        st = repr(e)
    return st, time.perf_counter() - t0


def alive(s, what):
    """The process is running and GET /health answers 200 quickly; returns the latency in ms."""
    expect(s.proc.poll() is None, "%s: the server process died (exit %s):\n%s" % (what, s.proc.returncode,
                                                                                   s.stderr()[-3000:]))
    st, secs = health_once(s.port)
    expect(st == 200 and secs < 1.0, "%s: GET /health afterwards: %s in %.3fs" % (what, st, secs))
    return secs * 1000


def metric_sum(port, pattern):
    text = http_get(port, "/metrics").body.decode()
    return sum(float(v) for v in re.findall(pattern + r"\S* (\S+)\n", text))


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def parallel(fn, items, workers=16):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


# ---- the cases ---------------------------------------------------------------------------------------------

def case_slowloris(s):
    """500 connections dribbling partial requests, 100 silent ones, 20 idle keep-alive ones: all closed by the
    server's timeouts, while /health on fresh connections keeps answering fast."""
    n_slow, n_silent, n_idle = 500, 100, 20
    base_fds = s.fds()
    samples, stop = [], threading.Event()

    def checker():
        while not stop.is_set():
            samples.append(health_once(s.port))
            time.sleep(0.02)

    def dribble(kind, i):
        # 0: the request line itself, byte by byte; 1: a complete request line, then never-ending headers;
        # 2: complete headers of a POST, then its body byte by byte.
        if kind == 0:
            return b"", b"GET /health?slow=%d HTTP/1.1\r\nHost: x\r\n" % i + b"X-Pad: " + b"a" * 4000
        if kind == 1:
            return b"GET /health HTTP/1.1\r\nHost: x\r\n", b"".join(b"X-Slow-%d: %d\r\n" % (j, j) for j in range(400))
        return (b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
                b'{"person_age": 22, "pad": "' + b"a" * 5000)

    sel = selectors.DefaultSelector()
    conns = {}  # fd -> state
    t_start = time.monotonic()
    th = threading.Thread(target=checker, daemon=True)
    th.start()
    time.sleep(0.3)  # a few health samples before the attack
    for i in range(n_slow + n_silent + n_idle):
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        now = time.monotonic()
        if i < n_slow:
            kind = i % 3
            first, rest = dribble(kind, i)
            if first:
                sock.sendall(first)
            st = {"kind": "slow%d" % kind, "rest": rest, "pos": 0, "next": now + (i % 10) * 0.05}
        elif i < n_slow + n_silent:
            st = {"kind": "silent"}
        else:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            st = {"kind": "idle", "data": b""}
        st.update(sock=sock, opened=now, closed=None)
        sock.setblocking(False)
        conns[sock.fileno()] = st
        sel.register(sock, selectors.EVENT_READ, st)
    open_at_peak = s.fds()
    deadline = t_start + 3 * TIMEOUT_S + 6

    def close(st, now):
        if st["closed"] is None:
            st["closed"] = now
            sel.unregister(st["sock"])
            st["sock"].close()

    while time.monotonic() < deadline and any(c["closed"] is None for c in conns.values()):
        for key, _ in sel.select(timeout=0.05):
            st = key.data
            try:
                chunk = st["sock"].recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                close(st, time.monotonic())
            elif st["kind"] == "idle":
                st["data"] += chunk
            else:
                st["unexpected"] = st.get("unexpected", b"") + chunk
        now = time.monotonic()
        for st in conns.values():
            if st["closed"] is None and "rest" in st and now >= st["next"]:
                try:
                    st["sock"].send(st["rest"][st["pos"]:st["pos"] + 1])
                    st["pos"] += 1
                    st["next"] += 0.5
                except OSError:
                    close(st, now)
    stop.set()
    th.join()
    still_open = [c for c in conns.values() if c["closed"] is None]
    for c in still_open:
        close(c, time.monotonic())

    lat = [secs * 1000 for st, secs in samples]
    bad = [st for st, _ in samples if st != 200]
    by_kind = {}
    for c in conns.values():
        by_kind.setdefault(c["kind"], []).append((c["closed"] or 1e9) - c["opened"])
    summary = " ".join("%s:max %.1fs" % (k, max(v)) for k, v in sorted(by_kind.items()))
    expect(not still_open, "%d connections still open after %.0fs (kinds %s): the timeouts did not cut them" % (
        len(still_open), deadline - t_start, sorted({c["kind"] for c in still_open})))
    limit = 3 * TIMEOUT_S
    late = {k: max(v) for k, v in by_kind.items() if max(v) > limit}
    expect(not late, "connections closed later than %.0fs after they opened (timeouts %ds): %s" % (limit, TIMEOUT_S, late))
    idle_answers = [parse_responses(c["data"])[0] for c in conns.values() if c["kind"] == "idle"]
    expect(all(len(r) == 1 and r[0].status == 200 for r in idle_answers), "idle keep-alive connections: %r" % idle_answers)
    # A timed-out slow request may be answered (408/4xx JSON) or just closed; never anything else.
    for c in conns.values():
        if c.get("unexpected"):
            resps, rest = parse_responses(c["unexpected"])
            expect(not rest and resps, "%s: junk before the close: %r" % (c["kind"], c["unexpected"][:200]))
            for r in resps:
                check_error_response(r, c["kind"] + " answer")
    expect(not bad, "/health failed during slowloris: %r" % bad[:5])
    expect(len(lat) >= 50, "only %d /health samples" % len(lat))
    p50, p99 = pct(lat, 50), pct(lat, 99)
    expect(p99 < 100, "/health p99 %.1f ms during slowloris (p50 %.1f, max %.1f, %d samples)" % (p99, p50, max(lat), len(lat)))
    time.sleep(0.3)
    after_fds = s.fds()
    expect(after_fds <= base_fds + 5, "server fds %d before, %d after: connections leaked" % (base_fds, after_fds))
    ms = alive(s, "slowloris")
    return ("%d slow + %d silent + %d idle keep-alive conns (server fds %d at peak, %d after); closed by the server: %s; "
            "/health during it: %d samples p50 %.1f ms p99 %.1f ms max %.1f ms; after %.1f ms" % (
                n_slow, n_silent, n_idle, open_at_peak, after_fds, summary, len(lat), p50, p99, max(lat), ms))


def send_growing_chunked(port, head, piece, limit):
    """A chunked body that keeps growing past `limit` bytes; stops once the server answers or closes."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    t0 = time.monotonic()
    sock.sendall(head)
    sent, send_error = 0, None
    chunk = b"%x\r\n" % len(piece) + piece + b"\r\n"
    try:
        while sent < limit + (1 << 20):
            sock.sendall(chunk)
            sent += len(piece)
            r, _, _ = select.select([sock], [], [], 0)
            if r:
                break
    except OSError as e:
        send_error = e
    data, closed = b"", False
    sock.settimeout(3 * TIMEOUT_S)
    try:
        while True:
            c = sock.recv(65536)
            if not c:
                closed = True
                break
            data += c
            resps, rest = parse_responses(data)
            if resps and not rest and resps[-1].headers.get("connection", "").lower() != "close":
                break
    except OSError:
        closed = True
    sock.close()
    resps, rest = parse_responses(data)
    return Exchange(resps, rest, closed, time.monotonic() - t0, send_error), sent


def case_oversized(s):
    out = []
    big_header = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (2 * MAX_HEADER) + b"\r\n\r\n"
    many = b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H-%d: v\r\n" % i for i in range(2000)) + b"\r\n"
    long_line = b"GET /health?q=" + b"a" * (2 * MAX_HEADER) + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    # Just over the limit in small fields: Beast alone let a head through up to nearly twice the limit.
    just_over = b"GET /health HTTP/1.1\r\nHost: x\r\n"
    while len(just_over) <= MAX_HEADER:
        just_over += b"X-H%d: v\r\n" % len(just_over)
    just_over += b"\r\n"
    for what, raw in (("one 16 KiB header", big_header), ("2000 headers", many), ("16 KiB request line", long_line),
                      ("a head just over the limit in small fields", just_over)):
        x = exchange(s.port, raw)
        expect(len(x.responses) == 1, "%s: expected one 431, got %r" % (what, x))
        expect(check_error_response(x.responses[0], what, {431}) == "headers_too_large", "%s: %r" % (what, x))
        out.append("%s 431" % what)
    for path, ctype in (("/predict", "application/json"), ("/batch_predict", "application/json"),
                        ("/batch_predict", "application/x-ndjson")):
        for length in (MAX_BODY + 1, 10 ** 15):
            what = "Content-Length %d on %s %s" % (length, path, ctype)
            x = exchange(s.port, b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n{" % (
                path.encode(), ctype.encode(), length))
            expect(len(x.responses) == 1, "%s: %r" % (what, x))
            expect(check_error_response(x.responses[0], what, {413}) == "payload_too_large", "%s: %r" % (what, x))
            expect(x.elapsed < 2, "%s: the 413 took %.2fs (it must not wait for the body)" % (what, x.elapsed))
    out.append("Content-Length over the limit 413 x6")
    # Streamed bodies are valid loans padded with an unknown field, so they are scored as they come (summary
    # only) until the limit cuts them.
    line = (json.dumps(dict(LOAN, pad="p" * 2000)) + "\n").encode()
    row = b"22,RENT," + b"p" * 2000 + b"\n"
    for path, ctype, piece in (("/predict", "application/json", b" " * 65536),
                               ("/batch_predict", "application/json", b" " * 65536),
                               ("/batch_predict?results=false", "application/x-ndjson", line * (65536 // len(line))),
                               ("/batch_predict?results=false", "text/csv", row * (65536 // len(row)))):
        what = "chunked body growing past %d bytes on %s %s" % (MAX_BODY, path, ctype)
        head = b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n" % (
            path.encode(), ctype.encode())
        if ctype == "text/csv":
            head += b"%x\r\n" % len(b"person_age,person_home_ownership,pad\n") + \
                b"person_age,person_home_ownership,pad\n\r\n"
        x, sent = send_growing_chunked(s.port, head, piece, MAX_BODY)
        expect(len(x.responses) == 1, "%s: expected one 413, got %r (sent %d bytes)" % (what, x, sent))
        expect(check_error_response(x.responses[0], what, {413}) == "payload_too_large", "%s: %r" % (what, x))
        expect(x.closed, "%s: connection left open after the 413 with an unread body" % what)
        out.append("chunked %s %s: 413 (%.1f MiB sent) in %.2fs" % (path, ctype.split("/")[1], sent / 2 ** 20, x.elapsed))
    ms = alive(s, "oversized")
    return "; ".join(out) + "; health after %.1f ms" % ms


def burst(port, n, hold=True):
    """n connections open at the same time, then GET /health on each. Returns ({status: count}, failures,
    connect seconds, total seconds, count answered or closed before their request was sent)."""
    sel = selectors.DefaultSelector()
    t0 = time.monotonic()
    failures, connecting = [], []
    for i in range(n):
        so = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        so.setblocking(False)
        err = so.connect_ex(("127.0.0.1", port))
        if err not in (0, 115):  # EINPROGRESS
            failures.append("connect: %s" % os.strerror(err))
            so.close()
            continue
        connecting.append(so)
        sel.register(so, selectors.EVENT_WRITE)
    states, pending = [], len(connecting)
    deadline = t0 + 30
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            so = key.fileobj
            sel.unregister(so)
            pending -= 1
            err = so.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                failures.append("connect: %s" % os.strerror(err))
                so.close()
            else:
                states.append({"sock": so, "data": b"", "closed": False})
    if pending:
        failures.append("%d connections still connecting after 30s" % pending)
    connect_s = time.monotonic() - t0
    # All are open at once now. Over a --max-connections cap the server answers 503 before any request is
    # read: give it a moment to say so.
    for st in states:
        sel.register(st["sock"], selectors.EVENT_READ, st)

    def pump(timeout):
        for key, _ in sel.select(timeout=timeout):
            st = key.data
            try:
                c = st["sock"].recv(65536)
            except OSError:
                c = b""
            if c:
                st["data"] += c
            else:
                st["closed"] = True
                sel.unregister(st["sock"])

    if hold:
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            pump(0.1)
    early = sum(1 for st in states if st["data"] or st["closed"])
    for st in states:
        if not st["data"] and not st["closed"]:
            try:
                st["sock"].send(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            except OSError as e:
                failures.append("send: %r" % e)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(not st["closed"] and not parse_responses(st["data"])[0] for st in states):
        pump(1)
    total_s = time.monotonic() - t0
    statuses = {}
    for st in states:
        resps, rest = parse_responses(st["data"])
        if resps:
            r = resps[0]
            statuses[r.status] = statuses.get(r.status, 0) + 1
            if r.status != 200:
                check_error_response(r, "burst", {503})
                expect(r.json()["error"] == "too_many_connections", "503 body %r" % r.body)
        else:
            failures.append("no response (closed=%s, got %r)" % (st["closed"], st["data"][:80]))
        st["sock"].close()
    sel.close()
    return statuses, failures, connect_s, total_s, early


def case_burst(burst_server, capped_server):
    limit = raise_nofile()
    n = 5000
    note = ""
    if limit < n + 500:
        n = max(100, limit - 500)
        note = " (reduced to %d: RLIMIT_NOFILE %d)" % (n, limit)
    base = burst_server.fds()
    sampler_stop, peak = threading.Event(), [0]

    def sample():
        while not sampler_stop.is_set():
            peak[0] = max(peak[0], burst_server.fds())
            time.sleep(0.05)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    statuses, failures, connect_s, total_s, early = burst(burst_server.port, n)
    sampler_stop.set()
    th.join()
    expect(not failures, "burst of %d: %d failures, e.g. %r" % (n, len(failures), failures[:5]))
    expect(statuses == {200: n}, "burst of %d: statuses %r" % (n, statuses))
    expect(early == 0, "burst of %d: %d connections answered/closed before sending a request" % (n, early))
    expect(peak[0] >= base + n * 0.9, "the server never held the connections at once: fd peak %d, base %d" % (peak[0], base))
    ms = alive(burst_server, "burst")
    time.sleep(0.5)
    after = burst_server.fds()
    expect(after <= base + 5, "server fds %d before, %d after the burst" % (base, after))
    # The same against --max-connections 100: the first 100 are served, the rest get 503 too_many_connections.
    cap, m = 100, 300
    statuses2, failures2, _, total2, refused = burst(capped_server.port, m)
    expect(not failures2, "capped burst: %r" % failures2[:5])
    expect(statuses2 == {200: cap, 503: m - cap}, "capped burst of %d with --max-connections %d: %r" % (m, cap, statuses2))
    expect(refused == m - cap, "%d refused before their request, expected %d" % (refused, m - cap))
    for _ in range(40):  # the held connections are closed: the cap frees up
        st, _ = health_once(capped_server.port)
        if st == 200:
            break
        time.sleep(0.05)
    ms2 = alive(capped_server, "capped burst")
    return ("%d concurrent connections%s: all connected in %.2fs, all 200 in %.2fs, server fds %d -> peak %d -> %d, "
            "health after %.1f ms; --max-connections %d with %d: %d x 200, %d x 503 too_many_connections in %.2fs, "
            "health after %.1f ms" % (n, note, connect_s, total_s, base, peak[0], after, ms, cap, m,
                                      statuses2.get(200, 0), statuses2.get(503, 0), total2, ms2))


def rss_kib(s):
    try:
        with open("/proc/%d/status" % s.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def send_unbounded_line(server, head, filler, budget):
    """Sends `head`, then `filler` again and again (a chunk-size line or trailer that never ends) until
    `budget` bytes went out or the server answers or closes. Returns (bytes sent, Exchange)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    t0 = time.monotonic()
    block = filler * max(1, (1 << 20) // len(filler))
    sent, send_error = 0, None
    try:
        sock.sendall(head)
        sock.settimeout(2)
        while sent < budget:
            sock.sendall(block)
            sent += len(block)
            r, _, _ = select.select([sock], [], [], 0)
            if r:
                break
        time.sleep(0.2)  # let the server take what is in flight
    except OSError as e:  # a full socket for 2 s (the server stopped reading) or a reset
        send_error = e
    rss_peak = rss_kib(server)
    data, closed = b"", False
    sock.settimeout(3 * TIMEOUT_S)
    try:
        while True:
            c = sock.recv(65536)
            if not c:
                closed = True
                break
            data += c
    except OSError as e:
        closed = not isinstance(e, socket.timeout)
    sock.close()
    resps, rest = parse_responses(data)
    x = Exchange(resps, rest, closed, time.monotonic() - t0, send_error)
    x.rss_peak = rss_peak
    return sent, x


def case_malformed_chunked(s):
    bodies = {
        "bad hex size": b"zz\r\n{}\r\n0\r\n\r\n",
        "missing CRLF after data": b"2\r\n{}0\r\n\r\n",
        "size overflow ffffffffffffffffff": b"ffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
        "size 2^64-1": b"ffffffffffffffff\r\n{}\r\n0\r\n\r\n",
        "negative size": b"-2\r\n{}\r\n0\r\n\r\n",
        "0x prefix": b"0x2\r\n{}\r\n0\r\n\r\n",
        "empty size line": b"\r\n{}\r\n0\r\n\r\n",
        "LF-only chunk lines": b"2\n{}\n0\n\n",
        "data longer than its size": b"1\r\n{}\r\n0\r\n\r\n",
        "bad chunk extension": b"2;=\"x\r\n{}\r\n0\r\n\r\n",
        "truncated data": b"10\r\n{}",
        "no last chunk": b"2\r\n{}\r\n",
        "truncated trailer": b"2\r\n{}\r\n0\r\nX-Trailer: y",
    }
    # Legal HTTP, only large: the server may take them (the body "{}" scores: 200) or refuse them (4xx).
    legal = {
        "100 KB chunk extension": b"2;" + b"e" * 100000 + b"\r\n{}\r\n0\r\n\r\n",
        "100 KB trailer": b"2\r\n{}\r\n0\r\n" + b"".join(b"X-T-%d: %s\r\n" % (i, b"v" * 100) for i in range(1000)) +
                          b"\r\n",
    }
    jobs = []
    for path, ctype in (("/predict", b"application/json"), ("/batch_predict", b"application/x-ndjson")):
        for name, body in list(bodies.items()) + list(legal.items()):
            head = b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n" % (
                path.encode(), ctype)
            jobs.append(("%s %s" % (path, name), name in legal, head + body))
    results = parallel(lambda j: (j[0], j[1], exchange(s.port, j[2])), jobs, workers=len(jobs))
    out, failures = {}, []
    for what, is_legal, x in results:
        try:
            if is_legal and len(x.responses) == 1 and x.responses[0].status == 200:
                out[what] = "200"
                continue
            # The body inside is valid JSON ("{}"): a 2xx means the broken framing was accepted.
            out[what] = outcome(x, what, close_within=3 * TIMEOUT_S, one_response=True)
        except AssertionError as e:
            failures.append(str(e))
    # A chunk-size line (extension) or a trailer that never ends must not be buffered without bound: the
    # server must answer or stop reading long before the client pushed 2 x --max-body-bytes into it.
    grow = []
    for name, head, filler in (("endless chunk extension", b"1;e=", b"e"),
                               ("endless trailer", b"1\r\na\r\n0\r\n", b"X-T: " + b"v" * 90 + b"\r\n")):
        what = "/predict " + name
        before = rss_kib(s)
        sent, x = send_unbounded_line(s, b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                                b"Transfer-Encoding: chunked\r\n\r\n" + head, filler, 2 * MAX_BODY)
        peak = max(rss_kib(s), x.rss_peak)
        try:
            expect(sent < 2 * MAX_BODY, "%s: the server took all %d MiB sent (server RSS %d -> %d MiB), then: %r" % (
                what, sent >> 20, before >> 10, peak >> 10, x))
            grow.append("%s cut after %.0f MiB (%s)" % (name, sent / 2 ** 20, outcome(x, what)))
        except AssertionError as e:
            failures.append(str(e))
    ms = alive(s, "malformed chunked")
    groups = {}
    for what, desc in out.items():
        route, _, name = what.partition(" ")
        groups.setdefault(desc, {}).setdefault(name, []).append(route)
    figures = "%d bodies on /predict and /batch_predict (NDJSON, streamed): %s; %s; health after %.1f ms" % (
        len(bodies) + len(legal), "; ".join("%s: %s" % (desc, ", ".join(
            n + ("" if len(r) == 2 else " (%s)" % r[0]) for n, r in names.items())) for desc, names in groups.items()),
        "; ".join(grow), ms)
    expect(not failures, "\n      ".join(failures + ["(the others: %s)" % figures]))
    return figures


def case_smuggling(s):
    hidden = (b"POST /admin/reload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode() +
              b"\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
    cl = str(len(hidden)).encode()
    h = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    chunked_wrap = b"%x\r\n" % len(hidden) + hidden + b"\r\n0\r\n\r\n"
    attempts = {
        "CL + TE chunked (CL.TE)": h + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hidden,
        "TE chunked + CL (TE.CL)": h + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n" + chunked_wrap,
        "CL + TE with obs-fold": h + b"Content-Length: 5\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" + hidden,
        "two different Content-Length": h + b"Content-Length: 0\r\nContent-Length: " + cl + b"\r\n\r\n" + hidden,
        "Content-Length list 0, N": h + b"Content-Length: 0, " + cl + b"\r\n\r\n" + hidden,
        "Content-Length with a sign": h + b"Content-Length: +0\r\n\r\n" + hidden,
        "space before the colon": h + b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + hidden,
        "two Transfer-Encoding headers": h + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n" +
                                         chunked_wrap,
        # RFC 9112 6.3: Transfer-Encoding without chunked as the final coding: 400 and close. A front end that
        # sees "chunked" in it frames the body differently from a back end that sees no body at all.
        "TE 'chunked, identity'": h + b"Transfer-Encoding: chunked, identity\r\n\r\n" + hidden,
        "TE 'identity'": h + b"Transfer-Encoding: identity\r\n\r\n" + hidden,
        "TE 'xchunked'": h + b"Transfer-Encoding: xchunked\r\n\r\n" + hidden,
    }
    reloads_before = metric_sum(s.port, r'loanrisk_model_reloads_total\{result="ok"\}')
    admin_before = metric_sum(s.port, r'loanrisk_http_requests_total\{route="/admin/reload"')
    results = parallel(lambda kv: (kv[0], exchange(s.port, kv[1])), list(attempts.items()), workers=len(attempts))
    out, failures = [], []
    for what, x in results:
        try:
            expect(len(x.responses) == 1, "%s: %d responses (the hidden POST /admin/reload ran as a request of its "
                                          "own): %r" % (what, len(x.responses), x.responses))
            desc = outcome(x, what, statuses={400}, one_response=True)
            expect(x.closed, "%s: the connection stays open after a 400 for a framing error: %r" % (what, x))
            out.append("%s -> %s" % (what, desc))
        except AssertionError as e:
            failures.append(str(e))
    reloads_after = metric_sum(s.port, r'loanrisk_model_reloads_total\{result="ok"\}')
    admin_after = metric_sum(s.port, r'loanrisk_http_requests_total\{route="/admin/reload"')
    if reloads_after != reloads_before or admin_after != admin_before:
        failures.append("the hidden admin request was executed: /metrics reloads ok %d -> %d, /admin/reload requests "
                        "%d -> %d" % (reloads_before, reloads_after, admin_before, admin_after))
    ms = alive(s, "smuggling")
    expect(not failures, "\n      ".join(failures))
    return "%s; admin reloads %d -> %d; health after %.1f ms" % ("; ".join(out), reloads_before, reloads_after, ms)


def case_json_bombs(s):
    n = 100_000
    big = "x" * (10 << 20)
    j = lambda o: json.dumps(o).encode()  # noqa: E731
    rows = []
    for path in ("/predict", "/batch_predict"):
        wrap = (lambda o: {"items": [o]}) if path == "/batch_predict" else (lambda o: o)
        invalid = {  # must be 400/413/422
            "100k '['": b"[" * n,
            "100k '{\"a\":'": b'{"a":' * n,
            "100k '[' then ']' (balanced, as the body)": b"[" * n + b"]" * n,
            "100k '[' in a known field": j(wrap({"person_age": 0})).replace(b"0", b"[" * n + b"]" * n, 1),
            "100k '[' closed by '}' in an unknown field": j(wrap({"x": 0, "loan_grade": "A"})).replace(
                b"0", b"[" * n + b"}" * n, 1),
            "unclosed 10 MB string": b'{"application_id": "' + big.encode(),
            "10 MB string with invalid UTF-8": b'{"application_id": "' + big.encode() + b'\xff"}',
            "10 MB string as a number field": j(wrap({"person_age": big})),
            "10 MB of digits as a number": j(wrap({"person_age": 1})).replace(b"1", b"1" * (10 << 20), 1),
        }
        valid = {  # valid JSON: scored (unknown fields ignored, unknown categories contribute 0) or refused
            "100k balanced '[' in an unknown field": j(wrap({"x": 0, "loan_grade": "A"})).replace(
                b"0", b"[" * n + b"]" * n, 1),
            "10 MB string as the id": j(wrap({"application_id": big, "loan_grade": "A"})),
            "10 MB string as a key": j(wrap({big: 1, "loan_grade": "A"})),
            "10 MB string as a key inside data": j(wrap({"data": {big: 1, "loan_grade": "A"}})),
            "10 MB string as a category": j(wrap({"loan_grade": big})),
        }
        for name, body in list(invalid.items()) + list(valid.items()):
            rows.append((path, name, body, name in valid))
    ndjson = [("/batch_predict ndjson", "100k '[' line", b"[" * n + b"\n", False),
              ("/batch_predict ndjson", "10 MB key line", j({big: 1}) + b"\n", True),
              ("/batch_predict csv", "10 MB field", b"application_id,loan_grade\n" + big.encode() + b",A\n", True)]
    failures, out = [], []
    slowest = 0.0
    for path, name, body, may_pass in rows + ndjson:
        route, _, kind = path.partition(" ")
        ctype = {"": "application/json", "ndjson": "application/x-ndjson", "csv": "text/csv"}[kind]
        what = "%s %s" % (path, name)
        try:
            r, secs = request(s.port, "POST", route, body, {"Content-Type": ctype})
        except AssertionError as e:
            failures.append(str(e))
            continue
        slowest = max(slowest, secs)
        if secs > 5:
            failures.append("%s: took %.1fs" % (what, secs))
        if r.status == 200 and may_pass:
            out.append("%s 200" % what)
            continue
        try:
            code = check_error_response(r, what, {400, 413, 422})
            out.append("%s %d %s" % (what, r.status, code))
        except AssertionError as e:
            failures.append(str(e))
        if s.proc.poll() is not None:
            break
    ms = alive(s, "JSON bombs")
    expect(not failures, "\n      ".join(failures))
    return "%d bodies, slowest %.2fs: %s; health after %.1f ms" % (len(out), slowest, "; ".join(out), ms)


def case_traversal(s):
    targets = [
        "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/%2E%2E/%2E%2E/etc/passwd", "/static/..%2f..%2fetc/passwd",
        "/static/../../etc/passwd", "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/static/..%252f..%252fetc/passwd",
        "/static/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd", "/static/....//....//etc/passwd", "/static/..\\..\\etc\\passwd",
        "/static/..%5c..%5cetc%5cpasswd", "//etc/passwd", "/static//etc/passwd", "/static/etc/passwd", "/etc/passwd",
        "/app.js/../../x", "/static/app.js/../../../../etc/passwd", "/static/app.js%00", "/static/app.js%00.html",
        "/static/%00../../etc/passwd", "/static/", "/static/.", "/static/./app.js", "/static/app.js/",
        "/static/index.html/..", "/./etc/passwd", "/static/%2fetc%2fpasswd", "/static/~root/.ssh/id_rsa",
        "/proc/self/environ", "/static/../../../../../../proc/self/environ", "http://x/etc/passwd",
        "/static/" + "../" * 200 + "etc/passwd",
    ]
    raw_targets = [b"/static/app.js\x00", b"/static/\x00../etc/passwd", b"/static/..\x2f..\x2fetc/passwd\x7f"]
    expect(http_get(s.port, "/static/app.js").status == 200, "/static/app.js itself should be 200")

    def one(t):
        raw = t if isinstance(t, bytes) else t.encode()
        x = exchange(s.port, b"GET " + raw + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return t, x

    out, failures = {}, []
    for t, x in parallel(one, targets + raw_targets):
        what = "GET %r" % t
        try:
            expect(len(x.responses) <= 1, "%s: %r" % (what, x))
            for r in x.responses:
                expect(b"root:" not in r.body and b"PATH=" not in r.body, "%s: file contents served! %r" % (what, r))
            # Decoded traversal targets must be 404; raw bytes the HTTP parser refuses may be 400.
            desc = outcome(x, what, statuses={404} if isinstance(t, str) else {400, 404})
            out[desc.split(" closed")[0]] = out.get(desc.split(" closed")[0], 0) + 1
        except AssertionError as e:
            failures.append(str(e))
    ms = alive(s, "traversal")
    expect(not failures, "\n      ".join(failures))
    return "%d targets: %s, never file contents; health after %.1f ms" % (
        len(targets) + len(raw_targets), ", ".join("%s x%d" % kv for kv in sorted(out.items())), ms)


def case_admin(s, disabled):
    def reload(auth=None, body=b"{}", path="/admin/reload", server=s):
        h = {"Content-Type": "application/json"}
        if auth is not None:
            h["Authorization"] = auth
        r, _ = request(server.port, "POST", path, body, h)
        return r

    before = http_get(s.port, "/health").json()
    reloads_before = metric_sum(s.port, r'loanrisk_model_reloads_total\{result=')
    wrong = {
        "no Authorization": None,
        "wrong token": "Bearer wrong-token",
        "prefix of the token": "Bearer " + TOKEN[:-1],
        "first character only": "Bearer " + TOKEN[0],
        "token + one more": "Bearer " + TOKEN + "x",
        "token in other case": "Bearer " + TOKEN.swapcase(),
        "lower-case 'bearer' and a wrong token": "bearer " + TOKEN.swapcase(),
        "empty token": "Bearer ",
        "'Bearer' alone": "Bearer",
        "no scheme": TOKEN,
        "Basic scheme": "Basic YWRtaW46" + TOKEN,
        "Token scheme": "Token " + TOKEN,
        "token with a NUL after it": "Bearer " + TOKEN + "\x00",
        "token with a trailing tab": "Bearer " + TOKEN + "\tx",
        "2 KB token": "Bearer " + TOKEN * 100,
    }
    out = []
    for what, auth in wrong.items():
        try:
            r = reload(auth)
        except AssertionError:
            # A header value the HTTP parser refuses (NUL) is a 400 and close: also "not authorized".
            x = exchange(s.port, b"POST /admin/reload HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth.encode("latin-1") +
                         b"\r\nContent-Length: 2\r\n\r\n{}")
            out.append("%s %s" % (what, outcome(x, what, statuses={400, 401})))
            continue
        if what == "token with a NUL after it" and r.status == 400:
            out.append("%s 400" % what)
            continue
        code = check_error_response(r, what, {401})
        expect(code == "unauthorized" and r.headers.get("www-authenticate") == "Bearer", "%s: %r %r" % (what, r, r.headers))
    out.insert(0, "%d wrong/missing tokens 401" % len(wrong))
    r, _ = request(s.port, "POST", "/admin/reload?token=" + TOKEN, b"{}", {"Content-Type": "application/json"})
    expect(r.status == 401, "token in the query: %r" % r)
    after = http_get(s.port, "/health").json()
    reloads_after = metric_sum(s.port, r'loanrisk_model_reloads_total\{result=')
    expect(before == after and reloads_before == reloads_after,
           "a refused reload changed something: %r -> %r, reloads %d -> %d" % (before, after, reloads_before, reloads_after))
    # The right token: bad bodies are refused without echoing a file, good ones reload.
    auth = "Bearer " + TOKEN
    r = reload(auth, json.dumps({"model": "/etc/passwd"}).encode())
    expect(check_error_response(r, "reload /etc/passwd", {422}) == "invalid_model" and b"root:" not in r.body, r)
    r = reload(auth, json.dumps({"model": "../../../../etc/shadow"}).encode())
    expect(check_error_response(r, "reload ../etc/shadow", {422}) == "invalid_model", r)
    r = reload(auth, b'{"model": ' + b"[" * 100000)
    expect(check_error_response(r, "reload deep JSON", {400, 422}), r)
    r = reload(auth, json.dumps({"model": MODEL}).encode())
    expect(r.status == 200 and r.json()["status"] == "reloaded" and r.json()["model_version"] == before["model_version"],
           "right token: %r" % r)
    r = reload(auth, b"")
    expect(r.status == 200 and r.json()["path"] == MODEL, "right token, empty body: %r" % r)
    # RFC 9110 11.1: the scheme name is case-insensitive; router.cpp compares it that way.
    r = reload("bearer " + TOKEN)
    expect(r.status == 200, "lower-case 'bearer' with the right token: %r" % r)
    r, _ = request(s.port, "GET", "/admin/reload", b"", {"Authorization": auth})
    expect(check_error_response(r, "GET /admin/reload", {405}) == "method_not_allowed", r)
    out.append("right token 200 (body {model}, empty body, lower-case scheme), bad model paths 422 without contents")
    for auth_h in (None, "Bearer " + TOKEN, "Bearer anything"):
        r = reload(auth_h, server=disabled)
        code = check_error_response(r, "reload on a server without LOANRISK_ADMIN_TOKEN", {401})
        expect(code == "admin_disabled", r)
    out.append("LOANRISK_ADMIN_TOKEN unset: 401 admin_disabled x3")
    ms = alive(s, "admin")
    alive(disabled, "admin disabled")
    return "; ".join(out) + "; health after %.1f ms" % ms


def tls_client_hello():
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    ctx = ssl.create_default_context()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def case_slow_upload(s):
    """A body sent steadily but slowly (15 KB/s, about 4 s against --read-timeout 2): every read brings bytes
    and the rate is far above --min-body-rate, so it is scored, not cut off; a body trickled a byte at a time
    is cut (case 1)."""
    head = "application_id,person_age,loan_amnt,loan_grade\n"
    text = (head + "".join("s%d,%d,%d,%s\n" % (i, 20 + i % 50, 1000 + i, "ABCDEFG"[i % 7]) for i in range(4000))).encode()
    piece = 2000

    def pieces():
        for k in range(0, len(text), piece):
            yield text[k:k + piece]
            time.sleep(piece / 15000)

    req = ("POST /batch_predict?results=false HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: text/csv\r\n"
           "Content-Length: %d\r\n\r\n" % len(text)).encode()
    x = exchange(s.port, _prefixed(req, pieces()), timeout=30)
    expect(len(x.responses) == 1 and x.responses[0].status == 200, "slow upload: %r" % (x,))
    body = x.responses[0].json()
    expect(body and body["count"] == 4000, "slow upload counted %r" % (body and body.get("count")))
    expect(x.elapsed > 1.5 * TIMEOUT_S, "the upload took %.1fs, not longer than the read timeout" % x.elapsed)
    return "%d bytes over %.1fs (read timeout %ds): 200, %d loans" % (len(text), x.elapsed, TIMEOUT_S, body["count"])


def _prefixed(first, rest):
    yield first
    yield from rest


def case_garbage(s):
    rnd = random.Random(20240601)
    hello = tls_client_hello()
    settings = b"\x00\x00\x0c\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x64\x00\x04\x00\x00\xff\xff"
    payloads = {
        "4 KiB random": bytes(rnd.getrandbits(8) for _ in range(4096)),
        "64 KiB random": bytes(rnd.getrandbits(8) for _ in range(65536)),
        "random printable": "".join(rnd.choice("abc XYZ/:\r\n\t%") for _ in range(5000)).encode(),
        "TLS ClientHello": hello,
        "TLS ClientHello x20": hello * 20,
        "HTTP/2 preface + SETTINGS": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + settings,
        "HTTP/2 frames without preface": settings * 50,
        "SSH banner": b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n",
        "SMTP": b"EHLO attacker.example\r\nMAIL FROM:<a@b>\r\n",
        "NUL bytes": b"\x00" * 2048,
        "empty lines only": b"\r\n" * 5000,
        "100 KB line without CRLF": b"GET /" + b"A" * 100000,
        "method of 8 KB": b"A" * 8000 + b" / HTTP/1.1\r\nHost: x\r\n\r\n",
        "HTTP/9.9": b"GET /health HTTP/9.9\r\nHost: x\r\n\r\n",
        "HTTP/0.9 style": b"GET /health\r\n\r\n",
        "header without colon": b"GET /health HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
        "header name with space": b"GET /health HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n",
        "bare CR": b"GET /health HTTP/1.1\r\nHost: x\rX: y\r\n\r\n",
        "control chars in target": b"GET /he\x01\x7falth HTTP/1.1\r\nHost: x\r\n\r\n",
        "half a request then FIN": b"GET /hea",
    }
    jobs = list(payloads.items())
    results = parallel(lambda kv: (kv[0], exchange(s.port, kv[1], shut_wr=(kv[0] == "half a request then FIN"))), jobs,
                       workers=len(jobs))
    out, failures = [], []
    for what, x in results:
        try:
            out.append("%s -> %s" % (what, outcome(x, what, close_within=3 * TIMEOUT_S)))
        except AssertionError as e:
            failures.append(str(e))
    # An h2c upgrade is not taken: a plain HTTP/1.1 answer, never 101.
    x = exchange(s.port, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                         b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
    if not (len(x.responses) == 1 and x.responses[0].status == 200):
        failures.append("h2c upgrade request: %r" % x)
    ms = alive(s, "garbage")
    expect(not failures, "\n      ".join(failures))
    return "%s; h2c upgrade ignored (200); health after %.1f ms" % ("; ".join(out), ms)


def main():
    raise_nofile()
    failed, ran = 0, 0
    t_all = time.time()

    def run(name, fn, *args):
        nonlocal failed, ran
        if ONLY and ONLY not in name:
            return
        ran += 1
        t0 = time.time()
        try:
            figures = fn(*args)
            print("ok    %-22s %5.1fs  %s" % (name, time.time() - t0, figures), flush=True)
        except Exception as e:  # noqa: BLE001
            failed += 1
            print("FAIL  %-22s %5.1fs  %s" % (name, time.time() - t0, str(e)[:6000]), flush=True)

    main_server = Server("--threads", "2", "--read-timeout", str(TIMEOUT_S), "--idle-timeout", str(TIMEOUT_S),
                         "--max-header-bytes", str(MAX_HEADER), "--max-body-bytes", str(MAX_BODY),
                         env={"LOANRISK_ADMIN_TOKEN": TOKEN})
    burst_server = Server("--threads", "2", "--read-timeout", "20", "--idle-timeout", "20")
    capped = Server("--threads", "1", "--max-connections", "100", "--read-timeout", "20", "--idle-timeout", "20")
    servers = (main_server, burst_server, capped)
    try:
        for name, fn, args in (
                ("2.oversized", case_oversized, (main_server,)),
                ("4.malformed_chunked", case_malformed_chunked, (main_server,)),
                ("5.smuggling", case_smuggling, (main_server,)),
                ("6.json_bombs", case_json_bombs, (main_server,)),
                ("7.path_traversal", case_traversal, (main_server,)),
                ("8.admin_tokens", case_admin, (main_server, capped)),
                ("9.garbage", case_garbage, (main_server,)),
                ("10.slow_upload", case_slow_upload, (main_server,)),
                ("1.slowloris", case_slowloris, (main_server,)),
                ("3.burst", case_burst, (burst_server, capped))):
            run(name, fn, *args)
            dead = [sv for sv in servers if sv.proc.poll() is not None]
            if dead:
                failed += 1
                print("FAIL  a server died (exit %s):\n%s" % (dead[0].proc.returncode, dead[0].stderr()[-5000:]))
                break
    finally:
        for sv in servers:
            code = sv.stop()
            if code != 0:
                failed += 1
                print("FAIL  server on port %s: exit code %s\n%s" % (sv.port, code, sv.stderr()[-3000:]))
    print("%d cases, %d failed, %.1fs" % (ran, failed, time.time() - t_all))
    if not failed:
        shutil.rmtree(TMP, ignore_errors=True)
    else:
        print("server logs kept in " + TMP)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
