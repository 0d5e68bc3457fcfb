#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# fg-runner: sanitizer-only
#
# fluxlab's distributed topologies (issue 8), with real `fluxlab run`:
#
#   - lab/scenarios/dist-kill-agent.yaml (30 s): a controller and two
#     agents, each owning half of the pool; agent 1 is SIGKILLed at 12 s.
#     Its expectations hold (0 legit misrouted on the healthy half, no
#     answer to a query sent after the kill carries the dead agent's
#     addresses, attacker reach 0), and the JSON shows why: agent 1's half
#     carried the answers before the kill and none from the second after
#     it, agent 2's half all of them after; agent 1's fluxgated was
#     really gone (its namespace held no fluxgated when killed: the log).
#   - lab/scenarios/dist-failover.yaml (35 s): the keepalived/conntrackd
#     pair from etc/failover/'s samples; the master dies at 12 s during
#     traffic. Expectations hold (0 misrouted outside the failover window,
#     reach 0), the failover time is reported, every exchange in flight
#     at the kill completed, the backup committed conntrackd's external
#     cache before it took the addresses (the notify script's log), and
#     the controller saw the master go down.
#   - lab/scenarios/dist-external-knot.yaml (30 s): www.lab.test served by
#     a real knotd that the controller updates every 3 s (RFC 2136, TSIG);
#     UPDATEs published every epoch, the serial one step per UPDATE
#     (serial-policy: increment), 0 legit misrouted, reach within the
#     aliasing bound.
#   - `fluxlab check` refuses the new keys' mistakes with file:line.
#
# fluxlab builds its own topology and starts its own daemons (not under
# valgrind: the daemons' own netns tests are); lib.sh gives the checks
# and cleanup. Env: FLUXGATED (see lib.sh), FLUXLAB (default: next to
# FLUXGATED, so NAME@asan runs the ASan fluxlab).

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip nft tc lighttpd openssl python3 keepalived conntrackd flock knotd kdig unbound
FLUXLAB=${FLUXLAB:-$(dirname "$FLUXGATED")/fluxlab}
[ -x "$FLUXLAB" ] || FLUXLAB=$FG_REPO/build/fluxlab
[ -x "$FLUXLAB" ] || die "fluxlab not found at $FLUXLAB (build it: make)"
export FLUXGATED
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}
export FLUXCTL
export FLUXLAB_FAILOVER="$FG_REPO/etc/failover"

BAD="$FG_WORK/bad.yaml"
printf 'name: bad\ngateway: { mode: distributed, agents: 2 }\nevents:\n  - kill-agent: { agent: 3, at: 5s }\n  - failover: { at: 6s }\n' >"$BAD"
out=$("$FLUXLAB" check "$BAD" 2>&1); rc=$?
assert_eq "fluxlab check: bad events exit 2" 2 "$rc"
assert_match "fluxlab check: an agent that does not exist" "^$BAD: events\\[0\\] \\(line 4\\): agent 3 of 2" "$out"
assert_match "fluxlab check: failover without a pair" \
	"^$BAD: events\\[1\\] \\(line 5\\): failover needs gateway.pair: true" "$out"

json_checks() {
	while IFS= read -r line; do
		case $line in
		"PASS "*) ok "${line#PASS }" ;;
		"FAIL "*) fail "${line#FAIL }" ;;
		*) [ -n "$line" ] && fail "json checks: $line" ;;
		esac
	done <<<"$1"
}

# run NAME: fluxlab run lab/scenarios/NAME.yaml, JSON and work directory kept
run() {
	local rc prefix
	timeout -k 10 180 "$FLUXLAB" run "$FG_REPO/lab/scenarios/$1.yaml" --json "$FG_WORK/$1.json" \
		--workdir "$FG_WORK/$1" >"$FG_WORK/$1.out" 2>&1
	rc=$?
	cat "$FG_WORK/$1.out"
	assert_eq "fluxlab run $1.yaml exits 0 (its expectations hold)" 0 "$rc"
	# its own namespaces only: other fluxlab runs may come and go meanwhile
	prefix=$(sed -n 's/.*(namespaces \(fl[0-9]*\)-\*).*/\1/p' "$FG_WORK/$1.out" | head -n 1)
	assert_match "$1: fluxlab named its namespaces" '^fl[0-9]+$' "$prefix"
	assert_eq "$1: fluxlab removed its namespaces" "" "$(ip netns list | grep "^$prefix-" || true)"
	[ -s "$FG_WORK/$1.json" ] || fail "$1: fluxlab wrote its JSON"
}

# ---- kill one agent
run dist-kill-agent
assert_match "kill-agent: the summary has the per-share table" 'answers per 5 s, by share' \
	"$(cat "$FG_WORK/dist-kill-agent.out")"
assert_match "kill-agent: the lab logged the kill" 't=1[0-9]\.[0-9]s: agent ag1 killed' \
	"$(cat "$FG_WORK/dist-kill-agent.out")"
out=$(timeout 60 python3 - "$FG_WORK/dist-kill-agent.json" <<'PY' 2>&1
import json, sys
j = json.load(open(sys.argv[1]))
def chk(name, cond, detail=""):
    print(("PASS " if cond else "FAIL ") + name + ("" if cond else ": " + str(detail)))
d = j.get("dist", {})
S = d.get("shares", [])
chk("dist: two shares, one per agent", len(S) == 2 and [s["agent"] for s in S] == ["ag1", "ag2"], S)
if len(S) == 2:
    a, b = S
    k = a["killed_at_s"]
    chk("ag1 was killed at ~12 s", k is not None and 11.5 <= k <= 14, k)
    chk("ag2 was not killed", b["killed_at_s"] is None, b["killed_at_s"])
    chk("ag1's half carried the answers before the kill (>= 100)", a["answers_before_kill"] >= 100, a)
    ks = int(k or 0) + 1
    after = sum(a["answers_per_s"][ks:])
    chk("ag1's half: no answer from the second after the kill", after == 0, a["answers_per_s"])
    chk("no answer to a query sent after the kill carried ag1's addresses",
        a["answers_to_queries_after_kill"] == 0 and a["answers_to_queries_after_kill_cached"] == 0, a)
    chk("ag2's half carried the answers after the kill (>= 100)", sum(b["answers_per_s"][ks:]) >= 100,
        b["answers_per_s"])
    chk("ag2's half: 0 legit misrouted", b["legit"]["decoy"] == 0 and b["legit"]["real"] >= 100, b["legit"])
    chk("healthy figure: 0 misrouted of the healthy half's exchanges",
        d["healthy"]["misrouted"] == 0 and d["healthy"]["routed"] == b["legit"]["real"], d["healthy"])
chk("attacker reach 0", j["attack"]["reach_sessions"] == 0 and j["attack"]["reach_syn_at_server"] == 0, j["attack"])
chk("expect passed", j["expect"]["passed"] is True, j["expect"])
PY
)
json_checks "$out"

# ---- failover of the pair during traffic
run dist-failover
W="$FG_WORK/dist-failover"
assert_match "failover: the summary reports the failover time" 'failover time +[0-9]+\.[0-9]+ s \(ag1 killed' \
	"$(cat "$FG_WORK/dist-failover.out")"
# the samples' order, kept by the lab's templated copies: the backup's
# commit of conntrackd's external cache returned before it took the addresses
nl() { grep -n -m1 "$1" "$W/ag2/failover.log" 2>/dev/null | cut -d: -f1; }
LC=$(nl 'MASTER: commit of the external cache done') LT=$(nl 'MASTER: took ')
if [ -n "$LC" ] && [ -n "$LT" ] && [ "$LC" -lt "$LT" ]; then
	ok "failover: ag2 committed the external cache before it took the addresses"
else
	fail "failover: ag2 committed the external cache before it took the addresses" "$(cat "$W/ag2/failover.log" 2>&1)"
fi
out=$(timeout 60 python3 - "$FG_WORK/dist-failover.json" <<'PY' 2>&1
import json, sys
j = json.load(open(sys.argv[1]))
def chk(name, cond, detail=""):
    print(("PASS " if cond else "FAIL ") + name + ("" if cond else ": " + str(detail)))
d = j.get("dist", {})
fo = d.get("failover")
chk("dist: a pair sharing the pool", d.get("pair") is True and len(d.get("shares", [])) == 1, d)
chk("failover figures present", fo is not None, d)
if fo:
    chk("failover at ~12 s", 11.5 <= fo["at_s"] <= 14, fo)
    chk("failover time measured (> 0, < 60 s)", fo["time_s"] is not None and 0 < fo["time_s"] < 60, fo)
    chk("the controller saw the master down", fo["controller_saw_down_s"] is not None, fo)
    chk("0 legit misrouted outside the window", fo["outside"]["misrouted"] == 0, fo["outside"])
    chk("0 legit failed outside the window", fo["outside"]["failed"] == 0, fo["outside"])
    chk("inside the window: every misroute explained",
        fo["inside"]["misrouted_late"] + fo["inside"]["misrouted_blackout"] + fo["inside"]["misrouted_product"] ==
        sum(s["legit"]["decoy"] for s in d["shares"]), fo["inside"])
    fl = fo["in_flight"]
    chk("exchanges in flight at the kill: none failed or misrouted", fl["failed"] == 0 and fl["decoy"] == 0, fl)
    print("INFO in flight at the kill: %d completed; failover time %.2f s" % (fl["real"], fo["time_s"] or -1))
chk("legit answered after the failover (>= 100 real)", d["shares"][0]["legit"]["real"] >= 100, d["shares"])
chk("attacker reach 0", j["attack"]["reach_sessions"] == 0 and j["attack"]["reach_syn_at_server"] == 0, j["attack"])
chk("expect passed", j["expect"]["passed"] is True, j["expect"])
PY
)
log "$(grep '^INFO' <<<"$out")"
json_checks "$(grep -v '^INFO' <<<"$out")"

# ---- an external authoritative server: knotd updated over RFC 2136
run dist-external-knot
assert_match "external: knotd's ACL takes the key's updates (update-owner: key)" 'update-owner: key' \
	"$(cat "$FG_WORK/dist-external-knot/ext/knot.conf" 2>/dev/null)"
out=$(timeout 60 python3 - "$FG_WORK/dist-external-knot.json" <<'PY' 2>&1
import json, sys
j = json.load(open(sys.argv[1]))
def chk(name, cond, detail=""):
    print(("PASS " if cond else "FAIL ") + name + ("" if cond else ": " + str(detail)))
d = j.get("dist", {})
x = d.get("external")
chk("external figures present", x is not None and x["server"] == "knot", d)
if x:
    # 30 s at an epoch of 3 s: about 10 UPDATEs; the first may find no agent connected yet
    chk("the controller published UPDATEs every epoch (>= 5)", x["updates_published"] >= 5, x)
    chk("at most the first UPDATE failed", x["updates_failed"] <= 1, x)
    # knotd's serial-policy: increment: one step per published UPDATE
    chk("the serial moved one step per published UPDATE",
        x["serial_after"] - x["serial_before"] == x["updates_published"], x)
L = j["legit"]
chk("legit: 0 misrouted through the external server's answers", L["misrouted"] == 0, L["misrouted"])
chk("legit: answers came from the resolver's cache and fresh from knotd",
    L["answers"]["from_cache"] > 0 and L["answers"]["fresh"] > 0, L["answers"])
chk("the published addresses are the first share's (ag1's pool)",
    d["shares"][0]["answers"] >= 100 and d["shares"][1]["answers"] == 0, d["shares"])
chk("attacker reach within the aliasing bound", j["expect"]["passed"] is True, j["expect"])
PY
)
json_checks "$out"
finish
