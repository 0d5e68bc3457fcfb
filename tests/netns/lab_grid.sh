#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
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
# For each row: fluxlab exits 0 (its expectations hold) and its JSON says so;
# in the "some" row the bound is printed and the measured reach is below it.
# Also: `fluxlab check` refuses `attack-reach-max: predicted` with an
# attacker that is not `invalid` (the bound would mean nothing).
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

ROWS=${FG_LAB_ROWS:-te-50-valid-20ms te-50-some-20ms te-50-none-20ms te-100-some-20ms-ecs te-100-some-20ms-direct}
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
if e.get("attack_reach_max") == "predicted":
    print("bound=%d predicted=%.1f" % (e["attack_reach_bound"], e["attack_reach_predicted"]))
PY
)
	log "$row: $(echo $out)"
	assert_match "$row: JSON expect.passed is true" '^passed=True$' "$out"
	case $row in
	*-none-*) ;;
	*) assert_nomatch "$row: legit sessions ran" '^sessions=0$' "$out" ;;
	esac
	case $row in
	*-some-20ms)
		assert_match "$row: the aliasing bound is computed and printed" '^bound=[0-9]+ predicted=' "$out"
		assert_match "$row: fluxlab prints the bound with the reach" 'attacker reach \(sessions [0-9]+ <= [0-9]+ and SYNs' "$(cat "$FG_WORK/$row.out")"
		;;
	esac
done
finish
