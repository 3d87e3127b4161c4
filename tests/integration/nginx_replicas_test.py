#!/usr/bin/env python3
"""deploy/nginx/loanrisk.conf for real: nginx in front of two `loanrisk serve` replicas under steady load.

Replica A gets SIGTERM (drains) and is restarted, then replica B is SIGKILLed and restarted; not one client
request may fail (every non-200 and every connection error counts). nginx runs in the foreground from a
temp prefix with the template's upstream ports and listen port substituted.
usage: nginx_replicas_test.py LOANRISK_BINARY SOURCE_DIR   (exit 77 when nginx is not installed)
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN, SRC = sys.argv[1], sys.argv[2]
MODEL = os.path.join(SRC, "models", "credit_risk_pd.json")
TEMPLATE = os.path.join(SRC, "deploy", "nginx", "loanrisk.conf")
LOAD_THREADS = 4
BODY = json.dumps({"application_id": "A-1", "data": {
    "person_age": 22, "person_income": 59000, "person_home_ownership": "RENT", "person_emp_length": 3,
    "loan_intent": "PERSONAL", "loan_grade": "D", "loan_amnt": 35000, "loan_int_rate": 16.02,
    "loan_percent_income": 0.59, "cb_person_default_on_file": "Y", "cb_person_cred_hist_length": 3}})


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(port, path, timeout=2.0):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        c.request("GET", path)
        st = c.getresponse().status
        c.close()
        return st
    except OSError:
        return None


class replica:
    """One `loanrisk serve` on 127.0.0.1; the first start picks a free port, restarts reuse it."""

    def __init__(self, name, workdir):
        self.name, self.workdir, self.port, self.proc, self.starts = name, workdir, 0, None, 0

    def start(self):
        self.starts += 1
        self.logpath = os.path.join(self.workdir, f"replica-{self.name}-{self.starts}.log")
        self.log = open(self.logpath, "w+")
        cmd = [BIN, "serve", "--model", MODEL, "--host", "127.0.0.1", "--port", str(self.port),
               "--threads", "1", "--score-threads", "1", "--drain-timeout", "10"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.time() + 15
        while time.time() < deadline:
            with open(self.logpath) as f:
                m = re.search(r"http://127\.0\.0\.1:(\d+) ", f.read())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                raise SystemExit(f"replica {self.name} exited at start-up:\n{open(self.logpath).read()}")
            time.sleep(0.05)
        else:
            raise SystemExit(f"replica {self.name}: no start-up line")
        while time.time() < deadline and http_status(self.port, "/ready") != 200:
            time.sleep(0.05)
        if http_status(self.port, "/ready") != 200:
            raise SystemExit(f"replica {self.name} on :{self.port} never became ready")
        log(f"replica {self.name} up on :{self.port} (pid {self.proc.pid})")

    def stop(self, sig):
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=30)
        self.log.close()
        return rc


def nginx_config(prefix, listen_port, replicas):
    """The template with its upstream servers, listen port and log path substituted, inside a minimal main config."""
    with open(TEMPLATE) as f:
        site = f.read()
    lines = re.findall(r"^[ \t]*server 127\.0\.0\.1:\d+([^;\n]*);[ \t]*\n", site, re.M)
    if len(lines) < 1:
        raise SystemExit("template: no `server 127.0.0.1:PORT ...;` lines in the upstream")
    params = lines[0]
    first = True

    def one_per_replica(m):
        nonlocal first
        if not first:
            return ""
        first = False
        return "".join(f"    server 127.0.0.1:{r.port}{params};\n" for r in replicas)

    site = re.sub(r"^[ \t]*server 127\.0\.0\.1:\d+[^;\n]*;[ \t]*\n", one_per_replica, site, flags=re.M)
    site, n = re.subn(r"^(\s*)listen\s+80;", rf"\1listen 127.0.0.1:{listen_port};", site, flags=re.M)
    if n != 1:
        raise SystemExit("template: expected one `listen 80;`")
    site = re.sub(r"access_log\s+\S+", f"access_log {prefix}/access.log", site)
    with open(os.path.join(prefix, "loanrisk.conf"), "w") as f:
        f.write(site)
    temp = "\n".join(f"    {d}_temp_path {prefix}/{d};" for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = f"""{'user root;' if os.geteuid() == 0 else ''}
worker_processes 1;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
{temp}
    access_log off;
    include {prefix}/loanrisk.conf;
}}
"""
    path = os.path.join(prefix, "nginx.conf")
    with open(path, "w") as f:
        f.write(main)
    return path


class load:
    """LOAD_THREADS clients, each a keep-alive connection to nginx doing POST /predict in a loop."""

    def __init__(self, port):
        self.port, self.stop, self.lock = port, threading.Event(), threading.Lock()
        self.ok, self.failures = 0, []
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(LOAD_THREADS)]

    def run(self):
        conn = None
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                conn.request("POST", "/predict", BODY, {"Content-Type": "application/json"})
                r = conn.getresponse()
                body = r.read()
                good = r.status == 200 and b'"decision":"REJECT"' in body
                with self.lock:
                    if good:
                        self.ok += 1
                    else:
                        self.failures.append((time.time(), r.status, body[:200]))
                if r.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                with self.lock:
                    self.failures.append((time.time(), "exception", repr(e)))
                conn.close()
                conn = None

    def count(self):
        with self.lock:
            return self.ok, len(self.failures)


def served_by(prefix, port, since_line=0):
    """Requests in nginx's access log answered 200 by the replica on `port` (its last upstream try)."""
    n = 0
    with open(os.path.join(prefix, "access.log")) as f:
        for i, line in enumerate(f):
            if i < since_line:
                continue
            m = re.search(r"upstream=(\S.*?) upstream_status=(\S.*?) upstream_time", line)
            if m and m.group(1).split(", ")[-1] == f"127.0.0.1:{port}" and m.group(2).split(", ")[-1] == "200":
                n += 1
    return n


def log_lines(prefix):
    with open(os.path.join(prefix, "access.log")) as f:
        return sum(1 for _ in f)


def wait_routed(prefix, r, since, want=50, timeout=20):
    """Waits until nginx sends traffic to replica r again (passive health checks have let it back in)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if served_by(prefix, r.port, since) >= want:
            return
        time.sleep(0.1)
    raise SystemExit(f"nginx did not route to replica {r.name} (:{r.port}) within {timeout} s of its restart")


def main():
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if not nginx:
        print("SKIP: nginx is not installed (tools/dev deps installs Debian's nginx)")
        return 77
    prefix = tempfile.mkdtemp(prefix="loanrisk-nginx.")
    a, b = replica("A", prefix), replica("B", prefix)
    ng = None
    try:
        a.start()
        b.start()
        port = free_port()
        conf = nginx_config(prefix, port, [a, b])
        base = [nginx, "-p", prefix, "-e", f"{prefix}/error.log", "-c", conf]
        t = subprocess.run(base + ["-t"], capture_output=True, text=True)
        if t.returncode != 0:
            raise SystemExit(f"nginx -t rejects the generated config:\n{t.stderr}")
        ng = subprocess.Popen(base + ["-g", f"daemon off; pid {prefix}/nginx.pid;"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while time.time() < deadline and http_status(port, "/health") != 200:
            if ng.poll() is not None:
                raise SystemExit(f"nginx exited: {ng.stderr.read().decode()}")
            time.sleep(0.05)
        log(f"nginx up on :{port} in front of :{a.port} and :{b.port}")

        # The config's limits, checked without load: a declared body above 256 MiB is refused by nginx
        # itself; a chunked CSV upload streams through to a replica.
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.putrequest("POST", "/batch_predict")
        c.putheader("Content-Type", "text/csv")
        c.putheader("Content-Length", str(256 * 1024 * 1024 + 1))
        c.endheaders()
        st = c.getresponse().status
        c.close()
        if st != 413:
            raise SystemExit(f"a 256 MiB + 1 byte body got {st} from nginx, expected 413")
        header = ("person_age,person_income,person_home_ownership,person_emp_length,loan_intent,loan_grade,"
                  "loan_amnt,loan_int_rate,loan_percent_income,cb_person_default_on_file,cb_person_cred_hist_length\n")
        row = "22,59000,RENT,3,PERSONAL,D,35000,16.02,0.59,Y,3\n"
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("POST", "/batch_predict?results=false", body=iter([header.encode()] + [row.encode() * 100] * 50),
                  headers={"Content-Type": "text/csv"}, encode_chunked=True)
        r = c.getresponse()
        out = r.read()
        c.close()
        if r.status != 200 or json.loads(out)["count"] != 5000:
            raise SystemExit(f"chunked CSV /batch_predict through nginx: {r.status} {out[:300]}")
        log("nginx: 256 MiB + 1 declared body -> 413; chunked 5,000-row CSV upload -> 200, count 5000")

        ld = load(port)
        for th in ld.threads:
            th.start()
        started = time.time()
        time.sleep(2)
        if served_by(prefix, a.port) == 0 or served_by(prefix, b.port) == 0:
            raise SystemExit("nginx does not spread the load over both replicas")
        log(f"steady load: {ld.count()[0]} requests ok in 2 s over both replicas")

        # A: SIGTERM drains (listener closed, in-flight requests finish), exit 0; restart on the same port.
        rc = a.stop(signal.SIGTERM)
        log(f"replica A drained on SIGTERM, exit {rc}; ok so far {ld.count()[0]}, failed {ld.count()[1]}")
        if rc != 0:
            raise SystemExit(f"replica A exited {rc} after SIGTERM:\n{open(a.logpath).read()}")
        time.sleep(1)  # B alone carries the load for a while
        mark = log_lines(prefix)
        a.start()
        wait_routed(prefix, a, mark)
        log(f"nginx routes to A again; ok so far {ld.count()[0]}, failed {ld.count()[1]}")

        # B: SIGKILL (connections reset mid-request), restart on the same port.
        rc = b.stop(signal.SIGKILL)
        log(f"replica B SIGKILLed (exit {rc}); ok so far {ld.count()[0]}, failed {ld.count()[1]}")
        time.sleep(1)
        mark = log_lines(prefix)
        b.start()
        wait_routed(prefix, b, mark)
        log(f"nginx routes to B again; ok so far {ld.count()[0]}, failed {ld.count()[1]}")
        time.sleep(1)

        ld.stop.set()
        for th in ld.threads:
            th.join(timeout=60)
        elapsed = time.time() - started
        ok, failed = ld.count()
        retried = 0
        with open(os.path.join(prefix, "access.log")) as f:
            for line in f:
                if "/predict" in line and re.search(r"upstream=\S+, ", line):
                    retried += 1
        log(f"{ok} requests ok, {failed} failed in {elapsed:.1f} s ({ok / elapsed:.0f} req/s); "
            f"{retried} answered by a second replica after nginx retried")
        for f in ld.failures[:20]:
            print("  failure:", f)
        if failed:
            with open(os.path.join(prefix, "error.log")) as f:
                print("nginx error.log (tail):\n" + "".join(f.readlines()[-30:]))
            raise SystemExit(f"{failed} client requests failed")
        if ok < 1000:
            raise SystemExit(f"only {ok} requests in {elapsed:.1f} s: the load was not steady")
        print("PASS")
        return 0
    finally:
        if ng and ng.poll() is None:
            ng.send_signal(signal.SIGQUIT)  # graceful nginx stop
            try:
                ng.wait(timeout=10)
            except subprocess.TimeoutExpired:
                ng.kill()
        for r in (a, b):
            if r.proc and r.proc.poll() is None:
                r.proc.kill()
                r.proc.wait()
        if os.environ.get("LOANRISK_KEEP_TMP"):
            print("kept", prefix)
        else:
            shutil.rmtree(prefix, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
