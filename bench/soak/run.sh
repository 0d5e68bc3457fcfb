#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Soak: fluxgated (production setup: privilege separation, nft backend,
# workers: 2) answers granted queries at 80% of the maximum granted rate
# for DURATION (600 s), every query from a fresh IPv6 source (grant_lat -P:
# a new exact grant per answer, grants of TTL 2 s + grace 1 s, so the live
# set stays at about rate x 3 s). Every INTERVAL (10 s) it samples the RSS
# and open descriptors of both processes, the live grants in the kernel
# (fluxctl grants --count) and the errors so far (SERVFAIL, lost queries,
# fluxgated's address-less answers by cause), and prints the series.
# Ends with the verdict: flat (RSS and descriptors of the second half
# within SLACK_KB / 0 of the first sample after warm-up) and 0 errors.
# A benchmark, not a test: not in `make check`.
#
#   perf fd53::2 (+ fd53:0:0:1::/64 sources) ---- fd53::1 fg
#
# Env: FLUXGATED, DURATION (600), INTERVAL (10), RATE (0: 80% of a 10 s
#      maximum measured first), SLACK_KB (4096), OUT (append the series).
HERE=$(cd "$(dirname "$0")" && pwd)
FG_TEST_NAME=bench-soak
. "$HERE/../../tests/netns/lib.sh"

DURATION=${DURATION:-600}
INTERVAL=${INTERVAL:-10}
RATE=${RATE:-0}
SLACK_KB=${SLACK_KB:-4096}
OUT=${OUT:-}
FLUXCTL=${FLUXCTL:-$(dirname "$FLUXGATED")/fluxctl}
need_root
need_cmd ip gcc nft python3
[ -x "$FLUXGATED" ] || die "fluxgated binary not found at $FLUXGATED (make all)"
[ "$VALGRIND" = 1 ] && die "do not soak under valgrind (FG_NETNS_VALGRIND=0)"

LAT="$FG_WORK/grant_lat"
gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -o "$LAT" "$HERE/../grant/grant_lat.c" || die "cannot build grant_lat"

ns_add perf fg
veth_link perf fg0 fd53::2/64 fg eth0 fd53::1/64
nsx perf ip -6 route add local fd53:0:0:1::/64 dev lo
nsx fg ip -6 route add fd53:0:0:1::/64 via fd53::2
CTL="$FG_WORK/control.sock"
CONF="$FG_WORK/fluxgated.conf"
{
	cat <<CONF
server:
  listen: [ "fd53::1@53" ]
  user: nobody
  workers: 2
control:
  socket: "$CTL"
log:
  level: warning
pool:
  - id: svc6
    prefix: 2001:db8:100::/64
service:
  - id: svc
    name: svc.example.test
    backend: "fd53:9::9"
    ports: [ any ]
    pool: svc6
    ttl: 2s
    grace: 1s
    pin: 10s
policy:
  direct: [ "fd53::/48" ]
rrl:
  rate: 0          # one benchmark client: no response rate limiting
nat:
  backend: nft
  grant-set-size: 2M
CONF
	zones_yaml
} >"$CONF"
start_fluxgated fg "$CONF"
wait_dns perf fd53::1 example.test 20 "$FG_FLUXGATED_PID" || die "fluxgated does not answer"
PRIV=$FG_FLUXGATED_PID
DNS=$(pgrep -P "$PRIV" | head -n 1)
[ -n "$DNS" ] || die "no [dns] process under $PRIV"

field() { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
if [ "$RATE" = 0 ]; then
	m=$(nsx perf "$LAT" -s fd53::1 -n svc.example.test -t AAAA -d 10 -q 200 -P fd53:0:0:1::)
	max=$(field qps "$m")
	RATE=$(awk -v m="$max" 'BEGIN {printf "%d", m * 0.8}')
	log "maximum granted rate (10 s, 200 in flight): $max/s; soak at $RATE/s"
	sleep 4   # the probe's grants lapse
fi
# paced at RATE (grant_lat -r), at most 2 ms worth of queries in flight
Q=$(awk -v r="$RATE" 'BEGIN {q = int(r / 500); if (q < 8) q = 8; if (q > 4000) q = 4000; print q}')
nsx perf "$LAT" -s fd53::1 -n svc.example.test -t AAAA -d "$DURATION" -q "$Q" -r "$RATE" -P fd53:0:0:1:: \
	>"$FG_WORK/soak.out" 2>&1 &
LOAD=$!

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
nfd() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
stats() { nsx fg "$FLUXCTL" -s "$CTL" --json stats 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)["dns"]
print(d["grant_failures"], sum(d["noaddr_by_cause"].values()), d["rcodes"]["SERVFAIL"], d["queries_udp"])' 2>/dev/null || echo "? ? ? ?"; }
live() { nsx fg "$FLUXCTL" -s "$CTL" --json grants --count 2>/dev/null | python3 -c '
import json, sys
c = json.load(sys.stdin)["count"]
print(sum(v for v in c.values() if isinstance(v, int)) if isinstance(c, dict) else c)' 2>/dev/null || echo "?"; }
SERIES="$FG_WORK/series.txt"
printf '%6s %10s %10s %6s %6s %10s %8s %8s %8s %10s\n' t_s rss_dns_kB rss_priv_kB fd_dns fd_priv live_grants failures noaddr servfail queries >"$SERIES"
t0=$(date +%s)
while kill -0 "$LOAD" 2>/dev/null; do
	sleep "$INTERVAL"
	read -r gf na sf qu <<<"$(stats)"
	printf '%6d %10s %10s %6s %6s %10s %8s %8s %8s %10s\n' $(($(date +%s) - t0)) "$(rss "$DNS")" "$(rss "$PRIV")" \
		"$(nfd "$DNS")" "$(nfd "$PRIV")" "$(live)" "$gf" "$na" "$sf" "$qu" >>"$SERIES"
	tail -n 1 "$SERIES"
done
wait "$LOAD"
res=$(cat "$FG_WORK/soak.out")
log "load: $res"
fluxgated_alive "fluxgated survived the soak"
cat "$SERIES"
verdict=$(python3 - "$SERIES" "$SLACK_KB" "$res" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()[1:] if l.strip()]
slack = int(sys.argv[2])
res = dict(kv.split("=") for kv in sys.argv[3].split() if "=" in kv)
num = lambda v: int(v) if v.isdigit() else None
if len(rows) < 4:
    print("too few samples"); sys.exit(0)
half = rows[len(rows) // 2:]
base = rows[2]                      # after 20 s of warm-up
out = []
for name, col in (("rss_dns_kB", 1), ("rss_priv_kB", 2)):
    vals = [num(r[col]) for r in half if num(r[col]) is not None]
    grow = max(vals) - num(base[col]) if vals and num(base[col]) is not None else None
    out.append("%s growth %s kB (%s)" % (name, grow, "flat" if grow is not None and grow <= slack else "NOT flat"))
for name, col in (("fd_dns", 3), ("fd_priv", 4)):
    vals = {r[col] for r in rows[2:]}
    out.append("%s %s (%s)" % (name, ",".join(sorted(vals)), "flat" if len(vals) == 1 else "NOT flat"))
live = [num(r[5]) for r in half if num(r[5]) is not None]
if live:
    out.append("live grants %d..%d" % (min(live), max(live)))
last = rows[-1]
errs = sum(num(last[c]) or 0 for c in (6, 7, 8)) + int(res.get("lost", "0") or 0) \
    + (int(res.get("answered", "0")) - int(res.get("with_addr", "0")))
out.append("errors %d (failures %s, noaddr %s, SERVFAIL %s, lost %s, answers without an address %d)" % (
    errs, last[6], last[7], last[8], res.get("lost", "?"), int(res.get("answered", "0")) - int(res.get("with_addr", "0"))))
print("; ".join(out))
PY
)
summary="soak ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, ${DURATION}s at $RATE/s granted AAAA, samples every ${INTERVAL}s): $verdict"
echo "$summary"
[ -n "$OUT" ] && { echo "$summary"; cat "$SERIES"; } >>"$OUT"
stop_fluxgated "fluxgated stopped cleanly after the soak"
FG_FINISHED=1
[ "$FG_FAILED" -eq 0 ]
