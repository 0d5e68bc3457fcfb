#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# fluxlab serve, the workbench console:
#   - access: a non-loopback --listen without a token is refused; with a
#     token, a request without it gets 401 and one with it 200; a POST
#     without "X-Fluxlab: 1" (what a cross-site form sends) gets 403; a
#     Host header that is not the listen address gets 421 (DNS rebinding);
#   - in headless Chromium (Debian's chromium, driven by playwright-core,
#     tests/browser/console.mjs): the palette lists the scenarios, a broken
#     scenario shows file:line: message, check.yaml starts, a second start
#     is refused, the live topology turns the SYN flood's link red, the
#     finished run shows 0 misrouted with its expectations held, its report
#     and the list of runs; a dual-stack run (te-100-some-20ms-ecs-v6,
#     shortened) shows its figures per family live, in its summary and in
#     the comparison with the first run, and the links that carry IPv6;
#     screenshots in this test's log directory;
#   - stopping the console stops nothing it did not start, leaves no
#     namespace behind and exits 0.
#
# Env: FLUXGATED (see lib.sh; the runs use it), FLUXLAB (default:
# build/fluxlab), CHROMIUM (default /usr/bin/chromium).

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip nft unbound lighttpd nmap kdig openssl python3 curl node
FLUXLAB=${FLUXLAB:-$FG_REPO/build/fluxlab}
[ -x "$FLUXLAB" ] || die "fluxlab not found at $FLUXLAB (build it: make)"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || die "chromium not installed (make deps)"
[ -f "$FG_REPO/tests/browser/node_modules/playwright-core/package.json" ] ||
	die "playwright-core not installed in tests/browser (make deps)"
export FLUXGATED
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}
export FLUXCTL

# start_host LABEL CMD...: like lib.sh's start_bg, in the host's own
# namespace (fluxlab serve needs none; its runs make their own), so the
# cleanup trap stops it by PID
start_host() {
	local label=$1; shift
	"$@" >"$FG_WORK/$label.log" 2>&1 </dev/null &
	BG_PID=$!
	FG_PIDS+=("$BG_PID")
	FG_PID_NAME[$BG_PID]=$label
}

# a free port on loopback (the console binds it; nothing else is reached)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---------------------------------------------------------------- access
out=$("$FLUXLAB" serve --listen 0.0.0.0@1 --runs "$FG_WORK/r0" 2>&1); rc=$?
assert_eq "non-loopback --listen without a token: exit 2" 2 "$rc"
assert_match "non-loopback --listen without a token: says why" 'not a loopback address.*give --token' "$out"
out=$("$FLUXLAB" serve --token short --runs "$FG_WORK/r0" 2>&1); rc=$?
assert_eq "a token under 16 characters: exit 2" 2 "$rc"

PORT=$(free_port)
TOKEN=fluxlab-test-token-0123456789
start_host serve-token "$FLUXLAB" serve --listen "127.0.0.1@$PORT" --token "$TOKEN" --runs "$FG_WORK/runs-token"
TPID=$BG_PID
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/status")
assert_eq "with --token: a request without it gets 401" 401 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${TOKEN}x" "http://127.0.0.1:$PORT/api/status")
assert_eq "with --token: a wrong token gets 401" 401 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/status")
assert_eq "with --token: the right token gets 200" 200 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -X POST "http://127.0.0.1:$PORT/api/start?name=check")
assert_eq "a POST without X-Fluxlab: 1 (a cross-site form) gets 403" 403 "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -H "Host: attacker.example:$PORT" "http://127.0.0.1:$PORT/api/status")
assert_eq "a foreign Host header (DNS rebinding) gets 421" 421 "$code"
assert_eq "none of the refused requests started a run" "" "$(ls "$FG_WORK/runs-token" 2>/dev/null)"
stop_bg "$TPID"

# ---------------------------------------------------------------- browser
PORT=$(free_port)
RUNS="$FG_WORK/runs"
start_host serve "$FLUXLAB" serve --listen "127.0.0.1@$PORT" --runs "$RUNS"
SPID=$BG_PID
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
ART="$FG_WORK/console-screenshots"
mkdir -p "$ART"
out=$(cd "$FG_REPO/tests/browser" && timeout -k 10 600 node console.mjs "http://127.0.0.1:$PORT/" "$ART" 2>&1)
rc=$?
while IFS= read -r line; do
	case $line in
	"PASS "*) ok "browser: ${line#PASS }" ;;
	"FAIL "*) fail "browser: ${line#FAIL }" ;;
	*) log "$line" ;;
	esac
done <<<"$out"
assert_eq "the browser test ran to its end" 0 "$rc"
for shot in console-validation-error console-live-flood console-report console-families-live console-families-compare; do
	check "screenshot $shot.png saved" test -s "$ART/$shot.png"
done
run=$(ls "$RUNS" | head -n 1)   # the first run (check.yaml)
check "the run's result, report and live samples are kept in runs/" \
	test -s "$RUNS/$run/result.json" -a -s "$RUNS/$run/report.html" -a -s "$RUNS/$run/live.jsonl"
stop_bg "$SPID"
assert_eq "fluxlab serve exits 0 on SIGTERM" 0 "$STOP_RC"
# each run names its namespaces in its output ("namespaces flPID-*")
for run in $(ls "$RUNS"); do
	prefix=$(grep -o 'namespaces fl[0-9]*-' "$RUNS/$run/output.txt" | head -n 1 | sed 's/namespaces //')
	assert_match "run $run: its output names its namespaces" '^fl[0-9]+-$' "$prefix"
	assert_eq "run $run: no namespace left behind" "" "$(ip netns list | grep "^$prefix" || true)"
done
finish
