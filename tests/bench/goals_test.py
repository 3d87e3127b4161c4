#!/usr/bin/env python3
"""bench/micro/goals.py: one round gives each goal's ratio from the same run, then a summary line per goal
naming its median, the goal and the two benchmarks; a bad ROUNDS is refused.

usage: goals_test.py GOALS_SCRIPT MICRO_BENCH_BINARY"""
import re
import subprocess
import sys


def main():
    script, binary = sys.argv[1], sys.argv[2]
    p = subprocess.run([sys.executable, script, binary, "1", "0.01"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert re.fullmatch(r"round 1: kernel \d+\.\d\dx, JSON \d+\.\d\dx, CSV \d+\.\d\dx", lines[0]), lines
    for line, name, goal in zip(lines[1:], ("kernel", "JSON", "CSV"), ("0.7", "0.8", "0.8")):
        assert re.fullmatch(rf"{name}: median \d+\.\d\dx over 1 rounds \(range \d+\.\d\d-\d+\.\d\dx\), goal {goal}x: "
                            r"(met|not met)  \[\S+ / \S+\]", line), line
    assert len(lines) == 4, lines
    p = subprocess.run([sys.executable, script, binary, "0"], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "ROUNDS" in p.stderr, (p.returncode, p.stderr)
    print("PASS")


if __name__ == "__main__":
    main()
