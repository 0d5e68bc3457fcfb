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
  iproute2 nftables conntrack unbound knot knot-dnsutils dnsutils dnsperf
  lighttpd lighttpd-mod-openssl openssl curl nmap masscan valgrind python3 procps psmisc
  # docs and metrics checks: man pages (man, groff), promtool check metrics
  man-db groff-base prometheus
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
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

# Debian starts packaged daemons on install; our tests start their own
# instances inside network namespaces, so stop the system-wide ones.
for svc in unbound knot lighttpd prometheus; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
    systemctl disable "$svc" >/dev/null 2>&1 || true
  fi
done
exit 0
