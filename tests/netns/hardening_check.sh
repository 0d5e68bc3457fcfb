#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Hardening findings 6, 9 and 10 and the "Pools" and "Defaults" deliverables
# at the operator's door: `fluxgated --check` (the same loader the daemon
# starts with) refuses every configuration that would open too much, with
# exit status 1 and a file:line message naming what is wrong, and warns
# (exit 0) while policy.resolvers is empty. tests/unit/test_conf.c checks
# the loader's exact messages; this checks the shipped binary, so a
# --check that skipped a check (or the daemon's own, later ones) fails here.
# No namespace or kernel state: --check reads the file and nothing else.
#
# Env: FLUXGATED (see lib.sh).

. "$(dirname "$0")/lib.sh"

# base EXTRA_POOL_LINES EXTRA_SERVICE_LINES EXTRA_TOP: a valid gateway
# config with one pool (198.51.100.0/24) and one service
base() {
	cat <<EOF
server:
  listen: [ "10.66.1.1@53" ]
  workers: 1
zone:
  - domain: example.test
    soa: { mname: ns1.example.test, rname: hostmaster.example.test }
    records:
      - "@ NS ns1"
      - "ns1 A 10.66.1.1"
pool:
  - id: web4
    prefix: 198.51.100.0/24
$1
service:
  - id: www
    name: www.example.test
    backend: 10.66.2.10@80
    pool: web4
$2
policy:
  direct: [ 10.66.1.0/24 ]
  resolvers: [ 10.66.4.53/32 ]
decoy:
  route-via: 10.66.3.10
$3
EOF
}

# refused NAME ERE FILE: --check exits 1 and prints a FILE:LINE: message
# matching ERE
refused() {
	local out rc
	out=$("$FLUXGATED" --check -c "$3" 2>&1); rc=$?
	assert_eq "--check refuses $1 (exit 1)" 1 "$rc"
	assert_match "--check names it: $1" "^$3:[0-9]+: .*$2" "$out"
}

C="$FG_WORK/ok.conf"
base "" "" "" >"$C"
out=$("$FLUXGATED" --check -c "$C" 2>&1); rc=$?
assert_eq "--check: the base config is valid (exit 0)" 0 "$rc"
[ "$rc" -eq 0 ] || log "$out"
assert_nomatch "--check: no resolvers warning when policy.resolvers is set" \
	'policy\.resolvers is empty' "$out"

# ------------------------------------------------------------ pools (finding 9)
C="$FG_WORK/pool0.conf"
base "" "" "" | sed 's#198\.51\.100\.0/24#0.0.0.0/0#' >"$C"
refused "an IPv4 pool of /0" "pool 'web4': prefix 0\.0\.0\.0/0 is too wide" "$C"

C="$FG_WORK/pool0v6.conf"
base '  - id: web6
    prefix: "::/0"' "" "" | sed 's#^    pool: web4$#    pool: [ web4, web6 ]#;s#10\.66\.2\.10@80#[ 10.66.2.10@80, "fd66:2::10@80" ]#' >"$C"
refused "an IPv6 pool of ::/0" "pool 'web6': prefix ::/0 is too wide" "$C"

C="$FG_WORK/pooltiny.conf"
base "" "" "" | sed 's#198\.51\.100\.0/24#198.51.100.0/30#' >"$C"
refused "a pool below the minimum size" "pool 'web4': prefix 198\.51\.100\.0/30 has 2 usable addresses, at least 4 are required" "$C"

C="$FG_WORK/poolbackend.conf"
base "" "" "" | sed 's#10\.66\.2\.10@80#198.51.100.10@80#' >"$C"
refused "a pool containing a backend" "pool 'web4': prefix 198\.51\.100\.0/24 contains the backend of service 'www', 198\.51\.100\.10" "$C"

C="$FG_WORK/poollisten.conf"
base "" "" "" | sed 's#"10\.66\.1\.1@53"#"10.66.1.1@53", "198.51.100.53@53"#' >"$C"
refused "a pool containing a listen address" "pool 'web4': prefix 198\.51\.100\.0/24 contains the listen address 198\.51\.100\.53" "$C"

C="$FG_WORK/pooldecoy.conf"
base "" "" "" | sed 's#route-via: 10\.66\.3\.10#route-via: 198.51.100.1#' >"$C"
refused "a pool containing the decoy next hop" "pool 'web4': prefix 198\.51\.100\.0/24 contains the decoy next hop 198\.51\.100\.1" "$C"

# ------------------------------------------------------------ services apart (finding 6)
C="$FG_WORK/shared.conf"
base "" '  - id: mail
    name: mail.example.test
    backend: 10.66.2.25@25
    pool: web4' "" >"$C"
refused "a pool shared by two services" "service 'mail': pool 'web4' already belongs to service 'www'" "$C"

# ------------------------------------------------------------ ports (finding 5)
C="$FG_WORK/noports.conf"
base "" "" "" | sed 's#10\.66\.2\.10@80#10.66.2.10#' >"$C"
refused "a service exposing every port by omission" "service 'www': backend without a port and no 'ports'" "$C"

# ------------------------------------------------------------ defaults (finding 10)
C="$FG_WORK/memory.conf"
base "" "" "nat:
  backend: memory" >"$C"
out=$("$FLUXGATED" --check -c "$C" 2>&1); rc=$?
assert_eq "--check refuses nat.backend: memory without the test-only flag (exit 1)" 1 "$rc"
assert_match "--check names the test-only backend and its flag" \
	'nat\.backend: memory is for tests only.*--test-memory-backend' "$out"
out=$("$FLUXGATED" --test-memory-backend --check -c "$C" 2>&1); rc=$?
assert_eq "--check with --test-memory-backend accepts it (exit 0)" 0 "$rc"

# ------------------------------------------------------------ policy.resolvers empty
C="$FG_WORK/noresolvers.conf"
base "" "" "" | sed '/^  resolvers:/d' >"$C"
out=$("$FLUXGATED" --check -c "$C" 2>&1); rc=$?
assert_eq "--check: policy.resolvers empty is a warning, not an error (exit 0)" 0 "$rc"
assert_match "--check warns that policy.resolvers is empty" \
	'warning: policy\.resolvers is empty' "$out"

# the shipped sample sets it, and is itself a valid configuration
S="$FG_REPO/etc/fluxgate.conf.sample"
out=$("$FLUXGATED" --check -c "$S" 2>&1); rc=$?
assert_eq "--check: the shipped sample config is valid" 0 "$rc"
[ "$rc" -eq 0 ] || log "$out"
assert_nomatch "--check: the sample sets policy.resolvers (no warning)" 'policy\.resolvers is empty' "$out"
assert_match "the sample runs the DNS process as the dedicated user fluxgate" \
	'^  user: fluxgate$' "$(cat "$S")"
assert_match "the systemd unit runs as user fluxgate" '^User=fluxgate$' \
	"$(cat "$FG_REPO/etc/systemd/fluxgated.service")"
assert_match "sysusers.d creates the user fluxgate" '^u fluxgate ' \
	"$(cat "$FG_REPO/etc/sysusers.d/fluxgate.conf")"
assert_match "sysctl.d sets nf_conntrack_tcp_loose to 0" \
	'^-?net\.netfilter\.nf_conntrack_tcp_loose = 0$' "$(cat "$FG_REPO/etc/sysctl.d/50-fluxgate.conf")"
finish
