#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The kernel's set GC against fresh short-lived grants (issue 12): builds
# bench/grant/nft_gc.c against build/ (run `make` first) and runs it with
# the settings of bench/grant/RESULTS.md, RUNS times each (default 3),
# SECS seconds each (default 6). Everything happens in the driver's own
# network namespace; each run is bounded by `timeout`. Prints the driver's
# last line per run. Root only.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
RUNS=${RUNS:-3}
SECS=${SECS:-6}
WORK=$(mktemp -d /tmp/fg-gc.XXXXXX)
trap 'rm -rf "$WORK"' EXIT INT TERM
# shellcheck disable=SC2046
gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -I"$ROOT/src" "$HERE/nft_gc.c" \
	"$ROOT/build/libfluxgated.a" "$ROOT/build/libfluxgate.a" \
	$(pkg-config --cflags --libs libmnl libnftnl libnetfilter_conntrack) -lyaml -lcrypto -ljansson \
	-pthread -o "$WORK/nft_gc"
# RATE BATCH [IDLE_MS IDLE_PERIOD_MS DEL_MS OPS]
for cfg in "5000 64" "10000 64" "20000 64" "20000 512" "20000 64 0 0 1800" "0 64 0 0 1800" \
	   "20000 64 0 0 0 1"; do
	# shellcheck disable=SC2086
	set -- $cfg
	for k in $(seq "$RUNS"); do
		printf '%-22s run %s | ' "$cfg" "$k"
		timeout $((SECS + 30)) "$WORK/nft_gc" "$1" "$SECS" "$2" 2000 1000000 \
			"${3:-0}" "${4:-0}" "${5:-0}" "${6:-0}" 2>/dev/null | grep '^sent' || echo "(failed)"
	done
done
