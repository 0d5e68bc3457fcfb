#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# fluxlab end to end (issue 5): runs lab/scenarios/check.yaml (25 s: 50 stub
# clients over HTTP/HTTPS/SSH/SMTP; invalid sessions, a defence-aware
# prober, a sweep, nmap and a spoofed SYN flood) and asserts on its JSON:
# every legit session reached the real server, none went to a decoy, no
# attacker reached the real server (neither by the sessions' markers nor by
# the real server's SYN counters), and fluxlab left no namespace behind.
# Also: `fluxlab check` rejects a bad scenario with file:line.
#
# fluxlab builds its own topology and starts its own fluxgated, so the
# lib.sh namespaces are not used here; lib.sh gives the checks and cleanup.
# Env: FLUXGATED (see lib.sh), FLUXLAB (default: build/fluxlab).

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip nft unbound lighttpd nmap kdig openssl python3
FLUXLAB=${FLUXLAB:-$FG_REPO/build/fluxlab}
[ -x "$FLUXLAB" ] || die "fluxlab not found at $FLUXLAB (build it: make)"
export FLUXGATED
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}
export FLUXCTL

# --- parser rejects bad files with file:line
BAD="$FG_WORK/bad.yaml"
printf 'name: bad\nduration: 10s\nlegit:\n  clients: 10\n  protocols: [http, gopher]\n' >"$BAD"
out=$("$FLUXLAB" check "$BAD" 2>&1); rc=$?
assert_eq "fluxlab check: bad scenario exits 2" 2 "$rc"
assert_match "fluxlab check: file:line diagnostic" "^$BAD:5: legit.protocols: unknown protocol 'gopher'" "$out"
check "fluxlab check: every shipped scenario is valid" "$FLUXLAB" check "$FG_REPO"/lab/scenarios/*.yaml

# --- the run
JSON="$FG_WORK/check.json"
timeout -k 10 150 "$FLUXLAB" run "$FG_REPO/lab/scenarios/check.yaml" --json "$JSON" \
	--report "$FG_WORK/check.html" --workdir "$FG_WORK/lab" >"$FG_WORK/fluxlab.out" 2>&1
rc=$?
cat "$FG_WORK/fluxlab.out"
assert_eq "fluxlab run check.yaml exits 0 (its expectations hold)" 0 "$rc"
# its own namespaces only (other fluxlab runs on a shared machine come and
# go meanwhile): the run names them in its output ("namespaces flPID-*")
prefix=$(grep -o 'namespaces fl[0-9]*-' "$FG_WORK/fluxlab.out" | head -n 1 | sed 's/namespaces //')
assert_match "fluxlab names its namespaces" '^fl[0-9]+-$' "$prefix"
assert_eq "fluxlab removed its namespaces" "" "$(ip netns list | grep "^$prefix" || true)"
[ -s "$JSON" ] || { fail "fluxlab wrote $JSON"; finish; }

# json_checks JSON < SCRIPT: like lib.sh's py_checks, without a namespace
json_checks() {
	local out rc line nfail=0
	out=$(timeout 60 python3 -c "$(cat)" "$1" 2>&1); rc=$?
	while IFS= read -r line; do
		case $line in
		"PASS "*) ok "${line#PASS }" ;;
		"FAIL "*) fail "${line#FAIL }"; nfail=$((nfail + 1)) ;;
		esac
	done <<<"$out"
	if [ $rc -ne 0 ] && [ $nfail -eq 0 ]; then
		fail "json checks ran to the end" "exit $rc" "$(tail -n 20 <<<"$out")"
	fi
}
json_checks "$JSON" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
L = j["legit"]
def chk(name, cond, detail=""):
    print(("PASS " if cond else "FAIL ") + name + ("" if cond else ": " + detail))
chk("legit sessions ran", L["sessions"] >= 200, str(L["sessions"]))
chk("legit misrouted == 0", L["misrouted"] == 0, L["misrouted_text"])
chk("legit all reached the real server", L["real"] == L["sessions"], json.dumps(L["failed"]))
chk("every protocol reached the real server",
    all(L["per_protocol"].get(p, {}).get("real", 0) > 0 for p in ("http", "https", "ssh", "smtp")),
    json.dumps(L["per_protocol"]))
chk("legit SYNs at decoys == 0", L["syn_at_decoys"] == 0, str(L["syn_at_decoys"]))
chk("attacker reach (sessions) == 0", j["attack"]["reach_sessions"] == 0, json.dumps(j["attack"]))
chk("attacker reach (SYNs at the real server) == 0", j["attack"]["reach_syn_at_server"] == 0, json.dumps(j["attack"]))
by = {a["type"]: a for a in j["attackers"]}
chk("attackers reached the decoys", all(a["syn_at_decoys"] > 0 for a in j["attackers"]),
    json.dumps([(a["name"], a["syn_at_decoys"]) for a in j["attackers"]]))
chk("the sweep covered the pool without a hit",
    by["sweep"]["probes_to_first_hit"] is None and by["sweep"]["probes"] >= by["sweep"]["pool_size"],
    json.dumps(by["sweep"]))
chk("gateway samples present", len(j["series"]["conntrack"]) >= 20, str(len(j["series"]["conntrack"])))
PY
html="$FG_WORK/check.html"
check "HTML report has inline SVG plots" grep -q "<svg" "$html"
finish
