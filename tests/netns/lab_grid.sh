#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# fg-runner: sanitizer-only
#
# The T&E grid as a regression test (`make check-lab`, and part of `make
# check`): a representative subset of the shipped grid, one row of each
# kind, run by fluxlab with the scenario's own `expect:` (about 4 minutes):
#   te-50-valid-20ms          all valid: 0 misrouted, >= 99% on the real server
#   te-50-some-20ms           half valid, no ECS through the resolver (the
#                             T&E-faithful row): legit as above, attacker
#                             reach within the bound fluxlab computes from
#                             the measured open fraction
#   te-50-none-20ms           no valid traffic: 0 reach
#   te-100-some-20ms-ecs      ECS variant: 0 reach
#   te-100-some-20ms-direct   stub clients at fluxgated: 0 reach
#   te-100-some-20ms-v6       the "some" row with half the clients on IPv6
#                             and an invalid attacker per family: each
#                             family within its own bound; the /64's
#                             attacker reaches nothing (T&E 6.3.2), and the
#                             per-family figures add up to the totals
#   te-100-some-20ms-ecs-v6   the ECS variant with both families: unbound
#                             sends each IPv6 client's /56, fluxgated
#                             grants that subnet (its grant log says so),
#                             nothing is open to anyone in either family,
#                             0 reach per family
# Every row's misroutes are explained against fluxgated's grant log
# (legit.misrouted_explained.basis "grants"), and none is the product's.
# For each row: fluxlab exits 0 (its expectations hold) and its JSON says so;
# in the "some" row the bound is printed and the measured reach is below it.
# Also: `fluxlab check` refuses `attack-reach-max: predicted` with an
# attacker that is not `invalid` (the bound would mean nothing), and
# lab/results.py (`make results`) renders these runs into marked tables.
#
# Env: FLUXGATED (see lib.sh), FLUXLAB (default: build/fluxlab),
#      FG_LAB_ROWS (space-separated scenario names: another subset).

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip nft unbound lighttpd kdig openssl python3
FLUXLAB=${FLUXLAB:-$FG_REPO/build/fluxlab}
[ -x "$FLUXLAB" ] || die "fluxlab not found at $FLUXLAB (build it: make)"
export FLUXGATED
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}
export FLUXCTL

BAD="$FG_WORK/bad.yaml"
printf 'name: bad\nduration: 10s\nattack:\n  - { type: sweep, rate: 10 }\nexpect:\n  attack-reach-max: predicted\n' >"$BAD"
out=$("$FLUXLAB" check "$BAD" 2>&1); rc=$?
assert_eq "fluxlab check: 'predicted' with a sweep attacker exits 2" 2 "$rc"
assert_match "fluxlab check: says why, with the line" "expect.attack-reach-max \(line 6\): 'predicted' is the bound for 'invalid' attackers only" "$out"

ROWS=${FG_LAB_ROWS:-te-50-valid-20ms te-50-some-20ms te-50-none-20ms te-100-some-20ms-ecs te-100-some-20ms-direct te-100-some-20ms-v6 te-100-some-20ms-ecs-v6}
for row in $ROWS; do
	yaml="$FG_REPO/lab/scenarios/$row.yaml"
	[ -f "$yaml" ] || { fail "$row: $yaml exists"; continue; }
	json="$FG_WORK/$row.json"
	timeout -k 10 240 "$FLUXLAB" run "$yaml" --json "$json" --workdir "$FG_WORK/lab-$row" \
		>"$FG_WORK/$row.out" 2>&1
	rc=$?
	sed -n '/^expectations:/,$p' "$FG_WORK/$row.out"
	assert_eq "$row: fluxlab exits 0 (its expectations hold)" 0 "$rc"
	[ -s "$json" ] || { fail "$row: fluxlab wrote its JSON" "$(tail -n 20 "$FG_WORK/$row.out")"; continue; }
	out=$(python3 - "$json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
e = j.get("expect", {})
print("passed=%s" % e.get("passed"))
print("sessions=%d" % j["legit"]["sessions"])
print("reach=%d" % j["attack"]["reach_sessions"])
mx = j["legit"]["misrouted_explained"]
print("explained=%s product=%d" % (mx.get("basis"), mx["product"] + j["legit"]["failed_explained"]["product"]))
if e.get("attack_reach_max") == "predicted":
    print("bound=%d predicted=%.1f" % (e["attack_reach_bound"], e["attack_reach_predicted"]))
f = j.get("families", {})
if "ipv6" in f:
    v4, v6 = f["ipv4"], f["ipv6"]
    print("v6_legit_real=%d" % v6["legit"]["real"])
    print("v6_legit_syn_at_server=%d" % v6["legit"]["syn_at_server"])
    print("v6_attack_sessions=%d" % v6["attack"]["sessions"])
    print("v6_reach=%d v6_reach_syn=%d" % (v6["attack"]["reach_sessions"], v6["attack"]["reach_syn_at_server"]))
    print("v6_open_fraction_below_1e-15=%s" % (v6["open_fraction_mean"] < 1e-15))
    print("families_sum_ok=%s" % (v4["legit"]["sessions"] + v6["legit"]["sessions"] == j["legit"]["sessions"]))
    print("v4_reach_within_bound=%s" % (v4["attack"]["reach_sessions"] <= v4["attack"]["reach_bound"]))
    print("open_mean v4=%g v6=%g" % (v4["open_addresses_mean"], v6["open_addresses_mean"]))
PY
)
	log "$row: $(echo $out)"
	assert_match "$row: JSON expect.passed is true" '^passed=True$' "$out"
	assert_match "$row: misroutes explained against the grant log, none the product's" '^explained=grants product=0$' "$out"
	# "late" means the grant had ended at the first SYN: that excuses the
	# gateway only if no grant was shorter than the DNS contract (TTL +
	# grace), so a short-lived grant cannot pass for a slow client
	g=$(python3 - "$json" "$FG_WORK/lab-$row/events.jsonl" <<'PY'
import json, sys
sc = json.load(open(sys.argv[1]))["scenario"]
want = round((sc["ttl_s"] + sc["grace_s"]) * 1000)
n = short = 0
for line in open(sys.argv[2]):
    e = json.loads(line)
    if e.get("event_type") != "grant":
        continue
    n += 1
    if e["grant"]["timeout_ms"] < want:
        short += 1
print("grants=%d short=%d want_ms=%d" % (n, short, want))
PY
)
	log "$row: grant lifetimes: $g"
	assert_match "$row: every grant lives at least TTL + grace" '^grants=[0-9]+ short=0 ' "$g"
	case $row in
	*-none-*) ;;
	*) assert_nomatch "$row: legit sessions ran" '^sessions=0$' "$out" ;;
	esac
	case $row in
	*-some-20ms|*-some-20ms-v6)
		assert_match "$row: the aliasing bound is computed and printed" '^bound=[0-9]+ predicted=' "$out"
		assert_match "$row: fluxlab prints the bound with the reach" 'attacker reach \(sessions [0-9]+ <= [0-9]+ and SYNs' "$(cat "$FG_WORK/$row.out")"
		;;
	esac
	case $row in
	*-v6)
		assert_nomatch "$row: IPv6 legit clients reached the real server" '^v6_legit_real=0$' "$out"
		assert_nomatch "$row: the server's ground truth saw their IPv6 SYNs" '^v6_legit_syn_at_server=0$' "$out"
		assert_nomatch "$row: the IPv6 attacker ran" '^v6_attack_sessions=0$' "$out"
		assert_match "$row: the /64's attacker reached nothing (sessions and SYNs)" '^v6_reach=0 v6_reach_syn=0$' "$out"
		assert_match "$row: the /64's open fraction is ~0" '^v6_open_fraction_below_1e-15=True$' "$out"
		assert_match "$row: per-family legit sessions add up to the total" '^families_sum_ok=True$' "$out"
		assert_match "$row: the /24 attacker within its own bound" '^v4_reach_within_bound=True$' "$out"
		assert_match "$row: the side-by-side table is printed" 'fail open at \(T&E 6.3.2\) +3048 answers/min +2.214e\+20 answers/min' "$(cat "$FG_WORK/$row.out")"
		;;
	esac
	case $row in
	*-ecs-v6)
		assert_match "$row: ECS in both families: nothing open to anyone" '^open_mean v4=0 v6=0$' "$out"
		# fluxgated's own record: every IPv6 grant scoped to a client's /56
		g=$(python3 - "$FG_WORK/lab-$row/events.jsonl" <<'PY'
import json, sys
n6 = bad = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("event_type") != "grant" or ":" not in e["grant"]["address"]:
        continue
    n6 += 1
    g = e["grant"]
    if g["scope"] != "net" or not (g["client"].startswith("fd01:") and g["client"].endswith("/56")):
        bad += 1
print("v6_grants=%d not_net56=%d" % (n6, bad))
PY
)
		log "$row: $g"
		assert_match "$row: the IPv6 grants are subnet grants of the clients' /56" '^v6_grants=[1-9][0-9]* not_net56=0$' "$g"
		;;
	esac
done

# `make results`: the tables are rendered from these runs' JSON into the
# marked parts of a Markdown file, and nothing outside the markers changes
MD="$FG_WORK/results.md"
printf '# kept\nhand text 12345\n<!-- BEGIN fluxlab results: all-runs -->\nstale 999\n<!-- END fluxlab results: all-runs -->\ntail 678\n<!-- BEGIN fluxlab results: families -->\n<!-- END fluxlab results: families -->\n' >"$MD"
out=$(python3 "$FG_REPO/lab/results.py" --update "$MD" "$FG_WORK" 2>&1); rc=$?
assert_eq "lab/results.py --update exits 0" 0 "$rc"
assert_match "lab/results.py says what it rendered" 'results.md: 2 table\(s\) from [0-9]+ run\(s\)' "$out"
md=$(cat "$MD")
assert_nomatch "the stale table is replaced" 'stale 999' "$md"
assert_match "text outside the markers is kept" 'hand text 12345' "$md"
assert_match "text after the markers is kept" 'tail 678' "$md"
for row in $ROWS; do
	[ -s "$FG_WORK/$row.json" ] || continue
	mt=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["legit"]["misrouted_text"])' "$FG_WORK/$row.json")
	assert_match "results: $row's row carries its JSON's misrouted figure" "^\| $row \| [0-9]+ \| [0-9]+ \| ${mt//[()]/.} \|" "$md"
done
case " $ROWS " in
*" te-100-some-20ms-v6 "*)
	assert_match "results: the per-family table has the /64 row with the T&E arithmetic" \
		'^\| te-100-some-20ms-v6 \| IPv6 `2001:db8:100::/64` \| 1.845·10\^19 \| .* \| 221360928884514619392 \|' "$md" ;;
esac
printf 'no markers\n' >"$FG_WORK/none.md"
out=$(python3 "$FG_REPO/lab/results.py" --update "$FG_WORK/none.md" "$FG_WORK" 2>&1); rc=$?
assert_eq "lab/results.py refuses a file without markers" 1 "$rc"
assert_match "and says so" "no '<!-- BEGIN fluxlab results: NAME -->' markers" "$out"
finish
