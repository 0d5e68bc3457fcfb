#!/usr/bin/env bash
# Installs every Debian package the build, the tests, the benchmarks and the
# demo need. Does nothing (no apt-get call at all) when they are all present.
set -euo pipefail

PKGS=(
  # build
  build-essential pkg-config clang llvm libfuzzer-14-dev libclang-rt-14-dev
  libmnl-dev libnftnl-dev libnetfilter-conntrack-dev libnetfilter-log-dev
  libyaml-dev libssl-dev libcmocka-dev libjansson-dev libmicrohttpd-dev
  libsystemd-dev libseccomp-dev libcap-dev
  # fluxdecoy: HTTP/2 framing and HPACK for HTTPS personas
  libnghttp2-dev
  # tests and lab: real peers, clients, scanners
  iproute2 nftables conntrack unbound knot knot-dnsutils dnsutils bind9-utils dnsperf
  lighttpd lighttpd-mod-openssl openssl curl nmap masscan valgrind python3 procps psmisc
  # fluxdecoy HTTP/2 tests: nghttp (client) beside curl --http2
  nghttp2-client
  # TSIG test: a real BIND 9 resolver forwarding with a key; faketime for BADTIME
  bind9 faketime
  # distributed mode's failover pair: VRRP, conntrack replication, and
  # arping for the notify script's gratuitous ARP
  keepalived conntrackd iputils-arping
  # fluxdecoy tests: real sshd and MTA (Postfix, run as an instance of its
  # own by the test) to compare the decoy with, and their clients
  openssh-server postfix swaks sshpass netcat-openbsd
  # fluxdecoy UDP probe sets for other ports: a real SNMP agent (udp/161),
  # run by the test in a namespace, and its client
  snmpd snmp
  # docs and metrics checks: man pages (man, groff), promtool check metrics
  man-db groff-base prometheus
  # the fluxlab console's browser test: Debian's chromium, driven by npm's
  # playwright-core (tests/browser; installed below, never a browser download)
  chromium nodejs
  # packaging and coverage: dpkg-buildpackage, lintian, make coverage
  dpkg-dev debhelper fakeroot lintian gcovr
  # bench/compliance: builds ISC's genreport from a source tree you give it
  autoconf automake
)

# npm packages of the browser test, from tests/browser/package-lock.json
npm_deps() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
  [ -f "$dir/node_modules/playwright-core/package.json" ] && return 0
  echo "install-deps: npm ci in $dir (playwright-core; PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1)"
  (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
}

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  npm_deps
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo $0)" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Postfix asks what kind of mail system this is: none (the tests bring
# their own configuration)
if printf '%s\n' "${missing[@]}" | grep -qx postfix && command -v debconf-set-selections >/dev/null; then
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
fi

# Debian starts (and enables) packaged daemons on install. Our tests run
# their own instances inside network namespaces, and the host's services
# must be left as they were: so no service is started during the install
# (policy-rc.d, unless the host already has one of its own), and the units
# of the packages installed just now are disabled again afterwards. Services
# that were on the host before are never touched.
newly=()
for svc in unbound knot lighttpd prometheus ssh named postfix keepalived conntrackd snmpd; do
  for p in "${missing[@]}"; do [ "$p" = "$svc" ] || { [ "$svc" = ssh ] && [ "$p" = openssh-server ]; } ||
    { [ "$svc" = named ] && [ "$p" = bind9 ]; } && newly+=("$svc"); done
done
prc=/usr/sbin/policy-rc.d
own_prc=0
if [ ! -e "$prc" ]; then
  printf '#!/bin/sh\n# fluxgate install-deps: no service starts during this install\nexit 101\n' >"$prc"
  chmod 755 "$prc"
  own_prc=1
fi
restore() { if [ "$own_prc" = 1 ]; then rm -f "$prc"; fi; }  # must not turn exit 0 into 1
trap restore EXIT

apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

for svc in "${newly[@]}"; do
  if command -v systemctl >/dev/null 2>&1; then
    systemctl stop "$svc" >/dev/null 2>&1 || true   # only if the host's own policy-rc.d let it start
    systemctl disable "$svc" >/dev/null 2>&1 || true
  fi
done
npm_deps
exit 0
