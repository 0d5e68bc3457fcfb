#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Hardening finding 3, third bullet: a forged flood spread over many
# prefixes stays under every per-prefix rate limit and every per-source
# quota, and with long TTLs would fill the grant sets (then every service
# answer is SERVFAIL). The budget of grants to unverified askers
# (policy.unverified-share of nat.grant-set-size) stops it: past it, UDP
# askers without a valid cookie or TSIG get TC=1 and no grant, while
#  - the same asker over TCP (which a forged source cannot complete) is
#    granted, and so is a stub that follows the TC bit;
#  - an asker with a valid server cookie is granted over UDP;
#  - the kernel set holds no more than the budget for them, and never fills.
# Without the budget (unverified-share: 0) the same sources fill the set
# and get SERVFAIL: the check that the budget is what makes the difference.
#
#   cli 10.68.1.2-.44 (direct stubs) --- gw 10.68.1.1 (fluxgated, nft)
#                                    --- srv 10.68.2.10 (real)
#
# Env: FLUXGATED, VALGRIND, FG_LOGDIR (see lib.sh).

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip kdig nft python3

if [ "$VALGRIND" = 1 ]; then DNS_T=8; DNS_WAIT=120; else DNS_T=3; DNS_WAIT=30; fi
SET=32      # nat.grant-set-size
SHARE=25    # policy.unverified-share: 8 grants
BUDGET=$((SET * SHARE / 100))
N=40        # sources that look forged (stubs without cookies)

# ------------------------------------------------------------ topology
ns_add cli gw srv dcy
veth_link cli eth0 "10.68.1.2/24" gw c0 "10.68.1.1/24"
veth_link srv eth0 "10.68.2.10/24" gw s0 "10.68.2.1/24"
veth_link dcy eth0 "10.68.3.10/24" gw d0 "10.68.3.1/24"
for i in $(seq 3 $((N + 4))); do addr_add cli eth0 "10.68.1.$i/24"; done
nsx cli ip route add default via 10.68.1.1
nsx srv ip route add default via 10.68.2.1
nsx dcy ip route add default via 10.68.3.1
nsx gw sysctl -qw net.ipv4.ip_forward=1 || die "gateway sysctls"

chmod o+x "$FG_WORK"
CTL="$FG_WORK/control.sock"
CONF="$FG_WORK/fluxgated.conf"
TABLE="fgub$$"
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}
fctl() { nsx gw "$FLUXCTL" -s "$CTL" "$@"; }

write_conf() {   # SHARE
	cat >"$CONF" <<EOF
server:
  listen: [ "10.68.1.1@53" ]
  user: nobody
  workers: 1
zone:
  - domain: example.test
    soa: { mname: ns1.example.test, rname: hostmaster.example.test }
    records:
      - "@ NS ns1"
      - "ns1 A 10.68.1.1"
pool:
  - id: web4
    prefix: 198.51.100.0/24
service:
  - id: www
    name: www.example.test
    backend: 10.68.2.10@80
    pool: web4
    ttl: 600s
decoy:
  route-via: 10.68.3.10
policy:
  direct: [ 10.68.1.0/24 ]
  resolvers: [ 10.68.9.0/24 ]
  unverified-share: $1
rrl:
  rate: 0
nat:
  backend: nft
  table: $TABLE
  grant-set-size: $SET
control:
  socket: $CTL
EOF
}

elements() { nft_map_count gw "$TABLE" grant_client4; }

GRANTED='www\.example\.test\.[[:space:]].*A[[:space:]]+198\.51\.100\.'

# ask once from each source over UDP without a cookie, not following TC;
# sets ANSWERED, TC, SERVFAIL, OTHER
ask_all() {
	ANSWERED=0 TC=0 SERVFAIL=0 OTHER=0
	for i in $(seq 3 $((N + 2))); do
		out=$(nsx cli kdig +retry=0 +timeout="$DNS_T" +ignore +nocookie -b "10.68.1.$i" \
			@10.68.1.1 www.example.test A 2>&1)
		if grep -Eq "$GRANTED" <<<"$out"; then
			ANSWERED=$((ANSWERED + 1))
		elif grep -q 'status: SERVFAIL' <<<"$out"; then
			SERVFAIL=$((SERVFAIL + 1))
		elif grep -Eiq 'flags:[^;]* tc' <<<"$out"; then
			TC=$((TC + 1))
		else
			OTHER=$((OTHER + 1))
		fi
	done
	log "answered=$ANSWERED tc=$TC servfail=$SERVFAIL other=$OTHER elements=$(elements)"
}

start_gw() {
	out=$("$FLUXGATED" --check -c "$CONF" 2>&1); rc=$?
	assert_eq "--check: the config is valid" 0 "$rc"
	[ $rc -eq 0 ] || { log "$out"; finish; }
	start_fluxgated gw "$CONF"
	if ! wait_dns cli 10.68.1.1 example.test "$DNS_WAIT" "$FG_FLUXGATED_PID"; then
		fail "fluxgated answers" "$(tail -n 30 "$FG_FLUXGATED_LOG")"
		finish
	fi
}

# ------------------------------------------------------------ with the budget
write_conf "$SHARE"
start_gw
ok "fluxgated answers on 10.68.1.1 (budget $BUDGET of $SET)"
ask_all
assert_eq "the first $BUDGET unverified askers are granted" "$BUDGET" "$ANSWERED"
assert_eq "every later unverified asker gets TC=1, not SERVFAIL" "$((N - BUDGET))" "$TC"
assert_eq "no SERVFAIL: the set never filled" 0 "$SERVFAIL"
assert_eq "no query went unanswered" 0 "$OTHER"
assert_eq "the kernel holds only the budget's grants" "$BUDGET" "$(elements)"

# a held-back asker comes back over TCP: granted
out=$(nsx cli kdig +retry=0 +timeout="$DNS_T" +tcp -b 10.68.1.3 @10.68.1.1 www.example.test A 2>&1)
assert_match "over TCP a held-back asker is granted" "$GRANTED" "$out"
# a stub that follows the TC bit (kdig's default) ends up granted too
out=$(nsx cli kdig +retry=0 +timeout="$DNS_T" +nocookie -b "10.68.1.$((N + 3))" @10.68.1.1 www.example.test A 2>&1)
assert_match "a stub following TC=1 retries over TCP and is granted" "$GRANTED" "$out"

# an asker with a valid server cookie is verified: granted over UDP. Its
# first query (client cookie only) is held back and returns our server
# cookie; the second presents it.
C=10.68.1.$((N + 4))
out=$(nsx cli kdig +retry=0 +timeout="$DNS_T" +ignore +cookie -b "$C" @10.68.1.1 www.example.test A 2>&1)
assert_match "a first query with only a client cookie is held back (TC)" '[Ff]lags:[^;]* tc' "$out"
cookie=$(printf '%s\n' "$out" | awk '/COOKIE:/ {print $3; exit}')
if [ ${#cookie} -gt 16 ]; then
	out=$(nsx cli kdig +retry=0 +timeout="$DNS_T" +ignore +cookie="$cookie" -b "$C" @10.68.1.1 www.example.test A 2>&1)
	assert_match "with our server cookie the same asker is granted over UDP" "$GRANTED" "$out"
else
	fail "the held-back answer carries our server cookie" "$out"
fi

stats=$(fctl --json stats 2>/dev/null)
read -r live limit tcn < <(printf '%s' "$stats" | python3 -c 'import json,sys; g=json.load(sys.stdin)["grants"]; print(g["unverified_live"], g["unverified_limit"], g["unverified_truncated"])')
assert_eq "fluxctl stats: the budget" "$BUDGET" "$limit"
assert_eq "fluxctl stats: the unverified grants counted" "$BUDGET" "$live"
assert_eq "fluxctl stats: TC answers counted (the $((N - BUDGET)), the TC follower's and the cookie's first)" "$((N - BUDGET + 2))" "$tcn"
fluxgated_alive "daemon still running"
stop_fluxgated
nsx gw nft delete table inet "$TABLE" 2>/dev/null

# ------------------------------------------------------------ without it
write_conf 0
start_gw
ask_all
assert_eq "without the budget the same askers fill the set" "$SET" "$ANSWERED"
assert_eq "and the rest get SERVFAIL: what the budget prevents" "$((N - SET))" "$SERVFAIL"
stop_fluxgated
finish
