#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Sized pages (issue 11): the time a client needs for a ranged GET of N
# bytes of a sparse 10 MB file, from lighttpd and from a fluxdecoy whose
# persona `fluxdecoy clone` captured from it, side by side:
#
#   cli 10.0.2.1 -- srv 10.0.2.10: lighttpd (server.max-request-field-size 65535)
#   cli 10.0.3.1 -- dcy 10.0.3.10: fluxdecoy on the pool 198.51.100.0/24
#
# Per N (and a 30 KiB request head), RUNS curl fetches from each, medians
# of curl's time_total in ms and the decoy/real ratio, as a Markdown table.
# Indicative only: the machine is shared. The bytes are checked equal
# (tests/netns/fluxdecoy.sh asserts that; here a differing run aborts).
#
# Run as root: sudo bench/decoy/sizes.sh   Env: FLUXGATED (fluxdecoy from
# the same directory), RUNS (default 9), OUT=file appends the table.

HERE=$(cd "$(dirname "$0")" && pwd)
FG_TEST_NAME=bench-sizes
. "$HERE/../../tests/netns/lib.sh"

need_root
need_cmd ip curl lighttpd python3
FLUXDECOY=${FLUXDECOY:-$(dirname "$FLUXGATED")/fluxdecoy}
[ -x "$FLUXDECOY" ] || die "build first: make"
RUNS=${RUNS:-9}
W=$FG_WORK
REAL=10.0.2.10 POOL=198.51.100.7

ns_add cli srv dcy
veth_link cli e0 "10.0.2.1/24" srv eth0 "10.0.2.10/24"
veth_link cli e1 "10.0.3.1/24" dcy eth0 "10.0.3.10/24"
nsx cli ip route add 198.51.100.0/24 via 10.0.3.10
nsx dcy ip route add default via 10.0.3.1
nsx dcy ip route add local 198.51.100.0/24 dev lo

mkdir -p "$W/www"
truncate -s 10000000 "$W/www/size.bin"
cat >"$W/lighttpd.conf" <<EOF
server.document-root = "$W/www"
server.port = 80
server.bind = "0.0.0.0"
server.pid-file = "$W/lighttpd.pid"
server.errorlog = "$W/lighttpd-error.log"
server.max-request-field-size = 65535
mimetype.assign = ( "" => "application/octet-stream" )
EOF
start_bg lighttpd srv lighttpd -D -f "$W/lighttpd.conf"
wait_port srv tcp 80 10 "$BG_PID" || die "lighttpd does not listen"
nsx cli "$FLUXDECOY" clone --from $REAL --ports tcp/80 --paths /size.bin -o "$W/p.yaml" \
	|| die "clone failed"
cat >"$W/d.conf" <<EOF
decoy:
  user: nobody
persona:
  - id: web
    file: $W/p.yaml
EOF
start_bg fluxdecoy dcy "$FLUXDECOY" -c "$W/d.conf"
wait_port dcy tcp 80 10 "$BG_PID" || die "fluxdecoy does not listen"

pad=$(head -c 30000 /dev/zero | tr '\0' p)
fetch() { # fetch ADDR N [PAD]: time_total in ms; the body into $W/b.ADDR
	nsx cli curl -s -m 120 -o "$W/b.$1" -w '%{time_total}\n' -H "Range: bytes=0-$(($2 - 1))" \
		${3:+-H "X-Pad: $3"} "http://$1/size.bin" | awk '{ printf "%.3f\n", $1 * 1000 }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

table="| request | reply bytes | lighttpd ms (median of $RUNS) | fluxdecoy ms | decoy / real |
|---|---:|---:|---:|---:|"
for spec in "plain 1000" "plain 100000" "plain 1000000" "plain 10000000" "30KiB-head 1000"; do
	set -- $spec
	p=""; [ "$1" = 30KiB-head ] && p=$pad
	r=(); d=()
	for i in $(seq "$RUNS"); do   # alternated, so drift hits both alike
		r+=("$(fetch $REAL "$2" "$p")"); d+=("$(fetch $POOL "$2" "$p")")
		cmp -s "$W/b.$REAL" "$W/b.$POOL" || die "bodies differ for $spec"
	done
	mr=$(printf '%s\n' "${r[@]}" | median); md=$(printf '%s\n' "${d[@]}" | median)
	table+="
| $1 | $2 | $mr | $md | $(awk -v a="$md" -v b="$mr" 'BEGIN { printf "%.2f", a / b }') |"
done
printf '%s\n' "$table"
[ -n "${OUT:-}" ] && printf '%s\n' "$table" >>"$OUT"
finish
