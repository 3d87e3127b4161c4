#!/usr/bin/env bash
# Soak test of `loanrisk serve`: DURATION seconds of mixed load with wrk (Debian's) against a server started
# here, its RSS (/proc/PID/status VmRSS) and open fds (/proc/PID/fd) sampled every few seconds. Fails (exit 1)
# on any wrk socket error or non-2xx response, RSS growth of 5% or more from the end of warm-up to the end,
# or fd growth (under load: end vs end of warm-up; idle: after the load vs before it).
#   bench/load/soak.sh [BINARY] [DATA.csv]     (defaults: build/release/loanrisk, ../shared/data/credit_risk_dataset.csv)
# Settings (environment): DURATION seconds (300), WARMUP seconds (10% of DURATION, at least 10), SAMPLE_EVERY
# seconds (5), CONNECTIONS (32), BATCH_EVERY (20: one request in 20 is a /batch_predict, JSON/NDJSON/CSV in
# turn, the rest /predict), LOANS_PER_BATCH (1000), RSS_GROWTH_MAX_PCT (5), KEEP=1 keeps the work directory.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/build/release/loanrisk}
data=${2:-$root/../shared/data/credit_risk_dataset.csv}
duration=${DURATION:-300}
warmup=${WARMUP:-$(( duration / 10 > 10 ? duration / 10 : 10 ))}
interval=${SAMPLE_EVERY:-5}
conns=${CONNECTIONS:-32}
batch_every=${BATCH_EVERY:-20}
loans=${LOANS_PER_BATCH:-1000}
rss_max_pct=${RSS_GROWTH_MAX_PCT:-5}

for tool in wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "soak: $tool is not installed" >&2; exit 2; }
done
[[ -x $bin ]] || { echo "soak: $bin is not an executable" >&2; exit 2; }
[[ -f $data ]] || { echo "soak: data set $data not found" >&2; exit 2; }
(( warmup + interval < duration )) || { echo "soak: DURATION $duration too short for WARMUP $warmup" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/loanrisk-soak.XXXXXX")
server= wrk_pid=
cleanup() {
    [[ -n $wrk_pid ]] && kill "$wrk_pid" 2>/dev/null
    if [[ -n $server ]]; then
        kill -TERM "$server" 2>/dev/null
        wait "$server" 2>/dev/null || true
    fi
    if [[ ${KEEP:-0} == 1 ]]; then echo "soak: work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

python3 "$here/make_bodies.py" "$data" "$work/bodies" "$loans" >/dev/null
"$bin" serve --model "$root/models/credit_risk_pd.json" --port 0 --host 127.0.0.1 2>"$work/server.log" &
server=$!
port=
for _ in $(seq 300); do
    port=$(grep -oE 'https?://[^ ]+:[0-9]+ ' "$work/server.log" | head -1 | grep -oE '[0-9]+ $' | tr -d ' ') || true
    [[ -n $port ]] && break
    kill -0 "$server" 2>/dev/null || { echo "soak: server exited:" >&2; cat "$work/server.log" >&2; exit 1; }
    sleep 0.1
done
[[ -n $port ]] || { echo "soak: server did not start" >&2; cat "$work/server.log" >&2; exit 1; }
url=http://127.0.0.1:$port
for _ in $(seq 100); do curl -sf "$url/ready" >/dev/null 2>&1 && break; sleep 0.1; done
head -1 "$work/server.log"

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$server/status"; }
fd_count() { ls "/proc/$server/fd" | wc -l; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

fds_before=$(fd_count)
rss_before=$(rss_kib)
echo "soak: ${duration}s of mixed load on $url: wrk -t1 -c$conns, 1 in $batch_every requests a /batch_predict of" \
     "$loans loans (JSON, NDJSON, CSV in turn), the rest /predict; warm-up ${warmup}s, samples every ${interval}s"

# Sample times: every $interval s, plus the end of warm-up and one second before the end (still under load).
mapfile -t times < <( { seq 0 "$interval" $(( duration - 1 )); echo "$warmup"; echo $(( duration - 1 )); } | sort -n -u)
SOAK_BODIES=$work/bodies BATCH_EVERY=$batch_every \
    wrk -t1 -c"$conns" -d"${duration}s" --timeout 10s --latency -s "$here/soak.lua" "$url" >"$work/wrk.out" 2>&1 &
wrk_pid=$!
t0=$(now_ms)
: >"$work/samples"
for t in "${times[@]}"; do
    wait_ms=$(( t * 1000 - ($(now_ms) - t0) ))
    (( wait_ms > 0 )) && sleep "$(awk -v m="$wait_ms" 'BEGIN {printf "%.3f", m / 1000}')"
    kill -0 "$server" 2>/dev/null || break
    echo "$t $(rss_kib) $(fd_count)" >>"$work/samples"
done
wrk_status=0
wait "$wrk_pid" || wrk_status=$?
wrk_pid=
sleep 1  # the load's connections close
alive=1
kill -0 "$server" 2>/dev/null || alive=0
fds_after=-1 rss_after=-1 health=000
if (( alive )); then
    fds_after=$(fd_count)
    rss_after=$(rss_kib)
    health=$(curl -s -o /dev/null -w '%{http_code}' "$url/health" || true)
fi

echo
cat "$work/wrk.out"
echo
printf '%8s %10s %6s\n' "t (s)" "RSS (MiB)" "fds"
printf '%8s %10.1f %6d  %s\n' "before" "$(awk -v k="$rss_before" 'BEGIN {print k / 1024}')" "$fds_before" "(idle)"
while read -r t rss fds; do
    mark=""
    (( t == warmup )) && mark="<- end of warm-up"
    (( t == duration - 1 )) && mark="<- end"
    printf '%8s %10.1f %6d  %s\n' "$t" "$(awk -v k="$rss" 'BEGIN {print k / 1024}')" "$fds" "$mark"
done <"$work/samples"
(( alive )) && printf '%8s %10.1f %6d  %s\n' "after" "$(awk -v k="$rss_after" 'BEGIN {print k / 1024}')" "$fds_after" "(idle, 1 s after the load)"
echo

fail=0
check() {  # check OK|FAIL message
    if [[ $1 == OK ]]; then echo "ok    $2"; else echo "FAIL  $2"; fail=1; fi
}
verdict() { if eval "$1"; then echo OK; else echo FAIL; fi; }

requests=$(awk '/requests in/ {print $1}' "$work/wrk.out")
rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.out")
sock_errors=$(awk '/Socket errors/ {for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) s += $i} END {print s + 0}' \
              "$work/wrk.out")
non2xx_wrk=$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$work/wrk.out")
read -r responses non2xx_lua < <(awk '/^soak.lua: responses/ {print $3, $5}' "$work/wrk.out") || true
first_bad=$(awk '/^soak.lua: responses/ {print $7}' "$work/wrk.out")
sock_errors=${sock_errors:-0} non2xx_wrk=${non2xx_wrk:-0} requests=${requests:-0} responses=${responses:-0}
non2xx_lua=${non2xx_lua:--1}

check "$(verdict "(( wrk_status == 0 && requests > 0 ))")" "wrk ran: exit $wrk_status, $requests requests ($rps req/s)"
check "$(verdict "(( sock_errors == 0 ))")" "socket errors (connect, read, write, timeout): $sock_errors"
check "$(verdict "(( non2xx_wrk == 0 && non2xx_lua == 0 ))")" \
    "non-2xx responses: $non2xx_lua counted by soak.lua (first status ${first_bad:-?}) of $responses, $non2xx_wrk by wrk"
check "$(verdict "(( alive ))")" "server alive after the load"
check "$(verdict "[[ $health == 200 ]]")" "GET /health after the load: $health"
read -r rss_warm fds_warm < <(awk -v t="$warmup" '$1 == t {print $2, $3}' "$work/samples") || true
read -r rss_end fds_end < <(awk -v t=$(( duration - 1 )) '$1 == t {print $2, $3}' "$work/samples") || true
if [[ -n ${rss_warm:-} && -n ${rss_end:-} ]]; then
    growth=$(awk -v a="$rss_warm" -v b="$rss_end" 'BEGIN {printf "%.2f", (b - a) * 100 / a}')
    check "$(verdict "awk -v g=$growth -v m=$rss_max_pct 'BEGIN {exit !(g < m)}'")" \
        "RSS end of warm-up -> end: $(( rss_warm / 1024 )) -> $(( rss_end / 1024 )) MiB ($growth%, limit < $rss_max_pct%)"
    check "$(verdict "(( fds_end <= fds_warm ))")" "open fds under load, end of warm-up -> end: $fds_warm -> $fds_end"
else
    check FAIL "missing samples at the end of warm-up or at the end (server gone?)"
fi
check "$(verdict "(( fds_after >= 0 && fds_after <= fds_before ))")" "open fds idle, before -> after the load: $fds_before -> $fds_after"
if grep -v '^loanrisk serve: http' "$work/server.log" | grep -q .; then
    echo "server log:"
    tail -20 "$work/server.log"
fi
if (( fail )); then echo "soak: FAILED"; exit 1; fi
echo "soak: passed"
