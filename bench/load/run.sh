#!/usr/bin/env bash
# Load test of `loanrisk serve` with wrk (Debian's): /health and /predict peak req/s, /predict p99 at about
# half its peak, and /batch_predict loans/s with 100,000 real loans (JSON, NDJSON and CSV bodies).
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

health=$(wrk -t1 -c"$conns" -d"$duration" -s "$here/get.lua" "$url/health" | rps)
predict_out=$(BODY=$bodies/predict.json wrk -t1 -c"$conns" -d"$duration" --latency -s "$here/post.lua" "$url/predict")
predict=$(rps <<<"$predict_out")
echo "/health             $health req/s"
echo "/predict            $predict req/s  (p99 at peak $(p99 <<<"$predict_out"))  ratio $(awk -v a="$predict" -v b="$health" 'BEGIN {printf "%.2f", a / b}')x"

# About half the peak: each connection pauses 1 ms between requests; pick the connection count so
# connections * 1000 / (1 ms + latency) ~ peak / 2.
half_conns=$(awk -v p="$predict" 'BEGIN {c = int(p / 2 / 1000 * 1.1 + 0.5); print (c < 1 ? 1 : c)}')
half_out=$(BODY=$bodies/predict.json DELAY_MS=1 wrk -t1 -c"$half_conns" -d"$duration" --latency -s "$here/post.lua" "$url/predict")
echo "/predict at ~half   $(rps <<<"$half_out") req/s with $half_conns paced connections: p99 $(p99 <<<"$half_out")"

for kind in json:application/json ndjson:application/x-ndjson csv:text/csv; do
    ext=${kind%%:*} ctype=${kind#*:}
    out=$(BODY=$bodies/batch.$ext CONTENT_TYPE=$ctype wrk -t1 -c1 -d"$duration" --timeout 60s -s "$here/post.lua" \
          "$url/batch_predict")
    r=$(rps <<<"$out")
    echo "/batch_predict $ext  $r req/s x 100,000 = $(awk -v r="$r" 'BEGIN {printf "%.0f", r * 100000}') loans/s"
done
