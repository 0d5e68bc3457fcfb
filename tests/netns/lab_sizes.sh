#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# fg-runner: sanitizer-only
#
# fluxlab legit.sizes (issue 11): runs lab/scenarios/sizes.yaml (20 s: 40
# stub clients over HTTP, HTTPS and SMTP drawing request and reply sizes,
# invalid sessions at the pool) and asserts on its JSON: its expectations
# hold, the drawn sizes follow the scenario's distributions (not one
# constant), and every body the real server sent had exactly the drawn size
# (totals and p50/p99 equal), so a server that ignores the drawn size fails
# here; for SMTP the server's own count of the message octets equals the
# drawn request sizes too. Then lab/scenarios/sizes-ssh.yaml (20 s): real
# ssh sessions to a real sshd, both directions checked the same way, and
# sizes-ssh-stale.yaml (20 s), where late ones are the decoys'.
# Then lab/scenarios/sizes-stale.yaml (20 s), where clients with a host
# cache reach the decoys: every body a decoy sent had the drawn size too
# (fluxdecoy's sized pages), and the decoy persona carries lighttpd's
# request-head limit. Also: `fluxlab check` rejects bad sizes with file:line.
#
# fluxlab builds its own topology and starts its own fluxgated; lib.sh
# gives the checks and cleanup. Env: FLUXGATED (see lib.sh), FLUXLAB
# (default: the fluxlab next to FLUXGATED, so NAME@asan runs the ASan
# fluxlab, whose engine draws and counts the sizes, and its fluxdecoy).

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip nft unbound lighttpd openssl python3 ssh ssh-keygen /usr/sbin/sshd
FLUXLAB=${FLUXLAB:-$(dirname "$FLUXGATED")/fluxlab}
[ -x "$FLUXLAB" ] || FLUXLAB=$FG_REPO/build/fluxlab
[ -x "$FLUXLAB" ] || die "fluxlab not found at $FLUXLAB (build it: make)"
export FLUXGATED
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}
export FLUXCTL

BAD="$FG_WORK/bad.yaml"
printf 'name: bad\nlegit:\n  protocols: [http, smtp]\n  sizes:\n    http: { reply: { dist: pareto, shape: 1 } }\n    ftp: { reply: 10 }\n    smtp: { reply: 2000000 }\n' >"$BAD"
out=$("$FLUXLAB" check "$BAD" 2>&1); rc=$?
assert_eq "fluxlab check: bad sizes exit 2" 2 "$rc"
assert_match "fluxlab check: pareto without min, file:line" \
	"^$BAD:5: legit.sizes.http.reply: distribution 'pareto' needs 'min'" "$out"
assert_match "fluxlab check: an unknown protocol, file:line" \
	"^$BAD:6: legit.sizes: unknown protocol 'ftp' \\(http, https, ssh, smtp\\)" "$out"
assert_match "fluxlab check: an SMTP reply over its bound, file:line" \
	"^$BAD:7: legit.sizes.smtp.reply: 2000000 out of range \\[0, 1e\\+06\\]" "$out"

JSON="$FG_WORK/sizes.json"
timeout -k 10 150 "$FLUXLAB" run "$FG_REPO/lab/scenarios/sizes.yaml" --json "$JSON" \
	--workdir "$FG_WORK/lab" >"$FG_WORK/fluxlab.out" 2>&1
rc=$?
cat "$FG_WORK/fluxlab.out"
assert_eq "fluxlab run sizes.yaml exits 0 (its expectations hold)" 0 "$rc"
# its own namespaces (it logs their prefix): other labs may run beside
NSP=$(grep -o 'namespaces fl[0-9]*-' "$FG_WORK/fluxlab.out" | head -1 | cut -d' ' -f2)
if [ -n "$NSP" ]; then
	assert_eq "fluxlab removed its namespaces ($NSP*)" 0 "$(ip netns list | grep -c "^$NSP" || true)"
else
	fail "fluxlab logged its namespace prefix"
fi
assert_match "summary prints drawn and received sizes" "sizes http +request p50 [0-9]+ p99 [0-9]+ B, reply p50" \
	"$(cat "$FG_WORK/fluxlab.out")"
[ -s "$JSON" ] || { fail "fluxlab wrote $JSON"; finish; }

out=$(timeout 60 python3 - "$JSON" <<'PY' 2>&1
import json, sys
j = json.load(open(sys.argv[1]))
Z = j["legit"].get("sizes", {})
def chk(name, cond, detail=""):
    print(("PASS " if cond else "FAIL ") + name + ("" if cond else ": " + str(detail)))
chk("legit.sizes has http, https and smtp", set(Z) == {"http", "https", "smtp"}, list(Z))
for p, z in Z.items():
    chk(p + ": sessions drew sizes", z["sessions"] >= 100, z["sessions"])
    # sessions still in flight when the run stops drew sizes too
    chk(p + ": sized sessions answered", z["answered"] >= 0.95 * z["sessions"], z)
    chk(p + ": no body off its drawn size (real server)", z["mismatch"]["real"] == 0, z["mismatch"])
    chk(p + ": no decoy answered", z["mismatch"]["decoy"] == 0, z["mismatch"])
    chk(p + ": received bytes == drawn reply bytes", z["received_bytes"] == z["reply_bytes"] > 0,
        (z["received_bytes"], z["reply_bytes"]))
    chk(p + ": received p50/p99 match the drawn ones (within 5%)",
        all(abs(z["received"][q] - z["reply"][q]) <= 0.05 * z["reply"][q] for q in ("p50", "p99")),
        (z["received"], z["reply"]))
    chk(p + ": reply sizes spread (p99 > 2 x p50)", z["reply"]["p99"] > 2 * z["reply"]["p50"] > 0, z["reply"])
    chk(p + ": request sizes spread (p99 > p50 > 0)", z["request"]["p99"] > z["request"]["p50"] > 0, z["request"])
    if p in ("ssh", "smtp"):
        # the other direction, by the server's own count
        q = z.get("request_received", {})
        chk(p + ": the real server received every drawn request byte",
            q.get("server_bytes") == q.get("request_bytes", -1) > 0 and q.get("mismatch") == 0, q)
# the scenario's distributions: HTTP replies Pareto(1.2, min 1000) x 2 have
# their p50 at 2000 * 2^(1/1.2) ~ 3560; HTTPS uniform requests 100..2000
m = Z.get("smtp")
if m:
    # SMTP messages Pareto(1.5, min 2000): p50 at 2000 * 2^(1/1.5) ~ 3175
    chk("smtp request p50 near the Pareto median", 2600 < m["request"]["p50"] < 3900, m["request"])
    chk("smtp messages never below min", m["request"]["p50"] >= 2000, m["request"])
h, t = Z.get("http"), Z.get("https")
if h and t:
    chk("http reply p50 near the Pareto median", 2800 < h["reply"]["p50"] < 4600, h["reply"])
    chk("http replies never below min x scale", h["received"]["p50"] >= 2000, h["received"])
    chk("https requests within uniform 100..2000", 100 <= t["request"]["p50"] <= 2000 and t["request"]["p99"] <= 2000,
        t["request"])
PY
)
json_checks() {
	while IFS= read -r line; do
		case $line in
		"PASS "*) ok "${line#PASS }" ;;
		"FAIL "*) fail "${line#FAIL }" ;;
		*) [ -n "$line" ] && fail "json checks: $line" ;;
		esac
	done <<<"$1"
}
json_checks "$out"

# sizes-ssh.yaml: every legit session is a real ssh to the real server's
# sshd, moving the drawn request bytes up the channel and the drawn reply
# bytes back; both directions are counted on the far side
JSON3="$FG_WORK/sizes-ssh.json"
timeout -k 10 150 "$FLUXLAB" run "$FG_REPO/lab/scenarios/sizes-ssh.yaml" --json "$JSON3" \
	--workdir "$FG_WORK/lab-ssh" >"$FG_WORK/fluxlab-ssh.out" 2>&1
rc=$?
cat "$FG_WORK/fluxlab-ssh.out"
assert_eq "fluxlab run sizes-ssh.yaml exits 0 (its expectations hold)" 0 "$rc"
assert_match "the real server's sshd carries the lab marker" "^VersionAddendum fluxlab-real$" \
	"$(cat "$FG_WORK/lab-ssh/ssh/sshd_config" 2>/dev/null)"
[ -s "$JSON3" ] || { fail "fluxlab wrote $JSON3"; finish; }
out=$(timeout 60 python3 - "$JSON3" <<'PY' 2>&1
import json, sys
j = json.load(open(sys.argv[1]))
z = j["legit"].get("sizes", {}).get("ssh")
def chk(name, cond, detail=""):
    print(("PASS " if cond else "FAIL ") + name + ("" if cond else ": " + str(detail)))
chk("ssh: sizes drawn", z is not None and z["sessions"] >= 20, z)
if z:
    q = z.get("request_received", {})
    chk("ssh: sized sessions answered", z["answered"] >= 0.95 * z["sessions"], z)
    chk("ssh: no reply off its drawn size", z["mismatch"]["real"] == 0, z["mismatch"])
    chk("ssh: received bytes == drawn reply bytes", z["received_bytes"] == z["reply_bytes"] > 0,
        (z["received_bytes"], z["reply_bytes"]))
    chk("ssh: the server read every drawn request byte",
        q.get("server_bytes") == q.get("request_bytes", -1) > 0 and q.get("mismatch") == 0, q)
    chk("ssh: reply sizes spread (p99 > 2 x p50)", z["reply"]["p99"] > 2 * z["reply"]["p50"] > 0, z["reply"])
    chk("ssh: replies never below the Pareto min", z["received"]["p50"] >= 5000, z["received"])
PY
)
json_checks "$out"

# sizes-ssh-stale.yaml: half the SSH clients keep a 1 h host cache against a
# 2 s pin; their late sessions reach the decoys, whose SSH persona refuses
# the key: decoy-answered, explained as late; the rest are exact as above
JSON4="$FG_WORK/sizes-ssh-stale.json"
timeout -k 10 150 "$FLUXLAB" run "$FG_REPO/lab/scenarios/sizes-ssh-stale.yaml" --json "$JSON4" \
	--workdir "$FG_WORK/lab-ssh-stale" >"$FG_WORK/fluxlab-ssh-stale.out" 2>&1
rc=$?
cat "$FG_WORK/fluxlab-ssh-stale.out"
assert_eq "fluxlab run sizes-ssh-stale.yaml exits 0 (its expectations hold)" 0 "$rc"
[ -s "$JSON4" ] || { fail "fluxlab wrote $JSON4"; finish; }
out=$(timeout 60 python3 - "$JSON4" <<'PY' 2>&1
import json, sys
j = json.load(open(sys.argv[1]))
L = j["legit"]
z = L.get("sizes", {}).get("ssh", {})
P = L.get("per_protocol", {}).get("ssh", {})
def chk(name, cond, detail=""):
    print(("PASS " if cond else "FAIL ") + name + ("" if cond else ": " + str(detail)))
chk("ssh stale: decoys answered sized SSH sessions", P.get("decoy", 0) >= 1, P)
chk("ssh stale: the real server answered the others", P.get("real", 0) >= 10, P)
chk("ssh stale: every decoy answer is explained as late, none as product",
    L["misrouted_explained"]["product"] == 0 and L["misrouted_explained"]["late"] == L["misrouted"] >= 1,
    L["misrouted_explained"])
q = z.get("request_received", {})
chk("ssh stale: real-server replies of the drawn size", z.get("mismatch", {}).get("real") == 0 and
    z.get("received_bytes") == z.get("reply_bytes", -1) > 0, z)
chk("ssh stale: the real server read every drawn request byte",
    q.get("server_bytes") == q.get("request_bytes", -1) > 0 and q.get("mismatch") == 0, q)
PY
)
json_checks "$out"

# sizes-stale.yaml: clients with a host cache come back late to addresses
# no longer granted to them and the decoys answer; fluxdecoy's sized pages
# (cloned from the decoy side's lighttpd) give those sessions bodies of the
# drawn size too. Before sized pages every such body was the decoy's 404.
JSON2="$FG_WORK/sizes-stale.json"
timeout -k 10 150 "$FLUXLAB" run "$FG_REPO/lab/scenarios/sizes-stale.yaml" --json "$JSON2" \
	--workdir "$FG_WORK/lab-stale" >"$FG_WORK/fluxlab-stale.out" 2>&1
rc=$?
cat "$FG_WORK/fluxlab-stale.out"
assert_eq "fluxlab run sizes-stale.yaml exits 0 (its expectations hold)" 0 "$rc"
assert_match "the decoy persona has /size.bin as a sized page" '^        size: [1-9][0-9]*$' \
	"$(cat "$FG_WORK/lab-stale/dcy/decoy.persona" 2>/dev/null)"
assert_match "the decoy persona has lighttpd's request-head limit (65535)" '^    max-request-head: 65535$' \
	"$(cat "$FG_WORK/lab-stale/dcy/decoy.persona" 2>/dev/null)"
[ -s "$JSON2" ] || { fail "fluxlab wrote $JSON2"; finish; }
out=$(timeout 60 python3 - "$JSON2" <<'PY' 2>&1
import json, sys
j = json.load(open(sys.argv[1]))
L = j["legit"]
Z = L.get("sizes", {})
def chk(name, cond, detail=""):
    print(("PASS " if cond else "FAIL ") + name + ("" if cond else ": " + str(detail)))
chk("stale: decoys answered legit sized sessions (>= 10)", L["misrouted"] >= 10, L["misrouted"])
chk("stale: every decoy answer is explained as late, none as product",
    L["misrouted_explained"]["product"] == 0 and L["misrouted_explained"]["late"] == L["misrouted"],
    L["misrouted_explained"])
P = L.get("per_protocol", {})
for p in ("smtp",):
    # a decoy's SMTP persona answers sized sessions too: decoy-answered
    chk("stale " + p + ": sized sessions answered by decoys", P.get(p, {}).get("decoy", 0) >= 1, P.get(p))
    q = Z.get(p, {}).get("request_received", {})
    chk("stale " + p + ": the real server read every drawn request byte",
        q.get("server_bytes") == q.get("request_bytes", -1) > 0 and q.get("mismatch") == 0, q)
for p, z in Z.items():
    chk("stale " + p + ": no body off its drawn size from a decoy", z["mismatch"]["decoy"] == 0, z["mismatch"])
    chk("stale " + p + ": no body off its drawn size from the real server", z["mismatch"]["real"] == 0, z["mismatch"])
    chk("stale " + p + ": received bytes == drawn reply bytes", z["received_bytes"] == z["reply_bytes"] > 0,
        (z["received_bytes"], z["reply_bytes"]))
PY
)
json_checks "$out"
finish
