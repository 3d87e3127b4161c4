#!/usr/bin/env bash
# `loanrisk score` file -> file: loans/s and peak RSS for portfolios of each size (default 1M and 10M) in
# CSV and NDJSON, made by tools/make_portfolio from the real data, in one run (the table in bench/README.md).
#   bench/bulk/run.sh [BINARY] [SIZES...]      e.g. bench/bulk/run.sh build/release/loanrisk 1000000 10000000
# Environment: WORK (a folder with room for the inputs and outputs, ~1.5 GB per 10M rows of NDJSON; default
# a temporary folder, removed after), THREADS (score's --threads; default one per core).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${1:-$root/build/release/loanrisk}
shift || true
sizes=("$@")
((${#sizes[@]})) || sizes=(1000000 10000000)
[[ -x /usr/bin/time ]] || { echo "bulk: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
work=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/loanrisk-bulk.XXXXXX")}
[[ -n ${WORK:-} ]] || trap 'rm -rf "$work"' EXIT
threads=()
[[ -n ${THREADS:-} ]] && threads=(--threads "$THREADS")

printf '%-8s %12s %9s %12s %10s %12s\n' format rows wall_s loans_per_s peak_rss input_MB
for fmt in csv ndjson; do
    for n in "${sizes[@]}"; do
        in=$work/p$n.$fmt out=$work/o$n.$fmt
        [[ -f $in ]] || "$root/tools/make_portfolio" "$n" --format "$fmt" > "$in"
        /usr/bin/time -f '%e %M' -o "$work/time" "$bin" score --model "$root/models/credit_risk_pd.json" \
            --input "$in" --output "$out" --summary "$work/s.json" --quiet "${threads[@]}"
        read -r wall rss_kb < "$work/time"
        rows=$(grep -o '"count":[0-9]*' "$work/s.json" | head -1 | cut -d: -f2)
        [[ $rows == "$n" ]] || { echo "bulk: scored $rows rows of $n" >&2; exit 1; }
        printf '%-8s %12d %9.2f %12.0f %7.0f MB %12.0f\n' "$fmt" "$n" "$wall" "$(echo "$n / $wall" | bc -l)" \
            "$(echo "$rss_kb / 1024" | bc -l)" "$(echo "$(stat -c %s "$in") / 1048576" | bc -l)"
        rm -f "$out"
    done
done
