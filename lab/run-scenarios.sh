#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# `make lab-runs`: run shipped scenarios one at a time, each writing
# OUTDIR/NAME.json (what `make results` renders) and OUTDIR/NAME.out.
# A scenario whose expectations fail still leaves its JSON (the figures
# are what they are); the exit status says how many did not exit 0.
# Usage: lab/run-scenarios.sh OUTDIR NAME...
set -u
out=${1:?usage: $0 OUTDIR NAME...}
shift
here=$(cd "$(dirname "$0")/.." && pwd)
fluxlab=${FLUXLAB:-$here/build/fluxlab}
mkdir -p "$out"
bad=0
for name in "$@"; do
	yaml=$here/lab/scenarios/$name.yaml
	[ -f "$yaml" ] || { echo "no scenario $yaml" >&2; bad=$((bad + 1)); continue; }
	echo "== $name" >&2
	# an hour-long scenario is a mistake here: the lab's are at most minutes
	timeout -s INT -k 30 900 "$fluxlab" run "$yaml" --json "$out/$name.json" \
		--report "$out/$name.html" >"$out/$name.out" 2>&1
	rc=$?
	sed -n '/^expectations:/,$p' "$out/$name.out" >&2
	[ "$rc" = 0 ] || { echo "$name: exit $rc (see $out/$name.out)" >&2; bad=$((bad + 1)); }
done
exit $((bad > 125 ? 125 : bad))
