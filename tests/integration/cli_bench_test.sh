#!/usr/bin/env bash
# loanrisk bench: every stage and instruction set gets a row whose ns/loan is 1e9 over its loans/s; sizes the
# machine cannot hold are refused before generating; without --model, the installed model is found.
set -euo pipefail
bin=$1 src=$2
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
model=$src/models/credit_risk_pd.json

out=$("$bin" bench --model "$model" --loans 3001 --threads 2 2>/dev/null)
echo "$out" | grep -Eq "JSON structure: (icelake|haswell|westmere|fallback)" || fail "the header names the JSON structure finder: $out"
for stage in "decode JSON" "decode NDJSON" "decode CSV"; do
    for on in "1 thread" "2 threads"; do
        echo "$out" | grep -q "^$stage, $on " || fail "no row '$stage, $on'"
    done
done
kernels=$("$bin" --version | sed -n 's/^kernel: [a-z0-9_]* (available: \(.*\))$/\1/p')
[[ -n $kernels ]] || fail "--version lists the available kernels"
for k in $kernels; do
    echo "$out" | grep -q "^score $k, 1 thread " || fail "no score row for $k"
done
echo "$out" | grep -q "^encode JSON, every core " || fail "no encode row"
# ns/loan is 1e9 / loans/s on every row (to the digits printed).
echo "$out" | awk '/^(decode|score|encode) / {
    rate = $(NF - 2); ns = $(NF - 1)
    if (rate <= 0 || ns <= 0 || (1e9 / rate) / ns > 1.01 || (1e9 / rate) / ns < 0.99) { print "row: " $0; bad = 1 }
} END { exit bad }' || fail "ns/loan disagrees with loans/s"

# One thread: no multi-threaded rows (they would repeat the single-thread ones).
one=$("$bin" bench --model "$model" --loans 500 --threads 1 2>/dev/null)
echo "$one" | grep -q "threads" && fail "--threads 1 printed a multi-threaded row: $one"

# More loans than memory holds: refused at once, naming the need.
rc=0
err=$("$bin" bench --model "$model" --loans 1000000000 2>&1 >/dev/null) || rc=$?
[[ $rc == 1 && $err == *"needs about"*"GB of memory"* ]] || fail "1e9 loans: exit $rc, '$err'"

# Without --model, from outside a checkout: the model installed beside the binary (<prefix>/share/loanrisk/models).
mkdir -p "$tmp/prefix/bin" "$tmp/prefix/share/loanrisk/models" "$tmp/elsewhere"
cp "$bin" "$tmp/prefix/bin/loanrisk"
(cd "$tmp/elsewhere" && "$tmp/prefix/bin/loanrisk" bench --loans 50 2>/dev/null) && fail "ran with no model anywhere"
err=$(cd "$tmp/elsewhere" && "$tmp/prefix/bin/loanrisk" bench --loans 50 2>&1 >/dev/null) || true
[[ $err == *"models/credit_risk_pd.json: cannot open model file (no --model given)"* ]] || fail "no model: '$err'"
cp "$model" "$tmp/prefix/share/loanrisk/models/"
(cd "$tmp/elsewhere" && "$tmp/prefix/bin/loanrisk" bench --loans 50 2>/dev/null) | grep -q "^score " ||
    fail "the installed model was not found"
echo PASS
