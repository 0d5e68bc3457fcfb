#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# fluxgate demo (until the lab exists): starts fluxgated on a sample zone in
# a private network namespace, asks it a few questions with kdig from a
# second namespace, prints the answers and a short summary, and cleans up
# (namespaces and processes) whatever happens. Needs root. `make demo`.
#
#   client 10.53.0.2, fd53::2  ---- veth ----  server 10.53.0.1, fd53::1

FG_TEST_NAME=demo
. "$(dirname "$0")/../tests/netns/lib.sh"

need_root
need_cmd ip kdig ss
[ -x "$FLUXGATED" ] || die "no daemon at $FLUXGATED: run make first"

ns_add server client
veth_link server eth0 10.53.0.1/24,fd53::1/64 client eth0 10.53.0.2/24,fd53::2/64

CONF="$FG_WORK/demo.conf"
{
	cat <<EOF
# fluxgated demo configuration (pure DNS: no pool, no service)
server:
  listen: [ "10.53.0.1@53", "fd53::1@53" ]
  workers: auto
control:
  socket: "$FG_WORK/control.sock"
nat:
  backend: memory
EOF
	zones_yaml
} >"$CONF"

echo "== configuration check"
"$FLUXGATED" --check -c "$CONF" || die "the demo configuration does not pass --check"
echo "   $CONF is valid"

start_fluxgated server "$CONF"
wait_dns client 10.53.0.1 example.test 30 "$FG_FLUXGATED_PID" \
	|| die "fluxgated did not come up: $(tail -n 20 "$FG_FLUXGATED_LOG")"

answered=0
total=0
ask() {
	local desc=$1; shift
	local out status
	total=$((total + 1))
	printf '\n== %s\n   $ kdig %s\n' "$desc" "$*"
	out=$(nsx client kdig +retry=0 +timeout=2 +noall +answer +authority +header "$@" 2>&1)
	status=$(printf '%s\n' "$out" | sed -n 's/.*status: \([A-Z]*\).*/\1/p' | head -n 1)
	printf '%s\n' "$out" | grep -vE '^;; (Flags|->>HEADER)' | sed '/^$/d; s/^/   /'
	printf '   -> %s\n' "${status:-no answer}"
	[ -n "$status" ] && answered=$((answered + 1))
}

ask "address of www"                 @10.53.0.1 www.example.test A
ask "IPv6 address of www, over IPv6" @fd53::1 www.example.test AAAA
ask "mail exchangers"                @10.53.0.1 example.test MX
ask "SPF policy"                     @10.53.0.1 example.test TXT
ask "SIP service (SRV)"              @10.53.0.1 _sip._udp.example.test SRV
ask "a CNAME chain"                  @10.53.0.1 alias.example.test A
ask "reverse lookup"                 @10.53.0.1 -x 10.0.0.80
ask "over TCP"                       @10.53.0.1 +tcp example.test SOA
ask "a name that does not exist"     @10.53.0.1 nope.example.test A
ask "a name we are not authoritative for" @10.53.0.1 www.example.com A

stop_fluxgated "fluxgated stopped on SIGTERM" >/dev/null
printf '\n== summary: %d of %d queries answered; fluxgated ran in namespace %s and %s\n' \
	"$answered" "$total" "$(ns server)" \
	"$([ "$FG_FAILED" -eq 0 ] && echo 'stopped cleanly' || echo 'did NOT stop cleanly')"
FG_FINISHED=1
[ "$FG_FAILED" -eq 0 ] && [ "$answered" -eq "$total" ]
