#!/usr/bin/env python3
"""The engine's three speed goals (issue 3), each a ratio of two benchmarks taken in the same run of
loanrisk_micro_bench, for ROUNDS runs; then the median of each ratio. On a shared machine one run can be
slowed by a neighbour: the rounds show the spread, the medians are the summary.

  kernel:  memcpy of the kernel's input columns / PD kernel (best instruction set), 1,048,576 loans  (goal 0.7x)
  JSON:    bare simdjson On-Demand pass / decode + score + encode on 2 threads, 100,000 loans      (goal 0.8x)
  CSV:     RFC 4180 tokenizer / decode + score + encode, 100,000 loans                              (goal 0.8x)

usage: goals.py BINARY [ROUNDS (default 5)] [MIN_TIME seconds per benchmark (default: Google Benchmark's)]"""
import json
import statistics
import subprocess
import sys

GOALS = [  # name, the baseline benchmark, the measured one, goal
    ("kernel", "memcpy_input_bytes/1048576", "kernel/{best}/1048576", 0.7),
    ("JSON", "simdjson_bare_pass", "decode_score_encode_json/2/real_time", 0.8),
    ("CSV", "csv_tokenize_only", "decode_score_encode_csv/real_time", 0.8),
]


def best_kernel(binary):
    """The best instruction set this CPU runs the kernel with: every one is registered, and those the CPU
    lacks report an error instead of a time."""
    out = subprocess.run([binary, "--benchmark_filter=^kernel/(avx512|avx2|sse4_2)/16384$",
                          "--benchmark_min_time=0.001", "--benchmark_format=json"],
                         capture_output=True, text=True, check=True).stdout
    ran = {b["name"] for b in json.loads(out)["benchmarks"] if not b.get("error_occurred")}
    for arch in ("avx512", "avx2", "sse4_2"):
        if f"kernel/{arch}/16384" in ran:
            return arch
    raise SystemExit("no vector kernel runs on this CPU")


def one_round(binary, names, min_time):
    args = [binary, "--benchmark_filter=^(" + "|".join(names) + ")$", "--benchmark_format=json"]
    if min_time:
        args.append(f"--benchmark_min_time={min_time}")
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return {b["name"]: b["real_time"] for b in json.loads(out)["benchmarks"]}


def main():
    if len(sys.argv) < 2 or len(sys.argv) > 4:
        raise SystemExit(__doc__)
    binary = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    min_time = sys.argv[3] if len(sys.argv) > 3 else None
    if rounds < 1:
        raise SystemExit("ROUNDS must be at least 1")
    best = best_kernel(binary)
    goals = [(name, base, measured.format(best=best), goal) for name, base, measured, goal in GOALS]
    names = [n for _, base, measured, _ in goals for n in (base, measured)]
    ratios = {name: [] for name, *_ in goals}
    for r in range(1, rounds + 1):
        times = one_round(binary, names, min_time)
        cells = []
        for name, base, measured, _ in goals:
            ratio = times[base] / times[measured]
            ratios[name].append(ratio)
            cells.append(f"{name} {ratio:.2f}x")
        print(f"round {r}: " + ", ".join(cells), flush=True)
    for name, base, measured, goal in goals:
        median = statistics.median(ratios[name])
        print(f"{name}: median {median:.2f}x over {rounds} rounds (range {min(ratios[name]):.2f}-{max(ratios[name]):.2f}x), "
              f"goal {goal}x: {'met' if median >= goal else 'not met'}  [{base} / {measured}]")


if __name__ == "__main__":
    main()
