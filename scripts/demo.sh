#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# fluxgate demo (`make demo`): one minute of fluxlab on
# lab/scenarios/demo.yaml: namespaces with unbound, fluxgated, the real
# server and the decoy bed; 300 clients over HTTP/HTTPS/SSH/SMTP through
# the resolver; attackers (invalid sessions, a defence-aware prober, a
# sweep, nmap, a pulsing SYN flood). Prints the summary table and writes
# build/demo.json and build/demo.html. Everything is torn down at the end,
# also on Ctrl-C. Needs root.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
[ "$(id -u)" -eq 0 ] || { echo "demo: needs root (network namespaces)" >&2; exit 1; }
[ -x build/fluxlab ] || { echo "demo: build/fluxlab missing: run make" >&2; exit 1; }
build/fluxlab run lab/scenarios/demo.yaml --json build/demo.json --report build/demo.html
rc=$?
echo
echo "demo: JSON in build/demo.json, report in build/demo.html"
exit $rc
