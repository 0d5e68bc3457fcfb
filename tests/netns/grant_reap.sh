#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Issue #12 against the real kernel: fresh exact grants, each short-lived,
# committed back to back through the nft backend (fg_nat_nft_ops, what
# fluxgated's privileged process runs) must never fill the grant map.
# The kernel's set GC alone gives up whenever a transaction commits during
# its walk; the backend's reaper deletes grants at their intended end.
# The driver (bench/grant/nft_gc.c) works in a private network namespace
# of its own (unshare), so nothing outside is touched and its table goes
# with it. 5000 fresh grants a second at most, in transactions of 8 (some
# 600 commits a second: the GC alone collects nothing), each living 600 ms:
# at most 3000 live, far below the map's size. Bounded in count (4 map
# sizes of fresh grants) and in time (120 s); asserted by counts only:
#   1. no transaction is refused (ENFILE) although at least twice the
#      map's size of fresh grants are committed;
#   2. no grant is gone from the kernel 50-100 ms before its intended end
#      (the reaper never ends one early), and some were checked.
# Not dependent on speed: a machine too slow to commit 50 transactions a
# second never enters the reaper's regime, and the kernel's GC keeps up
# there; either way nothing may be refused.
#
# Env: FG_NETNS_ASAN=1 builds the driver with ASan + UBSan.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CC=${CC:-gcc}
WORK=$(mktemp -d /tmp/fgreap$$.XXXXXX)
PID=""
PASS=0 FAIL=0
SIZE=16384         # nat.grant-set-size of the driver's table
TOTAL=$((4 * SIZE))
TIMEOUT_MS=600     # each grant's lifetime

cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null
	[ -n "$PID" ] && wait "$PID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
ok()  { PASS=$((PASS + 1)); echo "ok   - $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }

[ "$(id -u)" = 0 ] || { echo "must run as root"; exit 2; }

SAN=""
[ "${FG_NETNS_ASAN:-0}" = 1 ] && SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
DP=()
for f in "$ROOT"/src/dataplane/*.c; do [ "${f##*/}" = natcfg.c ] || DP+=("$f"); done
# shellcheck disable=SC2046,SC2086
$CC -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra $SAN -I"$ROOT/src" \
	"$ROOT"/src/common/*.c "${DP[@]}" "$ROOT/src/dns/siphash.c" \
	"$ROOT/bench/grant/nft_gc.c" \
	$(pkg-config --cflags --libs libmnl libnftnl libnetfilter_conntrack) -lcrypto -pthread \
	-o "$WORK/nft_gc" || { echo "build failed"; exit 2; }

# at most 5000/s, batches of 8, at most 120 s
"$WORK/nft_gc" 5000 120 8 "$TIMEOUT_MS" "$SIZE" 0 0 0 1 "$TOTAL" >"$WORK/out" 2>"$WORK/err" &
PID=$!
wait "$PID"
rc=$?
PID=""
cat "$WORK/out"
grep -v 'warning' "$WORK/err" | head -20

sent=$(sed -n 's/^sent \([0-9]*\) grants.*/\1/p' "$WORK/out")
refused=$(sed -n 's/.*, \([0-9]*\) refused with ENFILE.*/\1/p' "$WORK/out")
probes=$(sed -n 's/^probes: \([0-9]*\) grants checked.*, \([0-9]*\) gone early/\1/p' "$WORK/out")
early=$(sed -n 's/^probes: [0-9]* grants checked.*, \([0-9]*\) gone early/\1/p' "$WORK/out")

if [ -n "$sent" ] && [ "$sent" -ge $((2 * SIZE)) ]; then ok "$sent fresh grants committed (map size $SIZE)"
else bad "fewer than $((2 * SIZE)) grants committed in 120 s (sent '${sent:-?}', exit $rc)"; fi
if [ "${refused:-x}" = 0 ]; then ok "no transaction refused (ENFILE)"
else bad "transactions refused with ENFILE: '${refused:-?}'"; fi
if [ -n "$probes" ] && [ "$probes" -gt 0 ] && [ "${early:-x}" = 0 ]; then
	ok "$probes grants checked before their end, none gone early"
else
	bad "grants gone before their end: '${early:-?}' of '${probes:-?}' checked"
fi
if [ "$rc" = 0 ]; then ok "driver exit status 0"; else bad "driver exit status $rc"; fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
