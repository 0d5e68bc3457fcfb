#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Hardening finding 7 (full sets) against the real daemon and kernel: with a
# tiny nat.grant-set-size, the kernel refuses grants once the set is full.
# Those answers must be SERVFAIL (never an unacknowledged address), counted,
# reported as an `error` event, and cost one transaction each (no retry
# storm); the daemon keeps serving everything else, and the grants already
# in the kernel keep working; the per-source state of a refused grant is
# rolled back. The log line of a refused transaction is rate
# limited (at most one a second), and the suppressed ones are counted in
# the next line, so every refused transaction is accounted for.
#
#   cli 10.67.1.2-.41 (direct stub clients) --- gw 10.67.1.1 (fluxgated, nft)
#                                               --- srv 10.67.2.10 (real)
#
# Env: FLUXGATED, VALGRIND, FG_LOGDIR (see lib.sh).

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip kdig curl nft python3

if [ "$VALGRIND" = 1 ]; then DNS_T=8; DNS_WAIT=120; else DNS_T=3; DNS_WAIT=30; fi
SET=16      # nat.grant-set-size (the schema's minimum)
N=40        # sources, each asking once

# ------------------------------------------------------------ topology
ns_add cli gw srv dcy
veth_link cli eth0 "10.67.1.2/24" gw c0 "10.67.1.1/24"
veth_link srv eth0 "10.67.2.10/24" gw s0 "10.67.2.1/24"
veth_link dcy eth0 "10.67.3.10/24" gw d0 "10.67.3.1/24"
for i in $(seq 3 $((N + 1))); do addr_add cli eth0 "10.67.1.$i/24"; done
nsx cli ip route add default via 10.67.1.1
nsx srv ip route add default via 10.67.2.1
nsx dcy ip route add default via 10.67.3.1
nsx dcy ip route add local 198.51.100.0/24 dev lo
nsx gw sysctl -qw net.ipv4.ip_forward=1 || die "gateway sysctls"
for k in all default c0 s0 d0; do nsx gw sysctl -qw "net.ipv4.conf.$k.rp_filter=0"; done

mkdir -p "$FG_WORK/srv"
echo real >"$FG_WORK/srv/index.html"
start_bg http-srv srv python3 -m http.server 80 --bind 0.0.0.0 --directory "$FG_WORK/srv"
SRV_PID=$BG_PID

# ------------------------------------------------------------ fluxgated
chmod o+x "$FG_WORK"
EVDIR=$(mktemp -d /tmp/fg-fullset-events.XXXXXX) || die "mktemp"
chmod 0777 "$EVDIR"
CTL="$FG_WORK/control.sock"
CONF="$FG_WORK/fluxgated.conf"
TABLE="fgfs$$"
cat >"$CONF" <<EOF
server:
  listen: [ "10.67.1.1@53" ]
  user: nobody
  workers: 1
zone:
  - domain: example.test
    soa: { mname: ns1.example.test, rname: hostmaster.example.test }
    records:
      - "@ NS ns1"
      - "ns1 A 10.67.1.1"
pool:
  - id: web4
    prefix: 198.51.100.0/24
service:
  - id: www
    name: www.example.test
    backend: 10.67.2.10@80
    pool: web4
    ttl: 60s
decoy:
  route-via: 10.67.3.10
policy:
  direct: [ 10.67.1.0/24 ]
  resolvers: [ 10.67.9.0/24 ]
  exact-per-source: 1     # a refused grant left in the holdings would be reused
  unverified-share: 0     # the kernel's refusal is under test, not the budget
nat:
  backend: nft
  table: $TABLE
  grant-set-size: $SET
control:
  socket: $CTL
log:
  file: $EVDIR/eve.json
EOF
out=$("$FLUXGATED" --check -c "$CONF" 2>&1); rc=$?
assert_eq "--check: the config is valid" 0 "$rc"
[ $rc -eq 0 ] || { log "$out"; rm -rf "$EVDIR"; finish; }

start_fluxgated gw "$CONF"
if ! wait_dns cli 10.67.1.1 example.test "$DNS_WAIT" "$FG_FLUXGATED_PID"; then
	fail "fluxgated answers" "$(tail -n 30 "$FG_FLUXGATED_LOG")"
	rm -rf "$EVDIR"; finish
fi
ok "fluxgated answers on 10.67.1.1"
wait_port srv tcp 80 60 "$SRV_PID" || { fail "real server listens"; rm -rf "$EVDIR"; finish; }
fctl() { nsx gw "$FLUXCTL" -s "$CTL" "$@"; }
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}

# ------------------------------------------------------------ fill the set
mono() { python3 -c 'import time; print("%.3f" % time.monotonic())'; }
FILL_T0=$(mono)
declare -A got=()
answered=0 servfail=0 other=0
for i in $(seq 2 $((N + 1))); do
	out=$(nsx cli kdig +retry=0 +timeout="$DNS_T" -b "10.67.1.$i" @10.67.1.1 www.example.test A 2>&1)
	a=$(printf '%s\n' "$out" | awk '$4 == "A" && $1 ~ /^www\./ {print $5}' | head -n 1)
	if [ -n "$a" ]; then
		answered=$((answered + 1)); got[$i]=$a
	elif grep -q 'status: SERVFAIL' <<<"$out"; then
		servfail=$((servfail + 1))
	else
		other=$((other + 1))
	fi
done
FILL_T1=$(mono)
log "answered=$answered servfail=$servfail other=$other"
assert_eq "the set takes $SET exact grants: $SET sources get an address" "$SET" "$answered"
assert_eq "every other source gets SERVFAIL, not an address" "$((N - SET))" "$servfail"
assert_eq "no query went unanswered" 0 "$other"
n=$(nft_map_count gw "$TABLE" grant_client4)
assert_eq "the kernel set holds $SET elements" "$SET" "$n"

# granted sources still reach the real server; a refused one does not
first=""; for i in "${!got[@]}"; do first=$i; break; done
body=$(nsx cli curl -s -m 5 --interface "10.67.1.$first" "http://${got[$first]}/" 2>/dev/null)
assert_eq "a source granted before the set filled reaches the real server" real "$body"

# the daemon keeps serving
out=$(nsx cli kdig +short +retry=0 +timeout="$DNS_T" @10.67.1.1 ns1.example.test A 2>&1)
assert_eq "static answers go on" "10.67.1.1" "$out"
fluxgated_alive "daemon still running with a full set"

# counted once per refused transaction: no element-by-element retries
stats=$(fctl --json stats 2>/dev/null)
read -r fails sf < <(printf '%s' "$stats" | python3 -c 'import json,sys; g=json.load(sys.stdin)["grants"]; print(g["commit_failures"], g["commit_servfail"])')
assert_eq "commit_servfail counts the $((N - SET)) SERVFAIL answers" "$((N - SET))" "$sf"
assert_eq "one refused transaction per refused query (no retry storm)" "$((N - SET))" "$fails"

# the error event: at least one, each naming the grant step (written by
# the event log's writer thread: wait for the first, bounded)
wait_grep 30 "$EVDIR/eve.json" '"event_type":"error"'
python3 - "$EVDIR/eve.json" >"$FG_WORK/events.check" 2>&1 <<'PYEOF'
import json, sys
errs = [json.loads(l) for l in open(sys.argv[1]) if '"event_type":"error"' in l]
print("error events:", len(errs))
ok = errs and all(e["error"].get("where") == "grant" and "SERVFAIL" in e["error"].get("message", "")
                  for e in errs)
sys.exit(0 if ok else 1)
PYEOF
rc=$?
assert_eq "the lost answers are reported as error events (where: grant)" 0 "$rc"
[ $rc -eq 0 ] || cat "$FG_WORK/events.check"
assert_match "the log says the commit failed" 'grant commit of 1 grants? failed' "$(cat "$FG_FLUXGATED_LOG")"

# the log line is rate limited: at most one per second of the fill (however
# slow the machine, the bound grows with the time taken); one line per
# refused transaction, as before the fix, is $((N - SET)) lines
lines=$(grep -c 'grant commit of .* failed' "$FG_FLUXGATED_LOG")
bound=$(python3 -c "import math; print(math.ceil($FILL_T1 - $FILL_T0) + 1)")
if [ "$lines" -le "$bound" ]; then
	ok "commit failures logged in $lines lines for $fails refused transactions (at most one a second: <= $bound)"
else
	fail "commit failure log rate limited (<= $bound lines)" "got $lines lines" \
		"$(grep 'grant commit of' "$FG_FLUXGATED_LOG" | head -n 30)"
fi
# after a quiet second, the next refused query is logged with the count of
# those left out: the lines account for every refused transaction
sleep 1.5
last=""; for i in $(seq 2 $((N + 1))); do [ -z "${got[$i]:-}" ] && { last=$i; break; }; done
out=$(nsx cli kdig +retry=0 +timeout="$DNS_T" -b "10.67.1.$last" @10.67.1.1 www.example.test A 2>&1)
assert_match "one more query from a refused source: SERVFAIL" 'status: SERVFAIL' "$out"
read -r fails2 bound < <(fctl --json stats 2>/dev/null |
	python3 -c 'import json,sys; g=json.load(sys.stdin)["grants"]; print(g["commit_failures"], g["exact_source_bound"])')
# rollback: the refused source's first grant was undone, so its second
# query is not "at the per-source bound" (exact-per-source 1) and handed
# the address the kernel never took; without the rollback it would be
assert_eq "a refused grant was rolled back: the source's second query is not at its bound (exact_source_bound 0)" 0 "$bound"
wait_until 30 eval '[ "$(grep -c "grant commit of .* failed" "$FG_FLUXGATED_LOG")" -gt "$lines" ]'
accounted=$(grep -o 'grant commit of .* failed.*(\([0-9]*\) more failed commits not logged)' "$FG_FLUXGATED_LOG" |
	sed 's/.*(\([0-9]*\) more failed commits not logged)/\1/' | awk '{ s += 1 + $1 } END { print s + 0 }')
assert_eq "logged lines + the counts they report = refused transactions ($fails2)" "$fails2" "$accounted"

stop_fluxgated
rm -rf "$EVDIR"
finish
