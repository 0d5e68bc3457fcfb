# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
#
# Shared helpers for the network-namespace scenarios (tests/netns/*.sh).
# Source it first thing:   . "$(dirname "$0")/lib.sh"
#
# What it gives a scenario:
#   - namespaces named "fg<pid>-<name>" (unique per run), created with
#     ns_add and deleted on exit; only the namespaces this script created and
#     only the processes it started are ever touched (by PID);
#   - veth_link to wire two namespaces (IPv4 + optional IPv6, no DAD wait);
#   - start_bg / stop_bg for helper daemons (knotd, unbound, ...);
#   - start_fluxgated / stop_fluxgated: the daemon under valgrind memcheck
#     when VALGRIND=1, whose verdict is checked at stop;
#   - bounded waits (wait_port, wait_dns, wait_until, wait_grep, wait_output);
#   - checks that count passes and failures (ok, fail, check, assert_eq,
#     assert_match, assert_nomatch) and finish, which prints the scenario
#     summary and exits non-zero when anything failed.
#
# Environment:
#   FLUXGATED   path to the daemon (default: build/fluxgated of this repo)
#   VALGRIND=1  run the daemon under valgrind memcheck
#   FG_LOGDIR   directory for logs and generated configs (tests/run.sh sets
#               it); when unset a temporary directory is used and removed on
#               success.
#   FG_VERBOSE=1  also print passing checks' details

set -u
set -o pipefail

FG_TEST_NAME=${FG_TEST_NAME:-$(basename "${0%.sh}")}
FG_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FLUXGATED=${FLUXGATED:-$FG_REPO/build/fluxgated}
VALGRIND=${VALGRIND:-0}
FG_NS_PREFIX=${FG_NS_PREFIX:-fg$$}

if [ -n "${FG_LOGDIR:-}" ]; then
	mkdir -p "$FG_LOGDIR"
	FG_WORK=$(cd "$FG_LOGDIR" && pwd)
	FG_WORK_TEMP=0
else
	FG_WORK=$(mktemp -d "/tmp/fg-$FG_TEST_NAME.XXXXXX")
	FG_WORK_TEMP=1
fi

FG_PASSED=0
FG_FAILED=0
FG_NAMESPACES=()
FG_PIDS=()
declare -A FG_PID_NAME=()
FG_FLUXGATED_PID=""
FG_FLUXGATED_LOG=""
FG_FINISHED=0

log()  { printf '[%s] %s\n' "$FG_TEST_NAME" "$*"; }
die()  { printf '[%s] FATAL: %s\n' "$FG_TEST_NAME" "$*" >&2; FG_FAILED=$((FG_FAILED + 1)); exit 1; }

need_root() {
	[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
}

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || die "missing command '$c' (run: make deps)"
	done
}

# ---------------------------------------------------------------- checks

ok() {
	FG_PASSED=$((FG_PASSED + 1))
	printf 'ok   - %s\n' "$1"
}

# fail NAME [DETAIL...]
fail() {
	local name=$1; shift
	FG_FAILED=$((FG_FAILED + 1))
	printf 'FAIL - %s\n' "$name"
	if [ $# -gt 0 ]; then
		printf '%s\n' "$@" | sed 's/^/       | /'
	fi
}

# check NAME CMD...: passes when CMD exits 0; its output is shown on failure.
check() {
	local name=$1; shift
	local out rc
	out=$("$@" 2>&1); rc=$?
	if [ $rc -eq 0 ]; then
		ok "$name"
	else
		fail "$name" "command: $*" "exit: $rc" "$out"
	fi
	return 0
}

# assert_eq NAME EXPECTED ACTUAL
assert_eq() {
	if [ "$2" == "$3" ]; then
		ok "$1"
	else
		fail "$1" "expected: $2" "actual:   $3"
	fi
}

# assert_match NAME ERE TEXT: TEXT has a line matching the extended regex.
# (A here-string, not `printf | grep -q`: grep -q exits at the first match,
# printf then dies of SIGPIPE, and under pipefail a match read as a miss
# whenever the text was longer than the pipe buffer.)
assert_match() {
	if grep -Eq -- "$2" <<<"$3"; then
		ok "$1"
	else
		fail "$1" "no line matches /$2/ in:" "$3"
	fi
}

# assert_nomatch NAME ERE TEXT: no line of TEXT matches.
assert_nomatch() {
	if grep -Eq -- "$2" <<<"$3"; then
		fail "$1" "unexpected line matching /$2/ in:" "$3"
	else
		ok "$1"
	fi
}

# assert_count NAME N ERE TEXT: exactly N lines of TEXT match.
assert_count() {
	local n
	n=$(printf '%s\n' "$4" | grep -Ec -- "$3")
	if [ "$n" -eq "$2" ]; then
		ok "$1"
	else
		fail "$1" "expected $2 lines matching /$3/, got $n in:" "$4"
	fi
}

# ---------------------------------------------------------------- namespaces

# ns NAME: full name of the scenario's namespace NAME.
ns() { printf '%s-%s' "$FG_NS_PREFIX" "$1"; }

# ns_add NAME...: create namespaces with loopback up.
ns_add() {
	local n full
	for n in "$@"; do
		full=$(ns "$n")
		ip netns add "$full" || die "cannot create namespace $full"
		FG_NAMESPACES+=("$full")
		ip -n "$full" link set lo up
		# no IPv6 duplicate address detection: addresses usable at once
		ip netns exec "$full" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 >/dev/null 2>&1 || true
	done
}

# nsx NAME CMD...: run CMD inside namespace NAME.
nsx() {
	local n=$1; shift
	ip netns exec "$(ns "$n")" "$@"
}

# veth_link NS1 IF1 ADDRS1 NS2 IF2 ADDRS2
# ADDRS is a comma-separated list of CIDR addresses ("10.53.0.1/24,fd53::1/64").
veth_link() {
	local ns1 if1=$2 a1=$3 ns2 if2=$5 a2=$6 a
	ns1=$(ns "$1"); ns2=$(ns "$4")
	ip link add "$if1" netns "$ns1" type veth peer name "$if2" netns "$ns2" \
		|| die "cannot create veth $1:$if1 <-> $4:$if2"
	for a in ${a1//,/ }; do ip -n "$ns1" addr add "$a" dev "$if1" nodad 2>/dev/null || ip -n "$ns1" addr add "$a" dev "$if1"; done
	for a in ${a2//,/ }; do ip -n "$ns2" addr add "$a" dev "$if2" nodad 2>/dev/null || ip -n "$ns2" addr add "$a" dev "$if2"; done
	ip -n "$ns1" link set "$if1" up
	ip -n "$ns2" link set "$if2" up
}

# addr_add NS IF CIDR: one more address on an interface.
addr_add() {
	ip -n "$(ns "$1")" addr add "$3" dev "$2" nodad 2>/dev/null || ip -n "$(ns "$1")" addr add "$3" dev "$2"
}

# ---------------------------------------------------------------- processes

# start_bg LABEL NS CMD...: start CMD in namespace NS in the background,
# output to $FG_WORK/LABEL.log. Sets BG_PID.
start_bg() {
	local label=$1 n=$2; shift 2
	ip netns exec "$(ns "$n")" "$@" >"$FG_WORK/$label.log" 2>&1 </dev/null &
	BG_PID=$!
	FG_PIDS+=("$BG_PID")
	FG_PID_NAME[$BG_PID]=$label
}

_pid_alive() { kill -0 "$1" 2>/dev/null; }

_forget_pid() {
	local p keep=()
	for p in "${FG_PIDS[@]}"; do
		[ "$p" != "$1" ] && keep+=("$p")
	done
	FG_PIDS=("${keep[@]+"${keep[@]}"}")
}

# stop_pid PID [TIMEOUT_S]: SIGTERM, wait up to TIMEOUT (default 10 s), then
# SIGKILL. Sets STOP_RC to the exit status (or 137 when killed, 255 when it
# could not be reaped).
stop_pid() {
	local pid=$1 t=${2:-10} i
	STOP_RC=255
	if _pid_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < t * 10; i++)); do
			_pid_alive "$pid" || break
			# a zombie child still answers kill -0: reap it through wait below
			if [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = "Z" ]; then break; fi
			sleep 0.1
		done
		if _pid_alive "$pid" && [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" != "Z" ]; then
			log "pid $pid (${FG_PID_NAME[$pid]:-?}) did not stop in ${t}s, killing it"
			kill -KILL "$pid" 2>/dev/null
		fi
	fi
	wait "$pid" 2>/dev/null
	STOP_RC=$?
	_forget_pid "$pid"
	return 0
}

# stop_bg PID: stop a helper started with start_bg (exit status not judged).
stop_bg() { stop_pid "$1" 10; }

# ---------------------------------------------------------------- fluxgated

# start_fluxgated NS CONF [LABEL]: start the daemon in the foreground inside
# NS, under valgrind when VALGRIND=1. Sets FG_FLUXGATED_PID. Only one daemon
# per label; stop it with stop_fluxgated. FG_FLUXGATED_ARGS: extra options
# (word-split), e.g. --test-memory-backend.
start_fluxgated() {
	local n=$1 conf=$2 label=${3:-fluxgated}
	[ -x "$FLUXGATED" ] || die "fluxgated binary not found at $FLUXGATED (build it: make)"
	FG_FLUXGATED_LOG="$FG_WORK/$label.log"
	if [ "$VALGRIND" = "1" ]; then
		need_cmd valgrind
		FG_VALGRIND_LOG="$FG_WORK/$label.valgrind.log"
		start_bg "$label" "$n" valgrind -q --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite --show-leak-kinds=definite \
			--track-fds=no --log-file="$FG_VALGRIND_LOG" \
			"$FLUXGATED" ${FG_FLUXGATED_ARGS:-} -c "$conf"
	else
		FG_VALGRIND_LOG=""
		start_bg "$label" "$n" "$FLUXGATED" ${FG_FLUXGATED_ARGS:-} -c "$conf"
	fi
	FG_FLUXGATED_PID=$BG_PID
	log "started fluxgated pid $FG_FLUXGATED_PID in $(ns "$n") (valgrind=$VALGRIND), log $FG_FLUXGATED_LOG"
}

# stop_fluxgated [CHECKNAME]: SIGTERM the daemon and check that it exits 0
# (and, under valgrind, that memcheck found no error: exit 99 otherwise).
stop_fluxgated() {
	local name=${1:-fluxgated stops cleanly on SIGTERM}
	local pid=$FG_FLUXGATED_PID t=15
	[ -n "$pid" ] || return 0
	[ "$VALGRIND" = "1" ] && t=60
	if ! _pid_alive "$pid"; then
		wait "$pid" 2>/dev/null
		STOP_RC=$?
		_forget_pid "$pid"
		fail "$name" "fluxgated had already exited with status $STOP_RC" \
			"$(tail -n 30 "$FG_FLUXGATED_LOG" 2>/dev/null)"
	else
		stop_pid "$pid" "$t"
		case $STOP_RC in
		0) ok "$name" ;;
		99) fail "$name (valgrind memcheck errors)" "$(tail -n 80 "$FG_VALGRIND_LOG" 2>/dev/null)" ;;
		*) fail "$name" "exit status $STOP_RC" "$(tail -n 30 "$FG_FLUXGATED_LOG" 2>/dev/null)" \
			"${FG_VALGRIND_LOG:+$(tail -n 40 "$FG_VALGRIND_LOG" 2>/dev/null)}" ;;
		esac
	fi
	if [ "$VALGRIND" = "1" ] && [ -s "$FG_VALGRIND_LOG" ]; then
		log "valgrind reported (see $FG_VALGRIND_LOG):"
		head -n 40 "$FG_VALGRIND_LOG"
	fi
	FG_FLUXGATED_PID=""
}

# fluxgated_alive CHECKNAME: check that the daemon is still running.
fluxgated_alive() {
	if [ -n "$FG_FLUXGATED_PID" ] && _pid_alive "$FG_FLUXGATED_PID" \
		&& [ "$(ps -o stat= -p "$FG_FLUXGATED_PID" 2>/dev/null | cut -c1)" != "Z" ]; then
		ok "$1"
	else
		fail "$1" "fluxgated is not running" "$(tail -n 30 "$FG_FLUXGATED_LOG" 2>/dev/null)"
	fi
}

# ---------------------------------------------------------------- waits

# wait_port NS PROTO(tcp|udp) PORT [TIMEOUT_S [PID]]: wait until something
# listens on PORT inside NS. Fails early when PID (if given) has died.
wait_port() {
	local n=$1 proto=$2 port=$3 t=${4:-30} pid=${5:-} i flag=-lnt
	[ "$proto" = udp ] && flag=-lnu
	for ((i = 0; i < t * 10; i++)); do
		if nsx "$n" ss -H "$flag" "sport = :$port" 2>/dev/null | grep -q .; then
			return 0
		fi
		if [ -n "$pid" ] && ! _pid_alive "$pid"; then
			return 1
		fi
		sleep 0.1
	done
	return 1
}

# wait_dns NS SERVER NAME [TIMEOUT_S [PID]]: wait until SERVER answers a
# query for NAME/SOA over UDP (any rcode) from inside NS.
wait_dns() {
	local n=$1 server=$2 name=$3 t=${4:-30} pid=${5:-} deadline
	deadline=$((SECONDS + t))
	while [ $SECONDS -lt $deadline ]; do
		if nsx "$n" kdig @"$server" +retry=0 +timeout=1 "$name" SOA 2>/dev/null | grep -q 'status:'; then
			return 0
		fi
		if [ -n "$pid" ] && ! _pid_alive "$pid"; then
			return 1
		fi
		sleep 0.2
	done
	return 1
}

# wait_until TIMEOUT_S CMD...: run CMD until it succeeds (return 0) or
# TIMEOUT_S seconds have passed (return 1; CMD ran once more at the deadline).
# For anything asynchronous (a log line, an event, a metric, kernel state): the
# bound only matters when the condition never holds, so make it generous
# (30-60 s: valgrind and the sanitizers on a shared machine), never tight.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	while :; do
		"$@" && return 0
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.1
	done
}

# wait_grep TIMEOUT_S FILE ERE: wait until a line of FILE matches ERE (a
# missing FILE is no match yet).
wait_grep() {
	wait_until "$1" grep -Eq -- "$3" "$2" 2>/dev/null
}

# wait_output TIMEOUT_S CMD... -- ERE...: run CMD until every ERE matches a
# line of its output (return 0) or TIMEOUT_S seconds have passed (return 1).
# For counters and metrics that catch up asynchronously; the caller then reads
# them once more and asserts on that, as strictly as before.
wait_output() {
	local deadline=$((SECONDS + $1)) cmd=() out re all
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do cmd+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	while :; do
		out=$("${cmd[@]}" 2>/dev/null); all=1
		for re in "$@"; do
			grep -Eq -- "$re" <<<"$out" || { all=0; break; }
		done
		[ $all = 1 ] && return 0
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.2
	done
}

# ---------------------------------------------------------------- cleanup

_fg_cleanup() {
	local rc=$? p n
	trap - EXIT INT TERM
	if [ -n "$FG_FLUXGATED_PID" ] && _pid_alive "$FG_FLUXGATED_PID"; then
		stop_pid "$FG_FLUXGATED_PID" 30
	fi
	for p in "${FG_PIDS[@]+"${FG_PIDS[@]}"}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${FG_PIDS[@]+"${FG_PIDS[@]}"}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
			_pid_alive "$p" || break
			[ "$(ps -o stat= -p "$p" 2>/dev/null | cut -c1)" = "Z" ] && break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for n in "${FG_NAMESPACES[@]+"${FG_NAMESPACES[@]}"}"; do
		ip netns del "$n" 2>/dev/null
	done
	if [ "$FG_FINISHED" != 1 ] && [ $rc -eq 0 ]; then
		rc=1
	fi
	if [ "$FG_WORK_TEMP" = 1 ]; then
		if [ $rc -eq 0 ]; then rm -rf "$FG_WORK"; else log "logs kept in $FG_WORK"; fi
	fi
	exit $rc
}

_fg_signal() {
	log "interrupted by signal $1"
	FG_FAILED=$((FG_FAILED + 1))
	exit $((128 + $2))
}

trap _fg_cleanup EXIT
trap '_fg_signal INT 2' INT
trap '_fg_signal TERM 15' TERM

# finish: stop the daemon if still running (checking its exit), print the
# summary and exit (1 when any check failed or none ran).
finish() {
	if [ -n "$FG_FLUXGATED_PID" ]; then
		stop_fluxgated
	fi
	FG_FINISHED=1
	printf '%s: %d checks passed, %d checks failed\n' "$FG_TEST_NAME" "$FG_PASSED" "$FG_FAILED"
	if [ "$FG_FAILED" -gt 0 ] || [ "$FG_PASSED" -eq 0 ]; then
		exit 1
	fi
	exit 0
}

# ---------------------------------------------------------------- test zones

# Records of the shared test zone example.test, one per line, in zone-file
# form relative to the origin (the form fluxgated's `records:` take too).
example_zone_records() {
	cat <<'ZONE'
@ NS ns1
@ NS ns2.example.test.
ns1 A 10.0.0.1
ns1 AAAA fd00::1
ns2 A 10.0.0.2
@ MX 10 mail
@ MX 20 mail2.example.test.
mail A 10.0.0.25
mail AAAA fd00::25
mail2 A 10.0.0.26
@ TXT "v=spf1 -all"
www A 10.0.0.80
www AAAA fd00::80
www 60 TXT "hello world"
ftp CNAME www
alias CNAME ftp
ext CNAME target.other.invalid.
loop1 CNAME loop2
loop2 CNAME loop1
_sip._udp SRV 10 5 5060 sip
sip A 10.0.0.50
a.b.ent A 10.0.0.9
sub NS ns.sub
ns.sub A 10.0.0.53
multi TXT "one" "two" "three"
esc TXT "semi;colon" "say \"hi\""
empty TXT ""
ttl0 0 A 10.0.0.99
cls 120 IN A 10.0.0.98
nullmx MX 0 .
_nosvc._tcp SRV 0 0 0 .
sub2 NS ns.other.invalid.
sub6 NS ns.sub6
ns.sub6 AAAA fd00::53
ZONE
	printf 'long TXT "%s"\n' "$(printf 'y%.0s' $(seq 1 255))"
	printf '%s A 10.0.0.63\n' "$(printf 'l%.0s' $(seq 1 63))"
	local i
	for i in 1 2 3 4 5 6 7 8; do
		printf 'big TXT "%s%s"\n' "$i" "$(printf 'x%.0s' $(seq 1 199))"
	done
}

# Records of the reverse zone 0.0.10.in-addr.arpa.
reverse_zone_records() {
	cat <<'ZONE'
@ NS ns1.example.test.
1 PTR ns1.example.test.
80 PTR www.example.test.
25 PTR mail.example.test.
ZONE
}

# _time_suffix SECONDS: 3600 -> 1h (the largest exact unit), as config TIME.
_time_suffix() {
	local s=$1
	if [ $((s % 604800)) -eq 0 ]; then echo "$((s / 604800))w"
	elif [ $((s % 86400)) -eq 0 ]; then echo "$((s / 86400))d"
	elif [ $((s % 3600)) -eq 0 ]; then echo "$((s / 3600))h"
	elif [ $((s % 60)) -eq 0 ]; then echo "$((s / 60))m"
	else echo "${s}s"; fi
}

# zone_yaml DOMAIN TTL MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM < RECORDS
# Prints one fluxgated `zone:` list item. Times in seconds (written to the
# config with the largest exact suffix); MNAME/RNAME absolute with a dot.
zone_yaml() {
	local d=$1 ttl=$2 mname=$3 rname=$4 serial=$5 rf=$6 rt=$7 ex=$8 mn=$9 r
	printf '  - domain: %s\n    ttl: %s\n' "$d" "$ttl"
	printf '    soa: { mname: "%s", rname: "%s", serial: %s, refresh: %s, retry: %s, expire: %s, minimum: %s }\n' \
		"$mname" "$rname" "$serial" "$(_time_suffix "$rf")" "$(_time_suffix "$rt")" \
		"$(_time_suffix "$ex")" "$(_time_suffix "$mn")"
	printf '    records:\n'
	while IFS= read -r r; do
		[ -n "$r" ] || continue
		printf "      - '%s'\n" "${r//\'/\'\'}"
	done
}

# zone_file DOMAIN TTL MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM < RECORDS
# Prints the same zone as an RFC 1035 master file (for Knot).
zone_file() {
	local d=$1 ttl=$2 mname=$3 rname=$4 serial=$5 rf=$6 rt=$7 ex=$8 mn=$9
	printf '$ORIGIN %s.\n$TTL %s\n' "$d" "$ttl"
	printf '@ SOA %s %s %s %s %s %s %s\n' "$mname" "$rname" "$serial" "$rf" "$rt" "$ex" "$mn"
	cat
}

# The two test zones with their SOA fields, for both servers:
#   zones_yaml            -> the `zone:` section of a fluxgated config
#   zones_files DIR       -> DIR/example.test.zone, DIR/0.0.10.in-addr.arpa.zone
FG_SOA_EXAMPLE=(example.test 300 ns1.example.test. hostmaster.example.test. 2024010101 3600 600 604800 60)
FG_SOA_REVERSE=(0.0.10.in-addr.arpa 3600 ns1.example.test. hostmaster.example.test. 7 7200 900 1209600 300)
zones_yaml() {
	echo "zone:"
	example_zone_records | zone_yaml "${FG_SOA_EXAMPLE[@]}"
	reverse_zone_records | zone_yaml "${FG_SOA_REVERSE[@]}"
}
zones_files() {
	example_zone_records | zone_file "${FG_SOA_EXAMPLE[@]}" >"$1/example.test.zone"
	reverse_zone_records | zone_file "${FG_SOA_REVERSE[@]}" >"$1/0.0.10.in-addr.arpa.zone"
}

# knot_conf DIR UDP_WORKERS TCP_WORKERS LISTEN...: write DIR/knot.conf for a
# knotd serving the two test zones from DIR (zones_files DIR), running as
# root in the foreground, with no identity/version/NSID answers and nothing
# written back to the zone files.
knot_conf() {
	local dir=$1 uw=$2 tw=$3; shift 3
	local l listen=""
	for l in "$@"; do listen+="${listen:+, }\"$l\""; done
	mkdir -p "$dir/run" "$dir/db"
	cat >"$dir/knot.conf" <<KNOT
server:
    rundir: "$dir/run"
    user: root:root
    listen: [ $listen ]
    udp-workers: $uw
    tcp-workers: $tw
    background-workers: 1
    identity: ""
    version: ""
    nsid: ""
database:
    storage: "$dir/db"
control:
    listen: "$dir/run/knot.sock"
log:
  - target: stderr
    any: info
template:
  - id: default
    storage: "$dir"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: example.test
  - domain: 0.0.10.in-addr.arpa
KNOT
}

# py_checks NS [ARGS...] < SCRIPT: run a python3 script (stdin) inside NS; each
# line it prints as "PASS name" or "FAIL name: detail" becomes one check.
# A script that dies (exit != 0 without reporting a FAIL) is a failure too.
py_checks() {
	local n=$1; shift
	local script out rc line nfail=0
	script=$(cat)
	out=$(nsx "$n" timeout 120 python3 -c "$script" "$@" 2>&1); rc=$?
	while IFS= read -r line; do
		case $line in
		"PASS "*) ok "${line#PASS }" ;;
		"FAIL "*) fail "${line#FAIL }"; nfail=$((nfail + 1)) ;;
		esac
	done <<<"$out"
	if [ $rc -ne 0 ] && [ $nfail -eq 0 ]; then
		fail "python checks ran to the end" "exit $rc" "$(tail -n 20 <<<"$out")"
	fi
}

# ---------------------------------------------------------------- kernel state

# nft_map_count NS TABLE MAP: how many elements the kernel holds in one map of
# the inet table TABLE (0 when the map is missing).
nft_map_count() {
	nsx "$1" nft -j list map inet "$2" "$3" 2>/dev/null | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)["nftables"]
except ValueError:
    d = []
print(sum(len(x["map"].get("elem", [])) for x in d if "map" in x))'
}

# nft_map_keys NS TABLE [MAP]: the key of every element, one a line, sorted; a
# concatenation prints as its parts joined by commas. Without MAP: the elements
# of every map of the table whose name starts with grant_.
nft_map_keys() {
	local what=(table inet "$2") one=""
	if [ $# -ge 3 ]; then what=(map inet "$2" "$3"); one=1; fi
	nsx "$1" nft -j list "${what[@]}" 2>/dev/null | python3 -c '
import json, sys
one = len(sys.argv) > 1
try:
    d = json.load(sys.stdin)["nftables"]
except ValueError:
    d = []
for x in d:
    m = x.get("map")
    if not m or not (one or m["name"].startswith("grant_")):
        continue
    for e in m.get("elem", []):
        k = e[0] if isinstance(e, list) else e      # [key, value]
        if isinstance(k, dict) and "elem" in k:     # a key with a timeout
            k = k["elem"]["val"]
        if isinstance(k, dict) and "concat" in k:
            print(",".join(str(v) for v in k["concat"]))
        else:
            print(k)
' ${one:+one} | sort
}

# ---------------------------------------------------------------- nmap

# nmap_udp NS PORT ADDR: `nmap -sU -sV -p PORT ADDR` from NS, only the port's
# line and Service Info, with ADDR masked (to compare a real server's
# output with a decoy's).
nmap_udp() {
	local n=$1 port=$2 a=$3
	nsx "$n" timeout 300 nmap -n -Pn -sU -sV -p "$port" --max-retries 2 "$a" 2>&1 \
		| grep -E "^$port/udp|^Service Info" | sed "s/$a/ADDR/g"
}

# nmap_udp_id NS PORT ADDR ERE: nmap_udp up to three times, until a line
# matches ERE. nmap's version probes are single datagrams: one lost or late
# on a loaded machine and nmap falls back to a generic guess; the caller
# still compares the last output.
nmap_udp_id() {
	local out t
	for t in 1 2 3; do
		out=$(nmap_udp "$1" "$2" "$3")
		grep -Eq -- "$4" <<<"$out" && break
	done
	printf '%s\n' "$out"
}
