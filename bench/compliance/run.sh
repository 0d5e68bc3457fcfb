#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# DNS protocol compliance of fluxgated, judged by a suite we did not write:
# ISC's DNS-Compliance-Testing `genreport` (MPL-2.0), full mode (-f), plus
# the common (-c) and query type (-t) groups when ALL=1.
#
#   gr 10.58.0.2 (genreport) ---- veth ---- fg 10.58.0.1 (fluxgated)
#
# fluxgated serves two zones: example.test, unsigned, with a protected
# service www (a grant per answer, memory NAT backend), and sec.test,
# signed online (ECDSA P-256 CSK made by fluxctl dnssec keygen), so that the
# DO tests see RRSIGs. server.nsid is set (genreport -n reports it).
#
# genreport is not part of fluxgate: give this script the path of a
# genreport source tree you obtained yourself (nothing is downloaded); it is
# copied and built in a temporary directory (autoreconf, configure
# LIBS=-lresolv: glibc >= 2.34 keeps ns_get16 and friends in libresolv).
#
# Usage: sudo bench/compliance/run.sh /path/to/DNS-Compliance-Testing
# Env: FLUXGATED (default build/fluxgated), FLUXCTL, ALL=1 (also -c and -t),
#      OUT (also write the report to this file), GENREPORT (a built binary:
#      skips the build).
# Exit: 0 when every test of every server line is ok, 1 otherwise.

HERE=$(cd "$(dirname "$0")" && pwd)
FG_TEST_NAME=bench-compliance
. "$HERE/../../tests/netns/lib.sh"

SRC=${1:-}
ALL=${ALL:-0}
OUT=${OUT:-}
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}

need_root
need_cmd ip kdig
[ -x "$FLUXGATED" ] || die "fluxgated binary not found at $FLUXGATED (make all)"
[ -x "$FLUXCTL" ] || die "fluxctl not found at $FLUXCTL (make all)"

# ------------------------------------------------------------ genreport
GR=${GENREPORT:-}
if [ -z "$GR" ]; then
	[ -n "$SRC" ] && [ -f "$SRC/genreport.c" ] ||
		die "usage: $0 GENREPORT_SOURCE_TREE (a directory with genreport.c and configure.ac)"
	need_cmd autoreconf make cc
	B="$FG_WORK/genreport-build"
	mkdir -p "$B"
	cp -a "$SRC/." "$B/"
	log "building genreport in $B"
	( cd "$B" && { [ -x configure ] || autoreconf -fi; } && ./configure LIBS=-lresolv && make ) \
		>"$FG_WORK/genreport-build.log" 2>&1 ||
		die "genreport does not build: $(tail -n 20 "$FG_WORK/genreport-build.log")"
	GR="$B/genreport"
fi
[ -x "$GR" ] || die "no genreport binary at $GR"

# ------------------------------------------------------------ fluxgated
FG=10.58.0.1
ns_add fg gr
veth_link fg eth0 $FG/24 gr eth0 10.58.0.2/24

KEYS="$FG_WORK/keys"
mkdir -p "$KEYS"
"$FLUXCTL" dnssec keygen sec.test --dir "$KEYS" >/dev/null || die "fluxctl dnssec keygen failed"

CONF="$FG_WORK/fluxgated.conf"
cat >"$CONF" <<EOF
server:
  listen: [ "$FG@53" ]
  workers: 2
  nsid: compliance-fg
zone:
  - domain: example.test
    ttl: 300
    soa: { mname: ns1.example.test., rname: hostmaster.example.test., serial: 3, minimum: 60 }
    records:
      - "@ NS ns1"
      - "ns1 A $FG"
      - "@ MX 10 mail"
      - "mail A 192.0.2.25"
  - domain: sec.test
    ttl: 300
    soa: { mname: ns1.sec.test., rname: hostmaster.sec.test., serial: 3, minimum: 60 }
    records:
      - "@ NS ns1"
      - "ns1 A $FG"
      - "www A 192.0.2.80"
    dnssec:
      algorithm: ecdsap256sha256
      keys: $KEYS
pool:
  - id: web4
    prefix: 198.51.100.0/24
service:
  - id: www
    name: www.example.test
    backend: 10.58.0.10
    ports: [ tcp/80 ]
    pool: web4
    ttl: 30s
policy:
  direct: [ 10.58.0.0/24 ]
nat:
  backend: memory
control:
  socket: $FG_WORK/control.sock
EOF
FG_FLUXGATED_ARGS=--test-memory-backend
start_fluxgated fg "$CONF"
wait_dns gr $FG example.test 60 "$FG_FLUXGATED_PID" || die "fluxgated does not answer: $(tail -n 20 "$FG_FLUXGATED_LOG")"

# ------------------------------------------------------------ the run
FLAGS=(-f -n)
[ "$ALL" = 1 ] && FLAGS=(-t -f -c -n)
REPORT="$FG_WORK/genreport.txt"
printf '%s\n' "example.test ns1.example.test $FG" "sec.test ns1.sec.test $FG" |
	nsx gr timeout 600 "$GR" "${FLAGS[@]}" >"$REPORT" 2>&1
rc=$?
log "genreport ${FLAGS[*]} (exit $rc):"
cat "$REPORT"
[ -n "$OUT" ] && cp "$REPORT" "$OUT"
# a result line per server: "zone. ns. addr: test=result test=result ..."
bad=$(grep -E ': ' "$REPORT" | tr ' ' '\n' | grep -E '^[a-zA-Z0-9@,]+=' | grep -Ev '=ok(,[a-z0-9,]*)?$' || true)
lines=$(grep -cE "^(example|sec)\.test\. " "$REPORT")
if [ "$lines" -eq 2 ] && [ -z "$bad" ]; then
	ok "genreport ${FLAGS[*]}: every test ok on both zones"
else
	fail "genreport ${FLAGS[*]}: every test ok on both zones ($lines server lines)" "${bad:-no result lines}"
fi
stop_fluxgated
finish
