#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Differential test: Knot DNS and fluxgated serve the same two zones (from
# one record list, tests/netns/lib.sh); the same queries go to both from a
# client namespace; knot_diff.py normalises the answers (ID, timing and
# server-specific lines dropped, records sorted within each section) and
# compares header flags, rcode, EDNS, question, answer, authority and
# additional. Every difference is printed; the test fails on any that
# tests/netns/knot_diff.allow does not list (each entry gives its reason).
#
#   cli 10.53.0.2 ---- 10.53.0.1 fg    (fluxgated, 2 workers)
#   cli 10.53.1.2 ---- 10.53.1.1 knot  (knotd, 2 UDP workers)
#
# Env: FLUXGATED, VALGRIND=1, FG_LOGDIR (see lib.sh).

. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

need_root
need_cmd ip kdig dig knotd python3 ss
[ -x "$FLUXGATED" ] || die "fluxgated binary not found at $FLUXGATED (build it: make)"

ns_add cli fg knot
veth_link cli fg0 10.53.0.2/24 fg eth0 10.53.0.1/24
veth_link cli kn0 10.53.1.2/24 knot eth0 10.53.1.1/24

# ------------------------------------------------------------ Knot
KDIR="$FG_WORK/knot"
mkdir -p "$KDIR"
zones_files "$KDIR"
knot_conf "$KDIR" 2 1 "10.53.1.1@53"
start_bg knotd knot knotd -c "$KDIR/knot.conf"
KNOT_PID=$BG_PID
wait_dns cli 10.53.1.1 example.test 20 "$KNOT_PID" \
	|| die "knotd did not answer on 10.53.1.1 (log: $FG_WORK/knotd.log): $(tail -n 20 "$FG_WORK/knotd.log")"
ok "knotd serves the test zones"

# ------------------------------------------------------------ fluxgated
CONF="$FG_WORK/fluxgated.conf"
{
	cat <<EOF
server:
  listen: [ "10.53.0.1@53" ]
  workers: 2
control:
  socket: "$FG_WORK/control.sock"
nat:
  backend: memory
EOF
	zones_yaml
} >"$CONF"

FG_FLUXGATED_ARGS=--test-memory-backend   # nat.backend: memory (no kernel)
check "fluxgated --check accepts the diff config" "$FLUXGATED" $FG_FLUXGATED_ARGS --check -c "$CONF"
start_fluxgated fg "$CONF"
if ! wait_dns cli 10.53.0.1 example.test 90 "$FG_FLUXGATED_PID"; then
	fail "fluxgated answers on 10.53.0.1" "$(tail -n 30 "$FG_FLUXGATED_LOG")"
	finish
fi
ok "fluxgated answers on 10.53.0.1"

# Both sides must serve the same zone version, or the diff is meaningless.
k_soa=$(nsx cli kdig @10.53.1.1 +short example.test SOA)
f_soa=$(nsx cli kdig @10.53.0.1 +short example.test SOA)
assert_eq "both servers hold the same SOA" "$k_soa" "$f_soa"

# ------------------------------------------------------------ the queries
QUERIES="$FG_WORK/queries.txt"
cat >"$QUERIES" <<'EOF'
# LABEL | TOOL | ARGS  (tool: kdig, dig (keeps qname case), raw (knot_diff.py probes))
soa                  | kdig | example.test SOA
ns                   | kdig | example.test NS
a-www                | kdig | www.example.test A
aaaa-www             | kdig | www.example.test AAAA
a-ns1                | kdig | ns1.example.test A
mx                   | kdig | example.test MX
txt-apex             | kdig | example.test TXT
txt-own-ttl          | kdig | www.example.test TXT
txt-multi-string     | kdig | multi.example.test TXT
txt-escapes          | kdig | esc.example.test TXT
srv                  | kdig | _sip._udp.example.test SRV
srv-null-target      | kdig | _nosvc._tcp.example.test SRV
mx-null              | kdig | nullmx.example.test MX
txt-empty-string     | kdig | empty.example.test TXT
txt-255              | kdig | long.example.test TXT
ttl-zero             | kdig | ttl0.example.test A
ttl-and-class        | kdig | cls.example.test A
label-63             | kdig | lllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll.example.test A
srv-parent-ent       | kdig | _udp.example.test SRV
ptr                  | kdig | 80.0.0.10.in-addr.arpa PTR
ptr-nxdomain         | kdig | 99.0.0.10.in-addr.arpa PTR
reverse-soa          | kdig | 0.0.10.in-addr.arpa SOA
reverse-ns           | kdig | 0.0.10.in-addr.arpa NS
cname-to-a           | kdig | ftp.example.test A
cname-chain          | kdig | alias.example.test A
cname-chain-aaaa     | kdig | alias.example.test AAAA
cname-then-nodata    | kdig | ftp.example.test MX
cname-qtype-cname    | kdig | ftp.example.test CNAME
cname-out-of-zone    | kdig | ext.example.test A
cname-loop           | kdig | loop1.example.test A
nxdomain             | kdig | nope.example.test A
nxdomain-deep        | kdig | a.b.c.nope.example.test A
nxdomain-below-leaf  | kdig | x.www.example.test A
nxdomain-below-cname | kdig | x.ftp.example.test A
nodata               | kdig | mail.example.test MX
nodata-txt           | kdig | ns1.example.test TXT
nodata-apex-a        | kdig | example.test A
ent                  | kdig | b.ent.example.test A
ent-top              | kdig | ent.example.test TXT
ent-leaf             | kdig | a.b.ent.example.test A
referral             | kdig | foo.sub.example.test A
referral-cut-ns      | kdig | sub.example.test NS
referral-cut-a       | kdig | sub.example.test A
referral-glue-name   | kdig | ns.sub.example.test A
referral-norec       | kdig | +norec www.sub.example.test MX
ds-at-cut            | kdig | sub.example.test DS
referral-no-glue     | kdig | www.sub2.example.test A
referral-aaaa-glue   | kdig | www.sub6.example.test A
referral-v6-glue-name| kdig | ns.sub6.example.test AAAA
norec                | kdig | +norec www.example.test A
unknown-type         | kdig | www.example.test TYPE999
unknown-type-https   | kdig | example.test TYPE65
type-hinfo           | kdig | www.example.test HINFO
type-ds-apex         | kdig | example.test DS
type-dnskey          | kdig | example.test DNSKEY
type-caa             | kdig | example.test CAA
any-apex             | kdig | example.test ANY
any-www              | kdig | www.example.test ANY
any-nx               | kdig | nope.example.test ANY
any-apex-tcp         | kdig | +tcp example.test ANY
any-www-tcp          | kdig | +tcp www.example.test ANY
any-ent              | kdig | b.ent.example.test ANY
qtype-opt            | kdig | www.example.test TYPE41
qtype-tsig           | kdig | www.example.test TYPE250
qtype-maila          | kdig | www.example.test TYPE254
qtype-zero           | kdig | www.example.test TYPE0
refused-foreign      | kdig | www.other.invalid A
refused-parent       | kdig | test SOA
refused-root         | kdig | . NS
refused-sibling      | kdig | example.testx A
ch-version           | kdig | -c CH version.bind TXT
ch-id                | kdig | -c CH id.server TXT
ch-zone              | kdig | -c CH example.test SOA
noedns               | kdig | +noedns www.example.test A
edns-do              | kdig | +dnssec www.example.test A
edns-do-nxdomain     | kdig | +dnssec nope.example.test A
edns-bufsize-4096    | kdig | +bufsize=4096 www.example.test A
edns-bufsize-512-big | kdig | +bufsize=512 +ignore big.example.test TXT
edns-version-1       | kdig | +edns=1 www.example.test A
ecs-v4               | kdig | +subnet=192.0.2.0/24 www.example.test A
ecs-v6               | kdig | +subnet=2001:db8::/56 www.example.test AAAA
ecs-nxdomain         | kdig | +subnet=192.0.2.0/24 nope.example.test A
ecs-zero             | kdig | +subnet=0.0.0.0/0 www.example.test A
nsid                 | kdig | +nsid www.example.test A
cookie               | kdig | +cookie www.example.test A
tc-udp-noedns        | kdig | +noedns +ignore big.example.test TXT
tc-udp-edns          | kdig | +ignore big.example.test TXT
big-over-tcp         | kdig | +tcp big.example.test TXT
tcp-a                | kdig | +tcp www.example.test A
tcp-nxdomain         | kdig | +tcp nope.example.test A
tcp-referral         | kdig | +tcp foo.sub.example.test A
tcp-keepopen-3       | kdig | +tcp +keepopen www.example.test A mail.example.test AAAA example.test MX
case-a               | dig  | +norec wWw.ExAmPlE.tEsT A
case-cname           | dig  | +norec FtP.example.TEST A
case-mx              | dig  | +norec ExAmPlE.TeSt MX
case-nxdomain        | dig  | +norec NoPe.ExAmPlE.tEsT A
case-referral        | dig  | +norec FOO.SUB.example.test A
case-ptr             | dig  | +norec 80.0.0.10.IN-ADDR.ARPA PTR
dig-defaults         | dig  | www.example.test A
dig-ad-cd            | dig  | +adflag +cdflag www.example.test A
raw-axfr             | raw  | axfr
raw-ixfr             | raw  | ixfr
raw-axfr-udp         | raw  | axfr-udp
raw-opcode-iquery    | raw  | opcode-iquery
raw-opcode-status    | raw  | opcode-status
raw-opcode-notify    | raw  | opcode-notify
raw-opcode-update    | raw  | opcode-update
raw-opcode-15        | raw  | opcode-15
raw-qdcount-0        | raw  | qdcount-0
raw-qdcount-2        | raw  | qdcount-2
raw-class-any        | raw  | class-any
raw-class-none       | raw  | class-none
raw-class-hs         | raw  | class-hs
raw-z-bit            | raw  | z-bit-set
raw-tc-in-query      | raw  | tc-bit-in-query
raw-edns-unknown-opt | raw  | edns-unknown-option
raw-edns-udp-100     | raw  | edns-udp-100
raw-edns-two-opt     | raw  | edns-two-opt
raw-edns-ext-flags   | raw  | edns-do-ext-flags
raw-ecs-bad-scope    | raw  | edns-ecs-bad-scope
raw-ecs-bad-family   | raw  | edns-ecs-bad-family
raw-ecs-src-33       | raw  | edns-ecs-src-33
raw-ecs-v6           | raw  | edns-ecs-v6
raw-ecs-dirty-bits   | raw  | edns-ecs-dirty-bits
raw-tcp-pipelined-3  | raw  | tcp-pipelined-3
raw-root-soa         | raw  | root-soa
raw-name-max-len     | raw  | name-max-len
EOF

mkdir -p "$FG_WORK/answers"
log "comparing (per-query outputs in $FG_WORK/answers)"
nsx cli python3 "$HERE/knot_diff.py" --knot 10.53.1.1 --fg 10.53.0.1 \
	--queries "$QUERIES" --allow "$HERE/knot_diff.allow" --outdir "$FG_WORK/answers" \
	>"$FG_WORK/diff.txt" 2>&1
diff_rc=$?
cat "$FG_WORK/diff.txt"
case $diff_rc in
0) ok "no unexpected difference between Knot and fluxgated" ;;
1) fail "no unexpected difference between Knot and fluxgated" "$(grep 'NOT ALLOWED' "$FG_WORK/diff.txt")" ;;
*) fail "knot_diff.py ran" "exit $diff_rc" ;;
esac

fluxgated_alive "fluxgated survived the whole query set"
stop_fluxgated
stop_bg "$KNOT_PID"
finish
