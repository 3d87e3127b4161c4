#!/usr/bin/env python3
"""bench/load/paced_load.cpp against a real server: it sends the rate it was asked for, times every response,
and reports failures (a 4xx body, a refused connection) instead of hiding them in the latency figures.

usage: paced_load_test.py PACED_LOAD_BINARY LOANRISK_BINARY SOURCE_DIR"""
import os
import re
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from server_process import ServerProcess  # noqa: E402


def run(paced, *args):
    p = subprocess.run([paced, *map(str, args)], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def main():
    paced, binary, src = sys.argv[1:4]
    model = os.path.join(src, "models", "credit_risk_pd.json")
    with tempfile.TemporaryDirectory() as work:
        body = os.path.join(work, "predict.json")
        with open(body, "w") as f:
            f.write('{"application_id":"L-0","data":{"person_age":22,"person_income":59000,'
                    '"person_home_ownership":"RENT","person_emp_length":123,"loan_intent":"PERSONAL",'
                    '"loan_grade":"D","loan_amnt":35000,"loan_int_rate":16.02,"loan_percent_income":0.59,'
                    '"cb_person_default_on_file":"Y","cb_person_cred_hist_length":3}}')
        bad = os.path.join(work, "bad.json")
        with open(bad, "w") as f:
            f.write('{"data": [')
        server = ServerProcess(binary, model, work)
        try:
            code, out = run(paced, "127.0.0.1", server.port, "/predict", body, 400, 1.5, 4)
            assert code == 0, out
            m = re.search(r"requests (\d+) in ([\d.]+) s = (\d+) req/s", out)
            assert m and int(m.group(1)) == 600, out
            assert 300 <= int(m.group(3)) <= 420, "the rate it was asked for: " + out
            assert re.search(r"latency p50 \d+ us, p90 \d+ us, p99 \d+ us, p99.9 \d+ us, max \d+ us", out), out
            assert "failures: 0 non-2xx, 0 I/O errors" in out, out

            code, out = run(paced, "127.0.0.1", server.port, "/health", "-", 200, 1, 2)
            assert code == 0 and "failures: 0 non-2xx" in out, out

            code, out = run(paced, "127.0.0.1", server.port, "/predict", bad, 100, 1, 2)
            assert code == 1 and "failures: 100 non-2xx, 0 I/O errors" in out, "400s are failures: " + out
        finally:
            server.stop()
        # A server that answers 503 and closes (over its connection cap): each such answer is a failure, and
        # the connection is opened again for the next request instead of failing it as an I/O error.
        server = ServerProcess(binary, model, work, "--max-connections", "1")
        try:
            code, out = run(paced, "127.0.0.1", server.port, "/health", "-", 200, 1, 3)
            m = re.search(r"failures: (\d+) non-2xx, (\d+) I/O errors", out)
            assert code == 1 and m and int(m.group(1)) > 0 and int(m.group(2)) == 0, out
        finally:
            server.stop()
        # A server that accepts and never answers (SIGSTOPped): each request times out as an I/O error, and
        # the run still ends.
        server = ServerProcess(binary, model, work)
        try:
            server.proc.send_signal(signal.SIGSTOP)
            code, out = run(paced, "127.0.0.1", server.port, "/health", "-", 10, 0.5, 2, "application/json", 300)
            assert code == 1 and "0 non-2xx, 5 I/O errors (5 of them timeouts after 300 ms)" in out, out
        finally:
            server.proc.send_signal(signal.SIGCONT)
            server.stop()
        # Nothing listening: every request is an I/O error, and the run still ends.
        code, out = run(paced, "127.0.0.1", server.port, "/health", "-", 100, 0.5, 2)
        assert code == 1 and "0 non-2xx, 50 I/O errors (0 of them timeouts" in out, out
    print("paced_load: ok")


if __name__ == "__main__":
    main()
