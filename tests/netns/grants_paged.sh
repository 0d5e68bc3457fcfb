#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# `fluxctl grants` paged and read off the main loop, against the real daemon
# and kernel: a few thousand exact-client grants (one query from each of
# N sources); --count equals what the kernel maps hold; a walk with
# --limit 100 yields every kernel grant exactly once; bad cursors and limits
# get a precise error (exit 1) and the daemon keeps serving. Prints (does
# not assert) how long `fluxctl status` took while a full dump ran.
#
#   cli 10.78.0.0/16 (AnyIP sources, direct) --- gw 10.77.0.1 (fluxgated, nft)
#
# Env: FLUXGATED, VALGRIND, FG_LOGDIR (see lib.sh).

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip kdig nft python3
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}
[ -x "$FLUXCTL" ] || die "fluxctl not found at $FLUXCTL"
if [ "$VALGRIND" = 1 ]; then DNS_WAIT=120; else DNS_WAIT=30; fi
N=${FG_GRANTS_N:-3000}   # sources, one grant each (at most 65000)

ns_add cli gw
veth_link cli c0 10.77.0.2/24 gw g0 10.77.0.1/24
# every address of 10.78.0.0/16 is local to cli (AnyIP), routed via c0
nsx cli ip route add local 10.78.0.0/16 dev lo
nsx gw ip route add 10.78.0.0/16 via 10.77.0.2
for k in all default g0; do nsx gw sysctl -qw "net.ipv4.conf.$k.rp_filter=0"; done

chmod o+x "$FG_WORK"
CTL="$FG_WORK/control.sock"
CONF="$FG_WORK/fluxgated.conf"
TABLE="fgpg$$"
cat >"$CONF" <<EOF
server:
  listen: [ "10.77.0.1@53" ]
  user: nobody
  workers: 2
zone:
  - domain: example.test
    soa: { mname: ns1.example.test, rname: hostmaster.example.test }
    records:
      - "@ NS ns1"
      - "ns1 A 10.77.0.1"
pool:
  - id: web4
    prefix: 198.51.100.0/24
service:
  - id: www
    name: www.example.test
    backend: 10.77.0.9
    ports: [ any ]
    pool: web4
    ttl: 300s
policy:
  direct: [ 10.78.0.0/16 ]
rrl:
  rate: 0
decoy:
  route-via: 10.77.0.2
nat:
  backend: nft
  table: $TABLE
control:
  socket: $CTL
EOF
out=$("$FLUXGATED" --check -c "$CONF" 2>&1); rc=$?
assert_eq "--check: the config is valid" 0 "$rc"
[ $rc -eq 0 ] || { log "$out"; finish; }

start_fluxgated gw "$CONF"
wait_dns cli 10.77.0.1 example.test "$DNS_WAIT" "$FG_FLUXGATED_PID" || die "fluxgated does not answer"
fctl() { nsx gw "$FLUXCTL" -s "$CTL" "$@"; }

# ------------------------------------------------------------ N grants
# one A query from each source, 64 in flight, retried up to 5 times
answered=$(nsx cli python3 - "$N" <<'PYEOF'
import ipaddress, random, select, socket, struct, sys
n = int(sys.argv[1])
net = ipaddress.ip_network("10.78.0.0/16")
srcs = [str(net[i + 1]) for i in range(n)]
def query(qid):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for l in b"www.example.test".split(b"."):
        q += bytes([len(l)]) + l
    return q + b"\0" + struct.pack(">HH", 1, 1)
todo = list(range(n)); done = set()
for attempt in range(5):
    pending = [i for i in todo if i not in done]
    for k in range(0, len(pending), 64):
        socks = {}
        for i in pending[k:k + 64]:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((srcs[i], 0))
            s.sendto(query(i & 0xffff), ("10.77.0.1", 53))
            socks[s] = i
        left = dict(socks)
        while left:
            r, _, _ = select.select(list(left), [], [], 10)
            if not r:
                break
            for s in r:
                data = s.recv(4096)
                an = struct.unpack(">H", data[6:8])[0] if len(data) >= 12 else 0
                rcode = data[3] & 15 if len(data) >= 4 else 2
                if rcode == 0 and an > 0:
                    done.add(left[s])
                del left[s]
        for s in socks:
            s.close()
print(len(done))
PYEOF
)
log "answered: $answered of $N sources"
assert_eq "every source gets an address" "$N" "$answered"

# the kernel's view: every element of the grant maps, as client,address
kernel_grants() { nft_map_keys gw "$TABLE"; }
kernel=$(kernel_grants)
nk=$(grep -c . <<<"$kernel")
log "kernel grant elements: $nk"

# ------------------------------------------------------------ --count
out=$(fctl --json grants --count); rc=$?
assert_eq "grants --count exits 0" 0 "$rc"
total=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["count"]["total"])' "$out" 2>/dev/null)
assert_eq "--count total equals the kernel's grant elements" "$nk" "$total"
client=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["count"]["client"])' "$out" 2>/dev/null)
assert_eq "--count: the $N grants are exact-client ones" "$N" "$client"
out=$(fctl grants --count --service www); rc=$?
assert_match "--count --service www (text)" "^total +$nk\$" "$out"
out=$(fctl grants --count --client 10.78.0.1); rc=$?
assert_match "--count --client: one source has one grant" '^total +1$' "$out"

# ------------------------------------------------------------ paging
walk=$(python3 - "$FLUXCTL" "$CTL" "$(ns gw)" <<'PYEOF'
import json, subprocess, sys
ctl, sock, ns = sys.argv[1:4]
seen, pages, after, big = [], 0, None, 0
while True:
    cmd = ["ip", "netns", "exec", ns, ctl, "-s", sock, "--json", "grants", "--limit", "100"]
    if after:
        cmd += ["--after", after]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    j = json.loads(out)
    pages += 1
    big = max(big, len(j["grants"]))
    for g in j["grants"]:
        seen.append("%s,%s" % (g["client"].split("/")[0], g["address"]))
    after = j.get("next")
    if not after or pages > 1000:
        break
print("PAGES %d %d" % (pages, big), file=sys.stderr)
print("\n".join(sorted(seen)))
PYEOF
)
nw=$(grep -c . <<<"$walk")
assert_eq "a walk with --limit 100 yields $nk grants" "$nk" "$nw"
assert_eq "no grant twice in the walk" "$nw" "$(sort -u <<<"$walk" | grep -c .)"
if [ "$walk" == "$kernel" ]; then ok "the walk yields exactly the kernel's grants"; else
	fail "the walk yields exactly the kernel's grants" "$(diff <(echo "$kernel") <(echo "$walk") | head -n 10)"; fi
out=$(fctl grants --limit 100); rc=$?
assert_eq "grants --limit 100 exits 0" 0 "$rc"
assert_match "a text page says how to get the next one" '^next: --after [0-9a-f]{70}$' "$out"
assert_match "a text page has 100 grants" '^100 grants$' "$out"
n=$(fctl --json grants | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["grants"]))')
assert_eq "the default page is 1000 grants" 1000 "$n"

# ------------------------------------------------------------ bad input
out=$(fctl grants --after nonsense 2>&1); rc=$?
assert_eq "bad cursor -> exit 1" 1 "$rc"
assert_match "bad cursor: precise message" 'invalid cursor: expected the 70 hex digits' "$out"
out=$(fctl grants --after "$(printf '09%068d' 0)" 2>&1); rc=$?
assert_eq "cursor with an unknown scope -> exit 1" 1 "$rc"
assert_match "cursor with an unknown scope: message" 'invalid cursor: unknown scope' "$out"
out=$(fctl grants --limit 0 2>&1); rc=$?
assert_eq "--limit 0 -> exit 1" 1 "$rc"
assert_match "--limit 0: message" "invalid limit '0' \\(1 to 10000\\)" "$out"
out=$(fctl grants --limit 10001 2>&1); rc=$?
assert_eq "--limit 10001 -> exit 1" 1 "$rc"
check "after bad requests, status still answers" fctl status
out=$(nsx cli kdig +short +retry=0 +timeout=5 @10.77.0.1 ns1.example.test A 2>&1)
assert_eq "after bad requests, DNS still answers" "10.77.0.1" "$out"

# ------------------------------------------------------------ main loop
# status while full dumps run back to back (measured, not asserted: the
# figure depends on the machine)
fctl grants --count >/dev/null 2>&1 &
d1=$!
fctl grants --limit 10000 >/dev/null 2>&1 &
d2=$!
src=0 worst=0 calls=0
while :; do
	t0=$(date +%s%N)
	fctl status >/dev/null 2>&1 || src=1
	t1=$(date +%s%N)
	calls=$((calls + 1)); ms=$(( (t1 - t0) / 1000000 ))
	[ "$ms" -gt "$worst" ] && worst=$ms
	kill -0 "$d2" 2>/dev/null || break
	[ "$calls" -ge 1000 ] && break
done
wait "$d1"; r1=$?
wait "$d2"; r2=$?
log "measured: $calls fluxctl status calls during dumps of $nk grants, the slowest took $worst ms (dump exits: $r1 $r2; 1 = busy)"
assert_eq "status answers during grants dumps" 0 "$src"
out=$(fctl grants --count 2>&1); rc=$?
assert_eq "grants work after concurrent dumps" 0 "$rc"
fluxgated_alive "daemon still running"
finish
