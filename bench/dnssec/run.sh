#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Sign cost per answer (not a test): builds bench/dnssec/sign_cost.c against
# build/libfluxgate.a (run `make` first) and prints p50/p99 per algorithm.
# N=20000 by default.
set -eu
cd "$(dirname "$0")/../.."
[ -f build/libfluxgate.a ] || { echo "build first: make" >&2; exit 1; }
out=build/bench/sign_cost
mkdir -p build/bench
cc -std=c11 -D_GNU_SOURCE -O2 -Isrc -o "$out" bench/dnssec/sign_cost.c build/libfluxgate.a \
	$(pkg-config --libs libcrypto) -pthread
"$out" "${N:-20000}"
