#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Packaging check: the shipped monitoring files (etc/monitoring/).
#   - promtool accepts the alerting rules and their unit tests pass
#     (each alert fires on a series above its threshold, not below);
#   - the Grafana dashboard is valid JSON, and every PromQL expression in it
#     parses (promtool checks them as recording rules);
#   - every fluxgate_* metric the rules and the dashboard use is one the
#     operator guide lists (which tests/unit/test_docs.c checks against what
#     fluxgated exports), so neither refers to a metric that does not exist.
# netns/monitoring runs them against a live fluxgated and a real Prometheus.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MON=$ROOT/etc/monitoring
WORK=$(mktemp -d /tmp/fg-pkg-monitoring.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0
ok()   { passed=$((passed + 1)); printf 'ok   %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }

command -v promtool >/dev/null || { fail "promtool not installed (make deps)"; exit 1; }

if out=$(promtool check rules "$MON/fluxgate-alerts.yml" 2>&1); then
	ok "promtool check rules fluxgate-alerts.yml: $(echo "$out" | grep -o '[0-9]* rules found')"
else
	fail "promtool check rules fluxgate-alerts.yml"; echo "$out"
fi
if out=$(cd "$MON" && promtool test rules fluxgate-alerts.test.yml 2>&1); then
	ok "promtool test rules fluxgate-alerts.test.yml"
else
	fail "promtool test rules fluxgate-alerts.test.yml"; echo "$out"
fi

# the dashboard's expressions, with its template variables filled in, as
# recording rules: promtool parses each
if python3 - "$MON/fluxgated-dashboard.json" "$WORK/dash-rules.yml" "$WORK/dash-metrics" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
exprs = [t["expr"] for p in d["panels"] for t in p.get("targets", [])]
assert exprs, "no expressions"
with open(sys.argv[2], "w") as f:
    f.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, e in enumerate(exprs):
        e = e.replace("$instance", ".*")
        f.write("      - record: dashboard:expr%d\n        expr: %s\n" % (i, json.dumps(e)))
with open(sys.argv[3], "w") as f:
    for e in exprs:
        for m in re.findall(r"fluxgate_[a-z0-9_]+", e):
            f.write(m + "\n")
PY
then
	ok "dashboard: valid JSON with $(grep -c record: "$WORK/dash-rules.yml") expressions"
else
	fail "dashboard: not valid JSON, or no expressions"
fi
if out=$(promtool check rules "$WORK/dash-rules.yml" 2>&1); then
	ok "dashboard: every PromQL expression parses"
else
	fail "dashboard: a PromQL expression does not parse"; echo "$out"
fi

# documented metric names (the operator guide's table, names without the prefix)
documented=$(sed -n '/^| metric | labels | meaning |/,/^$/p' "$ROOT/doc/operator-guide.md" |
	grep -o '`[a-z0-9_]*`' | tr -d '`' | sort -u)
used=$( (grep -o 'fluxgate_[a-z0-9_]*' "$MON/fluxgate-alerts.yml"; cat "$WORK/dash-metrics") |
	sed -e 's/^fluxgate_//' -e 's/_\(bucket\|sum\|count\)$//' | sort -u)
missing=$(comm -13 <(echo "$documented") <(echo "$used"))
if [ -z "$missing" ] && [ -n "$used" ]; then
	ok "all $(echo "$used" | wc -l) metrics used by the rules and the dashboard are documented"
else
	fail "metrics used but not in the operator guide's table: $(echo $missing)"
fi

printf 'monitoring: %d checks passed, %d checks failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
