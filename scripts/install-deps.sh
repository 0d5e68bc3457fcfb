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
  # tests and lab: real peers, clients, scanners
  iproute2 nftables conntrack unbound knot knot-dnsutils dnsutils bind9-utils dnsperf
  lighttpd lighttpd-mod-openssl openssl curl nmap masscan valgrind python3 procps psmisc
  # fluxdecoy test: real sshd and SMTP client to compare the decoy with
  openssh-server swaks netcat-openbsd
  # TSIG test: a real BIND 9 resolver forwarding with a key; faketime for BADTIME
  bind9 faketime
  # docs and metrics checks: man pages (man, groff), promtool check metrics
  man-db groff-base prometheus
  # packaging and coverage: dpkg-buildpackage, lintian, make coverage
  dpkg-dev debhelper fakeroot lintian gcovr
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo $0)" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive

# Debian starts (and enables) packaged daemons on install. Our tests run
# their own instances inside network namespaces, and the host's services
# must be left as they were: so no service is started during the install
# (policy-rc.d, unless the host already has one of its own), and the units
# of the packages installed just now are disabled again afterwards. Services
# that were on the host before are never touched.
newly=()
for svc in unbound knot lighttpd prometheus ssh named; do
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
exit 0
