#!/usr/bin/env bash
# The Debian package end to end on this machine: cpack -G DEB, dpkg -i, the files and maintainer scripts,
# the INSTALLED binary serving /health, then dpkg -r and dpkg -P leaving nothing behind.
# usage: deb_package_test.sh BUILD_DIR [CPACK]   (root and dpkg required, else skipped with 77)
set -euo pipefail
build=$1
cpack=${2:-cpack}
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export DEBIAN_FRONTEND=noninteractive

skip() { echo "SKIP: $*"; exit 77; }
# dpkg, waiting (up to 5 minutes) while apt or dpkg elsewhere on the machine holds its lock.
dpkg_() {
    local out
    for _ in $(seq 300); do
        out=$(dpkg "$@" 2>&1) && { printf '%s\n' "$out"; return 0; }
        grep -q "lock" <<<"$out" || { printf '%s\n' "$out"; return 1; }
        sleep 1
    done
    printf '%s\n' "$out"
    return 1
}
fail() { echo "FAIL: $*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || skip "installing a .deb needs root"
if ! command -v dpkg >/dev/null || ! command -v dpkg-deb >/dev/null; then skip "dpkg is missing"; fi
command -v curl >/dev/null || fail "curl is missing (tools/dev deps installs it)"
if dpkg-query -W -f='${Status}' loanrisk 2>/dev/null | grep -q "ok installed"; then
    skip "a loanrisk package is already installed here; not replacing it"
fi

tmp=$(mktemp -d /tmp/loanrisk-deb.XXXXXX)
user_existed=0
getent passwd loanrisk >/dev/null && user_existed=1
server_pid=
cleanup() {
    [[ -n $server_pid ]] && kill -9 "$server_pid" 2>/dev/null || true
    if dpkg-query -W -f='${Status}' loanrisk 2>/dev/null | grep -qv "not-installed"; then
        dpkg_ -P loanrisk >/dev/null 2>&1 || true
    fi
    # The package keeps its system user after purge (Debian's habit); the test leaves the machine as it found it.
    if ((!user_existed)) && getent passwd loanrisk >/dev/null; then
        userdel loanrisk 2>/dev/null || true
        getent group loanrisk >/dev/null && groupdel loanrisk 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

echo "== cpack -G DEB"
(cd "$build" && "$cpack" -G DEB -B "$tmp/out" --config "$build/CPackConfig.cmake" >"$tmp/cpack.log" 2>&1) ||
    { cat "$tmp/cpack.log" >&2; fail "cpack failed"; }
debs=("$tmp"/out/loanrisk_*.deb)
[[ ${#debs[@]} == 1 && -f ${debs[0]} ]] || fail "expected one loanrisk_*.deb, got: ${debs[*]}"
deb=${debs[0]}
echo "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"

echo "== control fields"
dpkg-deb -f "$deb" Package Version Architecture Depends
depends=$(dpkg-deb -f "$deb" Depends)
depends_names=$(tr ',' '\n' <<<"$depends" | awk '{print $1}')
for lib in libc6 libstdc++6 libsimdjson14 libssl3 passwd; do
    grep -qxF "$lib" <<<"$depends_names" || fail "Depends lacks $lib: $depends"
done
dpkg-deb --ctrl-tarfile "$deb" | tar -t | sort >"$tmp/control.txt"
for f in ./conffiles ./postinst ./prerm ./postrm; do grep -qx "$f" "$tmp/control.txt" || fail "control lacks $f"; done
dpkg-deb -I "$deb" conffiles | grep -qx /etc/default/loanrisk || fail "/etc/default/loanrisk is not a conffile"

echo "== contents: the binary, the model, the unit, the settings; nothing else"
expected=$(printf '%s\n' ./etc/default/loanrisk ./usr/bin/loanrisk ./usr/lib/systemd/system/loanrisk.service \
                          ./usr/share/loanrisk/models/credit_risk_pd.json | sort)
actual=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $NF}' | sort)
[[ $actual == "$expected" ]] || fail "unexpected package contents:
$actual"

echo "== dpkg -i"
dpkg_ -i "$deb" >"$tmp/dpkg-i.log" 2>&1 || { cat "$tmp/dpkg-i.log" >&2; fail "dpkg -i failed"; }
for f in /usr/bin/loanrisk /usr/share/loanrisk/models/credit_risk_pd.json /usr/lib/systemd/system/loanrisk.service \
         /etc/default/loanrisk; do
    dpkg -L loanrisk | grep -qx "$f" || fail "dpkg -L lacks $f"
    [[ -f $f ]] || fail "$f is not installed"
done
[[ -x /usr/bin/loanrisk ]] || fail "/usr/bin/loanrisk is not executable"
[[ $(stat -c '%a %U' /etc/default/loanrisk) == "640 root" ]] ||
    fail "/etc/default/loanrisk is $(stat -c '%a %U' /etc/default/loanrisk), expected 640 root"
getent passwd loanrisk | grep -q ':/usr/sbin/nologin$' || fail "postinst did not create the loanrisk system user"
(( $(id -u loanrisk) < 1000 )) || fail "loanrisk is not a system user (uid $(id -u loanrisk))"
/usr/bin/loanrisk serve --help | grep -q -- '--approve-max' || fail "loanrisk serve --help does not document --approve-max"

# Every setting in /etc/default/loanrisk is a flag ExecStart passes, and the file parses as the unit reads it.
for v in LOANRISK_PORT LOANRISK_THREADS LOANRISK_MODEL LOANRISK_APPROVE_MAX LOANRISK_REJECT_MIN LOANRISK_LGD; do
    grep -q "^$v=" /etc/default/loanrisk || fail "/etc/default/loanrisk lacks $v"
    grep -q "\${$v}" /usr/lib/systemd/system/loanrisk.service || fail "ExecStart does not pass $v"
done
grep -q '^#LOANRISK_ADMIN_TOKEN=' /etc/default/loanrisk || fail "LOANRISK_ADMIN_TOKEN should be there, commented out"

if command -v systemd-analyze >/dev/null; then
    echo "== systemd-analyze verify"
    # Only messages about loanrisk.service count (an unbooted container may report on other units).
    systemd-analyze verify /usr/lib/systemd/system/loanrisk.service >"$tmp/verify.log" 2>&1 || true
    cat "$tmp/verify.log"
    if grep -q '^loanrisk.service:\|/loanrisk.service:' "$tmp/verify.log"; then fail "systemd-analyze verify: the unit has problems"; fi
    if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
        systemd-analyze security --offline=yes /usr/lib/systemd/system/loanrisk.service 2>/dev/null |
            grep -i 'overall exposure' || true
    fi
else
    echo "systemd-analyze not found: unit verification skipped"
fi

echo "== the installed binary, as the loanrisk user, with the unit's ExecStart and the packaged settings"
# systemd is not running here: expand ExecStart as systemd would (${VAR}: one argument, $VAR: split on
# spaces) from the unit's Environment= defaults and /etc/default/loanrisk, on a free port on loopback.
unit_key() {  # the value of KEY= in the unit, continuation lines joined
    awk -v key="$1=" 'index($0, key) == 1 { on = 1; $0 = substr($0, length(key) + 1) }
                      on { cont = sub(/\\$/, ""); printf "%s ", $0; if (!cont) exit }' \
        /usr/lib/systemd/system/loanrisk.service
}
read -ra defaults <<<"$(unit_key Environment)"
for kv in "${defaults[@]}"; do export "${kv?}"; done
set -a
# shellcheck disable=SC1091
. /etc/default/loanrisk
set +a
# shellcheck disable=SC2034  # read below through ${!name}
LOANRISK_HOST=127.0.0.1 LOANRISK_PORT=0 LOANRISK_THREADS=1
read -ra words <<<"$(unit_key ExecStart)"
cmd=()
for w in "${words[@]}"; do
    if [[ $w =~ ^\$\{([A-Z_]+)\}$ ]]; then
        cmd+=("${!BASH_REMATCH[1]}")
    elif [[ $w =~ ^\$([A-Z_]+)$ ]]; then
        read -ra split <<<"${!BASH_REMATCH[1]}"
        cmd+=("${split[@]}")
    else
        cmd+=("$w")
    fi
done
[[ ${cmd[0]} == /usr/bin/loanrisk && ${cmd[1]} == serve ]] || fail "ExecStart is not /usr/bin/loanrisk serve: ${cmd[*]}"
[[ " ${cmd[*]} " == *" --model /usr/share/loanrisk/models/credit_risk_pd.json "* ]] || fail "ExecStart model: ${cmd[*]}"
echo "${cmd[*]}"
run_as=()
command -v setpriv >/dev/null && run_as=(setpriv --reuid=loanrisk --regid=loanrisk --clear-groups)
"${run_as[@]}" "${cmd[@]}" 2>"$tmp/serve.log" &
server_pid=$!
port=
for _ in $(seq 100); do
    port=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\) .*|\1|p' "$tmp/serve.log" | head -1)
    [[ -n $port ]] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/serve.log" >&2; fail "the installed server exited at start-up"; }
    sleep 0.1
done
[[ -n $port ]] || { cat "$tmp/serve.log" >&2; fail "no start-up line from the installed server"; }
head -1 "$tmp/serve.log"
code=$(curl -sS -o "$tmp/health.json" -w '%{http_code}' "http://127.0.0.1:$port/health")
[[ $code == 200 ]] || fail "GET /health: $code $(cat "$tmp/health.json")"
grep -q '"status":"ok"' "$tmp/health.json" || fail "GET /health body: $(cat "$tmp/health.json")"
echo "GET /health -> $code $(cat "$tmp/health.json")"
code=$(curl -sS -o "$tmp/predict.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    -d '{"application_id":"A-1","data":{"person_age":22,"person_income":59000,"person_home_ownership":"RENT",
         "person_emp_length":3,"loan_intent":"PERSONAL","loan_grade":"D","loan_amnt":35000,"loan_int_rate":16.02,
         "loan_percent_income":0.59,"cb_person_default_on_file":"Y","cb_person_cred_hist_length":3}}' \
    "http://127.0.0.1:$port/predict")
if [[ $code != 200 ]] || ! grep -q '"decision":"REJECT"' "$tmp/predict.json"; then
    fail "POST /predict: $code $(cat "$tmp/predict.json")"
fi
# ExecReload: SIGHUP reloads the model and the server keeps serving.
kill -HUP "$server_pid"
for _ in $(seq 50); do grep -q "SIGHUP: reloaded" "$tmp/serve.log" && break; sleep 0.1; done
grep -q "SIGHUP: reloaded" "$tmp/serve.log" || { cat "$tmp/serve.log" >&2; fail "SIGHUP did not reload the model"; }
[[ $(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health") == 200 ]] || fail "/health after SIGHUP"
# systemctl stop: SIGTERM drains and exits 0.
kill -TERM "$server_pid"
rc=0
wait "$server_pid" || rc=$?
server_pid=
[[ $rc == 0 ]] || { cat "$tmp/serve.log" >&2; fail "the server exited $rc after SIGTERM"; }
echo "SIGHUP reloaded, SIGTERM drained (exit 0)"

echo "== dpkg -r, dpkg -P"
dpkg_ -r loanrisk >"$tmp/dpkg-r.log" 2>&1 || { cat "$tmp/dpkg-r.log" >&2; fail "dpkg -r failed"; }
[[ ! -e /usr/bin/loanrisk ]] || fail "/usr/bin/loanrisk is still there after dpkg -r"
[[ ! -e /usr/lib/systemd/system/loanrisk.service ]] || fail "the unit is still there after dpkg -r"
[[ -e /etc/default/loanrisk ]] || fail "dpkg -r removed the conffile (only purge should)"
dpkg_ -P loanrisk >"$tmp/dpkg-p.log" 2>&1 || { cat "$tmp/dpkg-p.log" >&2; fail "dpkg -P failed"; }
[[ ! -e /etc/default/loanrisk ]] || fail "/etc/default/loanrisk is still there after dpkg -P"
[[ ! -e /usr/share/loanrisk ]] || fail "/usr/share/loanrisk is still there after dpkg -P"
if dpkg-query -W -f='${Status}' loanrisk 2>/dev/null | grep -q "ok installed"; then fail "still installed"; fi
echo "PASS"
