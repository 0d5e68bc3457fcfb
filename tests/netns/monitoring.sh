#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The shipped monitoring files against a live fluxgated and a real
# Prometheus (Debian's prometheus, run by this script only, in the
# gateway's namespace with its own storage directory):
#   - Prometheus scrapes fluxgated (up == 1) and loads the alerting rules
#     (etc/monitoring/fluxgate-alerts.yml) with every rule healthy;
#   - every expression of the Grafana dashboard evaluates without error,
#     and the panels that must always have data (answers, grants, latency,
#     open fraction and its cap, conntrack) do, once a client got answers;
#   - a healthy gateway fires no alert; a reload of a broken configuration
#     fires FluxgateReloadFailed (the daemon keeps serving).
# tests/pkg/monitoring.sh checks the same files offline (promtool).
#
#   cli 10.66.1.2 ---- gw 10.66.1.1 (fluxgated, nft, prometheus on 127.0.0.1:9090)
#
# Env: FLUXGATED, VALGRIND, FG_LOGDIR.

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip kdig curl prometheus python3
MON="$FG_REPO/etc/monitoring"

ns_add cli gw
veth_link cli c0 10.66.1.2/24 gw g0 10.66.1.1/24
nsx cli ip route add default via 10.66.1.1
nsx gw ip link set lo up

TABLE="fgmon$$"
CONF="$FG_WORK/fluxgated.conf"
cat >"$CONF" <<CONFEOF
server:
  listen: [ "10.66.1.1@53" ]
  workers: 1
  user: nobody
zone:
  - domain: example.test
    soa: { mname: ns1.example.test, rname: hostmaster.example.test }
    records:
      - "@ NS ns1"
      - "ns1 A 10.66.1.1"
pool:
  - id: web4
    prefix: 198.51.100.0/24
service:
  - id: www
    name: www.example.test
    backend: 10.66.2.10
    ports: [ any ]
    pool: web4
    ttl: 5s
    max-open-fraction: 0.2
policy:
  direct: [ 10.66.1.2/32 ]
decoy:
  route-via: 10.66.1.2
nat:
  table: $TABLE
metrics:
  listen: 10.66.1.1@9153
control:
  socket: $FG_WORK/control.sock
CONFEOF
chmod 0644 "$CONF"
chmod o+x "$FG_WORK"
start_fluxgated gw "$CONF"
wait_dns cli 10.66.1.1 example.test 90 "$FG_FLUXGATED_PID" || die "fluxgated does not answer: $(tail -n 20 "$FG_FLUXGATED_LOG")"
for _ in 1 2 3 4 5; do
	nsx cli kdig @10.66.1.1 +short +retry=1 +timeout=3 www.example.test A >/dev/null 2>&1
done

# ---------------------------------------------------------------- prometheus
mkdir -p "$FG_WORK/prom/data"
cp "$MON/fluxgate-alerts.yml" "$FG_WORK/prom/"
cat >"$FG_WORK/prom/prometheus.yml" <<PROMEOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [ fluxgate-alerts.yml ]
scrape_configs:
  - job_name: fluxgate
    static_configs:
      - targets: [ "10.66.1.1:9153" ]
PROMEOF
start_bg prometheus gw prometheus --config.file="$FG_WORK/prom/prometheus.yml" \
	--storage.tsdb.path="$FG_WORK/prom/data" --web.listen-address=127.0.0.1:9090
PROM_PID=$BG_PID
wait_port gw tcp 9090 60 "$PROM_PID" || die "prometheus does not listen: $(tail -n 20 "$FG_WORK/prometheus.log" 2>/dev/null)"

# q EXPR: the JSON of an instant query
q() { nsx gw curl -s -m 10 --data-urlencode "query=$1" http://127.0.0.1:9090/api/v1/query; }
# poll_q EXPR PYCOND: poll until the query's result satisfies PYCOND (a
# Python expression over r, the list of results), for up to 90 s
poll_q() {
	local i out
	for ((i = 0; i < 180; i++)); do
		out=$(q "$1")
		if python3 -c 'import json,sys; r=json.loads(sys.argv[1])["data"]["result"]; sys.exit(0 if ('"$2"') else 1)' "$out" 2>/dev/null; then
			echo "$out"; return 0
		fi
		sleep 0.5
	done
	echo "$out"; return 1
}

out=$(poll_q 'up{job="fluxgate"}' 'len(r) == 1 and r[0]["value"][1] == "1"'); rc=$?
assert_eq "prometheus scrapes fluxgated: up == 1" 0 "$rc"
rules=$(nsx gw curl -s -m 10 http://127.0.0.1:9090/api/v1/rules)
n_rules=$(grep -c '^      - alert:' "$MON/fluxgate-alerts.yml")
assert_eq "prometheus loaded every alerting rule, all healthy ($n_rules)" "$n_rules" \
	"$(python3 -c 'import json,sys; g=json.loads(sys.argv[1])["data"]["groups"]; print(sum(1 for x in g for r in x["rules"] if r["health"] in ("ok","unknown")))' "$rules")"
assert_nomatch "no rule evaluation error" '"health":"err"' "$rules"

# wait until the 5 answers are scraped, then two more scrapes so rate() has data
# (counted in prometheus, not assumed from a fixed 3 s at scrape_interval 1s)
poll_q 'sum(fluxgate_grants_total)' 'len(r) == 1 and float(r[0]["value"][1]) >= 5' >/dev/null ||
	fail "fluxgate_grants_total counts the 5 answers"
n0=$(q 'count_over_time(up{job="fluxgate"}[5m])' |
	python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(int(float(r[0]["value"][1])) if r else 0)' 2>/dev/null)
poll_q 'count_over_time(up{job="fluxgate"}[5m])' "len(r) == 1 and float(r[0]['value'][1]) >= ${n0:-0} + 2" >/dev/null ||
	fail "prometheus scrapes fluxgated twice more"

# every dashboard expression, as Grafana would send it
python3 - "$MON/fluxgated-dashboard.json" >"$FG_WORK/dash-exprs" <<'DASHEOF'
import json, sys
d = json.load(open(sys.argv[1]))
for p in d["panels"]:
    for t in p.get("targets", []):
        print(p["title"] + "\t" + t["expr"].replace("$instance", ".*"))
DASHEOF
bad=""
while IFS=$'\t' read -r title expr; do
	out=$(q "$expr")
	case $out in *'"status":"success"'*) ;; *) bad="$bad [$title: $expr: $out]" ;; esac
done <"$FG_WORK/dash-exprs"
assert_eq "every dashboard expression evaluates ($(wc -l <"$FG_WORK/dash-exprs"))" "" "$bad"
for expr in 'sum by (rcode) (rate(fluxgate_dns_responses_total[1m]))' \
	'sum by (scope) (rate(fluxgate_grants_total[1m]))' \
	'histogram_quantile(0.99, sum by (le) (rate(fluxgate_grant_duration_seconds_bucket[5m])))' \
	'fluxgate_pool_open_ratio' 'fluxgate_conntrack_entries'; do
	out=$(poll_q "$expr" 'len(r) >= 1')
	assert_match "dashboard data present: $expr" '"result":\[\{' "$out"
done
out=$(q 'fluxgate_pool_open_max_ratio{pool="web4"}')
assert_match "pool_open_max_ratio is the service's max-open-fraction (0.2)" '"value":\[[0-9.]+,"0.2"\]' "$out"

# ---------------------------------------------------------------- alerts
alerts=$(nsx gw curl -s -m 10 http://127.0.0.1:9090/api/v1/alerts)
assert_nomatch "a healthy gateway fires no alert" '"alertname"' "$alerts"

cp "$CONF" "$CONF.good"
printf 'server:\n  workers: many\n' >>"$CONF"
kill -HUP "$FG_FLUXGATED_PID"
out=$(poll_q 'ALERTS{alertname="FluxgateReloadFailed",alertstate="firing"}' 'len(r) == 1'); rc=$?
assert_eq "a failed reload fires FluxgateReloadFailed" 0 "$rc"
a=$(nsx cli kdig @10.66.1.1 +short +retry=1 +timeout=3 www.example.test A 2>/dev/null)
assert_match "after the failed reload: still answering" '^198\.51\.100\.' "$a"
cp "$CONF.good" "$CONF"

stop_bg "$PROM_PID"
fluxgated_alive "fluxgated still running"
stop_fluxgated
nsx gw nft delete table inet "$TABLE" 2>/dev/null
finish
