#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# SSH handshake cost: fluxdecoy's emulated transport against the real
# OpenSSH sshd it was cloned from, side by side on the same machine.
#
#   cli ---- srv 10.0.2.10: sshd (UsePAM no)
#   cli ---- dcy 198.51.100.7: fluxdecoy (persona cloned from srv,
#            ssh-auth-delay 0, its own host keys)
#
# Per run and target, N sequential clients of each kind:
#   keyscan: ssh-keyscan -t ed25519 (version, KEXINIT, the default key
#            exchange sntrup761x25519-sha512, host key signature);
#   login:   ssh BatchMode, no keys: the same plus NEWKEYS, the encrypted
#            transport (chacha20-poly1305) and ssh-userauth to the
#            "Permission denied";
# reported as clients per second, the median of RUNS runs, with the ratio
# decoy / sshd. Both share the 2 cores with everything else on the machine:
# indicative figures. Not part of `make check`.
#
# Env: FLUXGATED (fluxdecoy is taken from the same directory), RUNS (5),
# N (40).

HERE=$(cd "$(dirname "$0")" && pwd)
FG_TEST_NAME=bench-decoy-ssh
. "$HERE/../../tests/netns/lib.sh"

RUNS=${RUNS:-5}
N=${N:-40}
need_root
need_cmd ip ssh ssh-keyscan ssh-keygen /usr/sbin/sshd
FLUXDECOY=${FLUXDECOY:-$(dirname "$FLUXGATED")/fluxdecoy}
[ -x "$FLUXDECOY" ] || die "fluxdecoy binary not found at $FLUXDECOY (build it: make)"
W=$FG_WORK
REAL=10.0.2.10 POOL=198.51.100.7

ns_add cli srv dcy
veth_link cli e0 "10.0.2.1/24" srv eth0 "10.0.2.10/24"
veth_link cli e1 "10.0.3.1/24" dcy eth0 "10.0.3.10/24"
nsx cli ip route add 198.51.100.0/24 via 10.0.3.10
nsx dcy ip route add default via 10.0.3.1
nsx dcy ip route add local 198.51.100.0/24 dev lo

mkdir -p "$W/sshd" "$W/keys"
for t in ed25519 ecdsa rsa; do
	ssh-keygen -q -t $t -N '' -f "$W/sshd/host_$t" || die "ssh-keygen"
	ssh-keygen -q -t $t -N '' -f "$W/keys/$t" || die "ssh-keygen"
done
chown nobody "$W"/keys/* 2>/dev/null
cat >"$W/sshd/sshd_config" <<EOF
Port 22
ListenAddress 0.0.0.0
HostKey $W/sshd/host_ed25519
HostKey $W/sshd/host_ecdsa
HostKey $W/sshd/host_rsa
PidFile $W/sshd/sshd.pid
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
MaxStartups 100
EOF
mkdir -p /run/sshd
start_bg sshd srv /usr/sbin/sshd -D -e -f "$W/sshd/sshd_config"
wait_port srv tcp 22 10 "$BG_PID" || die "sshd does not listen"
nsx cli "$FLUXDECOY" clone --from $REAL --ports tcp/22 --name shell -o "$W/p.yaml" >/dev/null 2>&1 \
	|| die "clone failed"
printf '    ssh-auth-delay: 0s\n' >>"$W/p.yaml"
cat >"$W/d.conf" <<EOF
decoy:
  user: nobody
  listen: [0.0.0.0]
persona:
  - id: shell
    file: $W/p.yaml
    ssh-host-keys: [$W/keys/ed25519, $W/keys/ecdsa, $W/keys/rsa]
EOF
start_bg fluxdecoy dcy "$FLUXDECOY" -c "$W/d.conf"
wait_port dcy tcp 22 10 "$BG_PID" || die "fluxdecoy does not listen"

rate() { # rate KIND ADDR: clients per second over N sequential clients
	local t0 t1 i
	t0=$(date +%s%N)
	for ((i = 0; i < N; i++)); do
		if [ "$1" = keyscan ]; then
			nsx cli ssh-keyscan -T 10 -t ed25519 "$2" >/dev/null 2>&1
		else
			nsx cli ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=no \
				-o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 "probe@$2" true >/dev/null 2>&1
		fi
	done
	t1=$(date +%s%N)
	awk -v n="$N" -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", n / (ns / 1e9) }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A res
for kind in keyscan login; do
	for tgt in sshd decoy; do res[$kind.$tgt]=""; done
	for ((r = 1; r <= RUNS; r++)); do   # interleaved, so drift hits both
		res[$kind.sshd]+="$(rate $kind $REAL) "
		res[$kind.decoy]+="$(rate $kind $POOL) "
	done
done

printf '\n| clients/s (median of %s runs of %s) | OpenSSH sshd | fluxdecoy | decoy / sshd |\n|---|---|---|---|\n' "$RUNS" "$N"
for kind in keyscan login; do
	s=$(tr ' ' '\n' <<<"${res[$kind.sshd]}" | grep . | median)
	d=$(tr ' ' '\n' <<<"${res[$kind.decoy]}" | grep . | median)
	printf '| %s | %s | %s | %s |\n' "$kind" "$s" "$d" "$(awk -v a="$d" -v b="$s" 'BEGIN { printf "%.2f", a / b }')"
done
for kind in keyscan login; do
	log "$kind runs: sshd ${res[$kind.sshd]}/ decoy ${res[$kind.decoy]}"
done
ok "benchmark ran"
finish
