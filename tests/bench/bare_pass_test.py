#!/usr/bin/env python3
"""bench/load/bare_pass.cpp: it counts the items of a {"items": [...]} body, reports a median rate, and refuses
what is not such a body (or a bad RUNS) with a message and a non-zero status instead of a rate.

usage: bare_pass_test.py BARE_PASS_BINARY"""
import json
import os
import re
import subprocess
import sys
import tempfile


def run(binary, *args):
    p = subprocess.run([binary, *map(str, args)], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def main():
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as work:
        body = os.path.join(work, "batch.json")
        items = [{"application_id": f"L-{i}", "person_age": 20 + i, "loan_grade": "B\u00e9", "note": None}
                 for i in range(1000)]
        with open(body, "w") as f:
            json.dump({"items": items}, f)
        code, out, err = run(binary, body, 3)
        assert code == 0, err
        m = re.fullmatch(r"items (\d+) median_ms ([\d.]+) loans_per_s (\d+)\n", out)
        assert m and int(m.group(1)) == 1000 and int(m.group(3)) > 0, out

        for name, text in [("array.json", "[1, 2]"), ("cut.json", '{"items": [{"a": 1}, {"a": '),
                           ("scalars.json", '{"items": [1, 2]}')]:
            path = os.path.join(work, name)
            with open(path, "w") as f:
                f.write(text)
            code, out, err = run(binary, path)
            assert code == 1 and out == "" and "items" in err, (name, code, out, err)

        code, out, err = run(binary, os.path.join(work, "missing.json"))
        assert code == 1 and out == "" and "missing.json" in err, (code, out, err)
        for runs in ["0", "x", "5x"]:
            code, out, err = run(binary, body, runs)
            assert code == 2 and "RUNS" in err, (runs, code, out, err)
    print("ok")


if __name__ == "__main__":
    main()
