#!/usr/bin/env bash
# Load test of `loanrisk serve` with wrk (Debian's): /health and /predict peak req/s, /predict latency at
# half its peak (open loop), and /batch_predict loans/s with 100,000 real loans (JSON, NDJSON and CSV bodies),
# the JSON one against a bare simdjson pass over the same body; for /health and /predict also the server's CPU
# time per request.
#   ROUNDS=3 DURATION=10s CONNECTIONS=64 PORT=18099 LOANRISK_LOAD_DIR=/tmp/loanrisk-load: the settings.
#   bench/load/run.sh [BINARY] [DATA.csv]     (defaults: build/release/loanrisk, ../shared/data/credit_risk_dataset.csv)
# wrk runs on the same machine (one wrk thread: on 2 cores it takes most of one).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/build/release/loanrisk}
data=${2:-$root/../shared/data/credit_risk_dataset.csv}
bodies=${LOANRISK_LOAD_DIR:-/tmp/loanrisk-load}
port=${PORT:-18099}
duration=${DURATION:-10s}
conns=${CONNECTIONS:-64}

[[ -f $bodies/batch.json ]] || python3 "$here/make_bodies.py" "$data" "$bodies"
"$bin" serve --model "$root/models/credit_risk_pd.json" --port "$port" --host 127.0.0.1 2>"$bodies/server.log" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && break; sleep 0.1; done
head -1 "$bodies/server.log"

url=http://127.0.0.1:$port
rps() { awk '/Requests\/sec/ {print $2}'; }
p99() { awk '$1 == "99%" {print $2}'; }

# The server's CPU time (user + system, /proc) per request over a wrk run: what a route costs the server,
# steadier than req/s when wrk shares the cores. Prints wrk's output, then "server_cpu_us N".
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
wrk_with_cpu() {
    local t0 t1 out
    t0=$(cpu_ticks)
    out=$(wrk "$@")
    t1=$(cpu_ticks)
    printf '%s\n' "$out"
    awk -v a="$t0" -v b="$t1" -v hz="$hz" '/ requests in / {printf "server_cpu_us %.1f\n", (b - a) / hz / $1 * 1e6}' <<<"$out"
}
cpu_us() { awk '/^server_cpu_us/ {print $2}'; }

# /health and /predict in alternating rounds (ROUNDS, default 3): on a shared machine the load changes
# between two runs, so each round's ratio compares neighbours in time, and the median is the summary.
# (The median of an even count is the lower middle one.)
median() { LC_ALL=C sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
rounds=${ROUNDS:-3}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "ROUNDS must be a whole number >= 1, got '$rounds'" >&2; exit 2; }
ratios=() predicts=()
for round in $(seq "$rounds"); do
    health_out=$(wrk_with_cpu -t1 -c"$conns" -d"$duration" -s "$here/get.lua" "$url/health")
    health=$(rps <<<"$health_out")
    predict_out=$(BODY=$bodies/predict.json wrk_with_cpu -t1 -c"$conns" -d"$duration" --latency -s "$here/post.lua" "$url/predict")
    predict=$(rps <<<"$predict_out")
    ratio=$(awk -v a="$predict" -v b="$health" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
    ratios+=("$ratio") predicts+=("$predict")
    echo "round $round: /health $health req/s (server CPU $(cpu_us <<<"$health_out") us/request)," \
         "/predict $predict req/s (p99 at peak $(p99 <<<"$predict_out"); server CPU $(cpu_us <<<"$predict_out") us/request)  ratio ${ratio}x"
done
echo "/predict over /health, median of ${#ratios[@]} rounds: $(printf '%s\n' "${ratios[@]}" | median)x (rounds: ${ratios[*]})"
predict=$(printf '%s\n' "${predicts[@]}" | median)

# Half the peak, open loop (bench/load/paced_load.cpp, built next to the binary as bench/loanrisk_paced_load):
# request i is due at i / rate and its latency counts from then, waits for a free connection included.
# (wrk's paced mode fires its connections in bursts on millisecond timer ticks: it measures its own bursts.)
# Three runs, because one noisy neighbour on a shared VM can own a whole run's tail.
paced=${PACED_LOAD:-$(dirname "$bin")/bench/loanrisk_paced_load}
half=$(awk -v p="$predict" 'BEGIN {printf "%.0f", p / 2}')
if [[ -x $paced ]]; then
    for run in 1 2 3; do
        out=$("$paced" 127.0.0.1 "$port" /predict "$bodies/predict.json" "$half" "${duration%s}" 32)
        echo "/predict at half    run $run: $(sed -n 1p <<<"$out" | cut -d, -f1); $(sed -n 2p <<<"$out")"
    done
else
    echo "/predict at half    (no $paced: build with -DLOANRISK_BENCH=ON)"
fi

json_loans=0
for kind in json:application/json ndjson:application/x-ndjson csv:text/csv; do
    ext=${kind%%:*} ctype=${kind#*:}
    out=$(BODY=$bodies/batch.$ext CONTENT_TYPE=$ctype wrk -t1 -c1 -d"$duration" --timeout 60s -s "$here/post.lua" \
          "$url/batch_predict")
    r=$(rps <<<"$out")
    loans=$(awk -v r="$r" 'BEGIN {printf "%.0f", r * 100000}')
    [[ $ext == json ]] && json_loans=$loans
    echo "/batch_predict $ext  $r req/s x 100,000 = $loans loans/s"
done

# The goal's yardstick, in the same run on the same JSON body: the bare simdjson On-Demand pass on one core
# (bench/load/bare_pass.cpp, built next to the binary as bench/loanrisk_bare_pass), the server stopped first.
bare=${BARE_PASS:-$(dirname "$bin")/bench/loanrisk_bare_pass}
kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true
if [[ -x $bare ]]; then
    out=$("$bare" "$bodies/batch.json" 5)
    bare_loans=$(awk '{print $6}' <<<"$out")
    echo "bare simdjson pass over batch.json: $bare_loans loans/s (median of 5, one core);" \
         "/batch_predict json over it: $(awk -v a="$json_loans" -v b="$bare_loans" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')x"
else
    echo "bare simdjson pass: (no $bare: build with -DLOANRISK_BENCH=ON)"
fi
