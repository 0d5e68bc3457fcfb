#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The cost of publishing an external name (service.external): how long one
# epoch of a zone takes fluxgated, grant (privsep channel, kernel ACK) and
# signed RFC 2136 UPDATE over TCP to a real knotd (connect, TSIG sign,
# Knot applies and journals the change, answer verified), for a zone of 1
# and of 16 names; side by side with knsupdate sending the same UPDATEs
# (the same names, TSIG key and TCP) in the same run:
#
#   gw 10.55.0.1 (fluxgated, nftables; knsupdate) ---- 10.55.0.53 knot (knotd)
#
# fluxgated's figures are its own per-epoch timings (debug log), medians
# and p90 over EPOCHS epochs; knsupdate's are the wall time of a session of
# EPOCHS sends divided by EPOCHS (process start included once), median of
# RUNS sessions. Indicative only on a shared machine.
#
# Env: FLUXGATED, RUNS (3), EPOCHS (20), OUT (append the result lines).
# Usage: sudo bench/ddns/run.sh

HERE=$(cd "$(dirname "$0")" && pwd)
FG_TEST_NAME=bench-ddns
. "$HERE/../../tests/netns/lib.sh"

RUNS=${RUNS:-3}
EPOCHS=${EPOCHS:-20}
OUT=${OUT:-}
SECRET=YmVuY2gtZGRucy1rZXktZm9yLWZsdXhnYXRlLWJlbmNo

need_root
need_cmd ip knotd knsupdate kdig ss awk
[ -x "$FLUXGATED" ] || die "fluxgated binary not found at $FLUXGATED (make all)"
[ "$VALGRIND" = 1 ] && die "do not benchmark under valgrind (unset VALGRIND)"

ns_add gw knot
veth_link gw k0 10.55.0.1/24 knot eth0 10.55.0.53/24
modprobe nf_conntrack 2>/dev/null
nsx gw sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0 || die "nf_conntrack_tcp_loose"

KDIR="$FG_WORK/knot"
mkdir -p "$KDIR/run" "$KDIR/db"
{
	printf '$TTL 60\n@ SOA ns1 hostmaster 1 3600 600 86400 1\n@ NS ns1\nns1 A 10.55.0.53\n'
	for i in $(seq 1 16); do printf 'n%d.mtd A 192.0.2.%d\n' "$i" "$i"; done
} >"$KDIR/bench.test.zone"
cat >"$KDIR/knot.conf" <<EOF
server:
    rundir: "$KDIR/run"
    user: root:root
    listen: [ "10.55.0.53@53" ]
    background-workers: 1
log:
  - target: stderr
    any: warning
database:
    storage: "$KDIR/db"
key:
  - id: mtd.bench.test
    algorithm: hmac-sha256
    secret: $SECRET
acl:
  - id: fluxgate
    key: mtd.bench.test
    action: update
    update-owner: key
    update-type: [ A, AAAA ]
zone:
  - domain: bench.test
    storage: "$KDIR"
    file: "bench.test.zone"
    zonefile-sync: -1
    journal-content: changes
    acl: fluxgate
EOF
start_bg knotd knot knotd -c "$KDIR/knot.conf"; KNOT_PID=$BG_PID
wait_dns gw 10.55.0.53 bench.test 30 "$KNOT_PID" || die "knotd does not answer"

median() { sort -n | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]; else print "nan"}'; }
p90() { sort -n | awk '{v[NR]=$1} END {i=int(NR*0.9); if (i<1) i=1; if (NR) print v[i]; else print "nan"}'; }

# fluxgated: M names in one zone, epoch 1 s, EPOCHS published epochs
run_fluxgated() {
	local m=$1 conf="$FG_WORK/fg$1.conf" i deadline
	{
		cat <<EOF
server:
  listen: [ "10.55.0.1@5300" ]
  user: nobody
  workers: 1
control:
  socket: "$FG_WORK/control$m.sock"
log:
  level: debug
key:
  - { id: mtd.bench.test, algorithm: hmac-sha256, secret: "$SECRET" }
pool:
EOF
		for i in $(seq 1 "$m"); do printf '  - { id: p%d, prefix: 198.51.%d.0/24 }\n' "$i" "$i"; done
		echo "service:"
		for i in $(seq 1 "$m"); do
			printf '  - { id: s%d, name: n%d.mtd.bench.test, backend: 10.55.0.80@80, pool: p%d, ttl: 1s, grace: 1s,\n' "$i" "$i" "$i"
			printf '      external: { server: 10.55.0.53, zone: bench.test, key: mtd.bench.test, epoch: 1s, timeout: 900ms } }\n'
		done
		printf 'nat:\n  table: fgbench%s\n' "$$"
	} >"$conf"
	start_fluxgated gw "$conf" "fluxgated-$m"
	deadline=$((SECONDS + EPOCHS * 3 + 30))
	while [ "$(grep -c 'published, serial' "$FG_FLUXGATED_LOG" 2>/dev/null)" -lt $((EPOCHS + 1)) ] \
		&& [ $SECONDS -lt $deadline ]; do sleep 0.5; done
	stop_fluxgated "fluxgated ($m names) stops"
	# the first epoch opens the connection path cold: left out
	grep 'published, serial' "$FG_FLUXGATED_LOG" | tail -n +2 | head -n "$EPOCHS" |
		sed -E 's/.*\(grant ([0-9]+) us, signed UPDATE exchange ([0-9]+) us\)/\1 \2/' \
		>"$FG_WORK/fg$m.times"
}

# knsupdate: EPOCHS sends of the same M-name UPDATE (TCP, TSIG)
run_knsupdate() {
	local m=$1 r i k t0 t1 script
	script="$FG_WORK/kns$m.txt"
	: >"$script"
	for ((k = 0; k < EPOCHS; k++)); do
		printf 'server 10.55.0.53\nzone bench.test\norigin bench.test\n' >>"$script"
		for i in $(seq 1 "$m"); do
			printf 'del n%d.mtd A\nadd n%d.mtd 1 A 198.51.%d.%d\n' "$i" "$i" "$i" $((k % 250 + 2)) >>"$script"
		done
		printf 'send\n' >>"$script"
	done
	for ((r = 0; r < RUNS; r++)); do
		t0=$(date +%s%N)
		nsx gw knsupdate -v -y "hmac-sha256:mtd.bench.test:$SECRET" "$script" \
			>"$FG_WORK/kns$m.log" 2>&1 || die "knsupdate failed: $(tail -n 5 "$FG_WORK/kns$m.log")"
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000 / EPOCHS))
	done >"$FG_WORK/kns$m.times"
}

results=()
for m in 1 16; do
	run_fluxgated "$m"
	run_knsupdate "$m"
	g50=$(awk '{print $1}' "$FG_WORK/fg$m.times" | median)
	u50=$(awk '{print $2}' "$FG_WORK/fg$m.times" | median)
	u90=$(awk '{print $2}' "$FG_WORK/fg$m.times" | p90)
	n=$(wc -l <"$FG_WORK/fg$m.times")
	k50=$(median <"$FG_WORK/kns$m.times")
	ratio=$(awk -v a="$u50" -v b="$k50" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }')
	results+=("ddns $m name(s)/zone: fluxgated grant p50 ${g50} us, signed UPDATE exchange p50 ${u50} us p90 ${u90} us ($n epochs) | knsupdate -v per UPDATE ${k50} us (median of $RUNS x $EPOCHS) | ratio fluxgated/knsupdate ${ratio}")
done
printf '%s\n' "${results[@]}"
[ -n "$OUT" ] && printf '%s\n' "${results[@]}" >>"$OUT"
finish
