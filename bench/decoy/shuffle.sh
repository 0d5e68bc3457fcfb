#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# DESIR's shuffle, measured from outside: how much of an attacker's map of
# the pool survives an epoch change?
#
#   atk 10.0.3.1 --- dcy 10.0.3.10: fluxdecoy owning 198.51.100.0/24
#
# Two decoy beds side by side, each with a "web" persona (HTTP + SSH) on
# 80% of the pool, an "ssh-only" variant on 15% and 5% closed:
#   static:   the same deal kept (no epoch change during the run): what a
#             decoy bed without the shuffle shows (fixed persona ranges
#             would be worse: a port any persona serves answers the SYN at
#             every address, so the ssh-only variant cannot even be shown);
#   shuffled: the personas dealt anew at every epoch change.
# For each bed the attacker maps the pool with nmap -sT -p 22,80 (open
# ports per address), then the epoch changes (SIGUSR1 forces it; the static
# bed gets the same signal), and it maps again, ROUNDS times. Figures per
# epoch change: the share of addresses whose persona stayed the same
# (overlap) and the share of the previous epoch's ssh-only addresses that
# are still ssh-only (the worth of a blacklist). Medians over the rounds,
# with the value two independent deals give (sum of squared shares).
#
# Run as root: sudo bench/decoy/shuffle.sh   (ROUNDS=5)

HERE=$(cd "$(dirname "$0")" && pwd)
FG_TEST_NAME=bench-shuffle
. "$HERE/../../tests/netns/lib.sh"
need_root
need_cmd ip nmap python3 curl
FLUXDECOY=${FLUXDECOY:-$(dirname "$FLUXGATED")/fluxdecoy}
[ -x "$FLUXDECOY" ] || die "build first: make"
ROUNDS=${ROUNDS:-5}
W=$FG_WORK

ns_add atk dcy
veth_link atk e1 "10.0.3.1/24" dcy eth0 "10.0.3.10/24"
nsx atk ip route add 198.51.100.0/24 via 10.0.3.10
nsx dcy ip route add local 198.51.100.0/24 dev lo

KEX='    kex-algorithms: [curve25519-sha256]
    host-key-algorithms: [ssh-ed25519]
    ciphers-c2s: [aes128-ctr]
    ciphers-s2c: [aes128-ctr]
    macs-c2s: [hmac-sha2-256]
    macs-s2c: [hmac-sha2-256]
    compression-c2s: [none]
    compression-s2c: [none]'
printf 'persona:\n  name: web\nservice:\n  - port: 80\n    kind: http\n    response-get: "HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n"\n  - port: 22\n    kind: ssh\n    ssh-version: "SSH-2.0-OpenSSH_9.2p1"\n%s\n' "$KEX" >"$W/web.persona"
printf 'persona:\n  name: ssh\nservice:\n  - port: 22\n    kind: ssh\n    ssh-version: "SSH-2.0-OpenSSH_9.2p1"\n%s\n' "$KEX" >"$W/ssh.persona"
head -c 32 /dev/urandom >"$W/key"; chmod 0600 "$W/key"
cat >"$W/shuffled.conf" <<EOF
decoy:
  user: nobody
  metrics: 127.0.0.1@9561
shuffle:
  key: $W/key
pool:
  - id: p
    prefix: 198.51.100.0/24
persona:
  - id: web
    file: $W/web.persona
    pool: p
    share: 0.8
  - id: ssh-only
    file: $W/ssh.persona
    pool: p
    share: 0.15
EOF
scan() {
	nsx atk nmap -n -Pn -sT -T5 --max-retries 1 -p 22,80 198.51.100.0/24 -oG - 2>/dev/null \
		| sed -n 's/^Host: \([0-9.]*\) .*Ports: \(.*\)$/\1 \2/p' \
		| while read -r a ports; do
			case $ports in
			*22/open/*80/open/*) echo "$a web" ;;
			*22/open/*) echo "$a ssh-only" ;;
			*) echo "$a closed" ;;
			esac
		done | sort
}

run_bed() { # run_bed NAME CONF SIGNAL -> lines "overlap blacklist"
	local name=$1 conf=$2 sig=$3 pid prev cur i
	start_bg "fluxdecoy-$name" dcy "$FLUXDECOY" -c "$conf"; pid=$BG_PID
	wait_port dcy tcp 9561 15 "$pid" || die "fluxdecoy ($name): $(tail "$W/fluxdecoy-$name.log")"
	prev=$(scan)
	for i in $(seq "$ROUNDS"); do
		[ "$sig" = 1 ] && kill -USR1 "$pid"
		sleep 1   # the deal takes effect between event batches (< 0.5 s)
		cur=$(scan)
		python3 - <(printf '%s\n' "$prev") <(printf '%s\n' "$cur") <<'EOF'
import sys
a = dict(l.split() for l in open(sys.argv[1]) if l.strip())
b = dict(l.split() for l in open(sys.argv[2]) if l.strip())
same = sum(1 for k in a if b.get(k) == a[k]) / len(a)
bl = [k for k in a if a[k] == "ssh-only"]
hit = sum(1 for k in bl if b.get(k) == "ssh-only") / max(1, len(bl))
print("%.4f %.4f" % (same, hit))
EOF
		prev=$cur
	done >"$W/$name.fig"
	stop_pid "$pid" 10
}
run_bed static "$W/shuffled.conf" 0
run_bed shuffled "$W/shuffled.conf" 1

table=$(python3 - "$W/static.fig" "$W/shuffled.fig" "$ROUNDS" <<'EOF'
import statistics, sys
def col(f, i): return [float(l.split()[i]) for l in open(f) if l.strip()]
exp = 0.8**2 + 0.15**2 + 0.05**2
print("| decoy bed | overlap of the map across an epoch change (median of %s) | ssh-only blacklist still valid (median) | runs |" % sys.argv[3])
print("|---|---|---|---|")
for name, f in (("static (no shuffle)", sys.argv[1]), ("fluxdecoy shuffle", sys.argv[2])):
    o, b = col(f, 0), col(f, 1)
    print("| %s | %.3f | %.3f | %s |" % (name, statistics.median(o), statistics.median(b),
          " ".join("%.3f/%.3f" % x for x in zip(o, b))))
print()
print("Two independent deals of 80/15/5%% overlap by %.3f on average; a blacklist of the 15%% variant stays valid with probability 0.15 (chance)." % exp)
EOF
)
printf '%s\n' "$table"
[ -n "${OUT:-}" ] && printf '%s\n' "$table" >>"$OUT"
finish
