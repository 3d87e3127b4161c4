#!/usr/bin/env bash
# One libFuzzer target for LOANRISK_FUZZ_SECONDS (default 30) from its seed corpus.
#   run_fuzzer.sh FUZZER SEED_DIR WORK_DIR DICT
# The working corpus (WORK_DIR/corpus) keeps what earlier runs found; a crash leaves its input in
# WORK_DIR/artifacts and fails the run (reproduce: FUZZER that-file).
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3 dict=$4
seconds=${LOANRISK_FUZZ_SECONDS:-30}
mkdir -p "$work/corpus" "$work/artifacts"
# Bodies of up to 64 KiB: past the decoders' chunk and line buffers, small enough to run fast.
exec "$fuzzer" "$work/corpus" "$seeds" -dict="$dict" -max_total_time="$seconds" -max_len=65536 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts/"
