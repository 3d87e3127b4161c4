#!/usr/bin/env bash
# Every subcommand has --help; usage mistakes give one clear line and exit code 2.
set -euo pipefail
bin=$1
fail() { echo "FAIL: $*"; exit 1; }

for cmd in serve score train evaluate bench; do
    "$bin" "$cmd" --help | grep -q "usage: loanrisk $cmd" || fail "$cmd --help"
done
"$bin" --help | grep -q "commands:" || fail "--help"
"$bin" --version | grep -q "^loanrisk " || fail "--version"
# The run-time choices: the kernel's instruction set and the CSV number parser's.
"$bin" --version | grep -Eq "^kernel: (avx512|avx2|sse4_2|sse2) " || fail "--version names the kernel"
"$bin" serve --version | grep -Eq "^csv numbers: (avx512|scalar)$" || fail "serve --version names the CSV number parser"

expect() {  # expected-exit expected-stderr args...
    local code=$1 text=$2; shift 2
    local err rc=0
    err=$("$bin" "$@" 2>&1 >/dev/null) || rc=$?
    [[ $rc == "$code" ]] || fail "'$*' exited $rc, expected $code ($err)"
    [[ $err == *"$text"* ]] || fail "'$*' said '$err', expected '$text'"
}
expect 2 "unknown command 'frobnicate'" frobnicate
expect 2 "loanrisk train: unknown option --bogus (see loanrisk train --help)" train --bogus
expect 2 "loanrisk train: --data is required" train
expect 2 "loanrisk train: --bins expects a number, got 'many'" train --data x.csv --bins many
expect 2 "loanrisk evaluate: --model and --data are required" evaluate --model m.json
expect 2 "loanrisk train: --bins must be a whole number between 2 and 1000" train --data x.csv --bins 1e30
expect 2 "loanrisk train: --bins must be a whole number between 2 and 1000" train --data x.csv --bins 2.5
expect 2 "loanrisk bench: --threads must be a whole number between 1 and 1024" bench --threads -1
expect 2 "loanrisk score: --threads must be a whole number between 0 and 1024" score --threads 2.7
expect 2 "loanrisk score: --block-bytes must be a whole number between 1024 and 1e+09" score --block-bytes 1500.5
expect 2 "loanrisk bench: --loans must be a whole number between 1 and 1e+09" bench --loans 1.5
expect 2 "loanrisk serve: --release-memory-after must be from 0 to 86400 seconds" serve --release-memory-after -1
expect 2 "loanrisk serve: --idle-timeout must be between 0 and 86400 seconds" serve --idle-timeout 0
expect 2 "loanrisk score: --input is given 2 times: score reads one input (several are for --merge-summaries)" score --input a.csv --input b.csv
expect 1 "loanrisk evaluate: /nonexistent.json: cannot open model file" evaluate --model /nonexistent.json --data x.csv
echo PASS
