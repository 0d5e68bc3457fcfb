#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# fluxdecoy's SSH persona against a real OpenSSH sshd, with real clients:
#
#   srv 10.0.2.10: sshd (PasswordAuthentication yes, no PAM, no
#       keyboard-interactive: the method list of a Debian host)
#   dcy 10.0.3.10: fluxdecoy owning 198.51.100.0/24 by a local route, with
#       its own host keys (never the real server's)
#   cli: ssh, ssh-keyscan, sshpass
#
# The decoy must answer the key exchange the client picks from the KEXINIT
# cloned from sshd (sntrup761x25519 by default, curve25519, ECDH), sign with
# the host key of the negotiated type, speak every cipher OpenSSH picks
# (chacha20-poly1305, AES-GCM, AES-CTR with HMAC and -etm), and fail every
# login as sshd does (same "Permission denied" lines, same disconnect after
# MaxAuthTries) while logging the credentials tried. Host keys rotate on
# the control socket's rotate-keys; reload re-reads them.
#
# Env: FLUXGATED (fluxdecoy is taken from the same directory), VALGRIND,
# FG_LOGDIR (see lib.sh).

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip ssh ssh-keyscan ssh-keygen sshpass /usr/sbin/sshd nc
FLUXDECOY=${FLUXDECOY:-$(dirname "$FLUXGATED")/fluxdecoy}
[ -x "$FLUXDECOY" ] || die "fluxdecoy binary not found at $FLUXDECOY (build it: make)"
mkdir -p "$FG_WORK/bin"
cp "$FLUXDECOY" "$FG_WORK/bin/fluxdecoy" || die "cannot copy fluxdecoy"
FLUXDECOY="$FG_WORK/bin/fluxdecoy"

REAL=10.0.2.10
POOL=198.51.100.7
KBD=198.51.100.200     # a persona that offers keyboard-interactive too
W=$FG_WORK

has_line() { # has_line NAME ERE TEXT
	if grep -Eq -- "$2" <<<"$3"; then ok "$1"; else fail "$1" "no line matches /$2/ in:" "$3"; fi
}
has_no_line() { # has_no_line NAME ERE TEXT
	if grep -Eq -- "$2" <<<"$3"; then fail "$1" "unexpected line matching /$2/ in:" "$3"; else ok "$1"; fi
}
cmp_out() { # cmp_out NAME REAL_OUTPUT DECOY_OUTPUT: equal and not empty
	if [ "$2" == "$3" ] && [ -n "$2" ]; then ok "$1"; else
		fail "$1" "$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3"))"; fi
}
ev_match() { # ev_match NAME ERE (waited for, bounded: events are written asynchronously)
	if wait_grep 30 "$W/eve.json" "$2"; then ok "$1"; else
		fail "$1" "no event matches /$2/; last events:" "$(tail -n 5 "$W/eve.json")"; fi
}
# a fingerprint as an ERE: base64 has '+' and '/'
re() { sed 's/[][\.*^$+?(){}|]/\\&/g' <<<"$1"; }
wait_log() { # wait_log FILE ERE TIMEOUT_S
	local i
	for i in $(seq $((10 * $3))); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# ------------------------------------------------------------ topology
ns_add cli srv dcy
veth_link cli e0 "10.0.2.1/24" srv eth0 "10.0.2.10/24"
veth_link cli e1 "10.0.3.1/24" dcy eth0 "10.0.3.10/24"
nsx cli ip route add 198.51.100.0/24 via 10.0.3.10
nsx dcy ip route add default via 10.0.3.1
nsx dcy ip route add local 198.51.100.0/24 dev lo

# ------------------------------------------------------------ the real sshd
SSHD=$W/sshd; mkdir -p "$SSHD"
for t in ed25519 ecdsa rsa; do
	ssh-keygen -q -t $t -N '' -f "$SSHD/host_$t" || die "ssh-keygen $t"
done
cat >"$SSHD/sshd_config" <<EOF
Port 22
ListenAddress 0.0.0.0
HostKey $SSHD/host_ed25519
HostKey $SSHD/host_ecdsa
HostKey $SSHD/host_rsa
PidFile $SSHD/sshd.pid
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
EOF
mkdir -p /run/sshd
start_bg sshd srv /usr/sbin/sshd -D -e -f "$SSHD/sshd_config"; SSHD_PID=$BG_PID
wait_port srv tcp 22 60 "$SSHD_PID" || { fail "sshd listens"; finish; }

# ------------------------------------------------------------ clone, keys, config
P=$W/ssh.persona
out=$(nsx cli "$FLUXDECOY" clone --from $REAL --ports tcp/22 --name shell -o "$P" 2>&1)
assert_eq "fluxdecoy clone of sshd succeeds" "0" "$?"
# the operator's edit: sshd's delay after a failed password is short
# without PAM; the decoy's default (2s) is pam_unix's
printf '    ssh-auth-delay: 100ms\n' >>"$P"
# clone read sshd's method list through a key exchange of its own
has_line "clone captured sshd's login methods" '^    ssh-auth-methods: "publickey,password"$' "$(cat "$P")"
sed 's/^    ssh-auth-methods: .*/    ssh-auth-methods: "publickey,password,keyboard-interactive"/' "$P" >"$W/kbd.persona"

K=$W/dkeys; mkdir -p "$K"
for t in ed25519 ecdsa rsa; do
	ssh-keygen -q -t $t -N '' -f "$K/a_$t" || die "ssh-keygen $t"
done
ssh-keygen -q -t ed25519 -N '' -f "$K/b_ed25519" || die "ssh-keygen b"
ssh-keygen -q -t ed25519 -N '' -f "$K/c_ed25519" || die "ssh-keygen c"
# the second RSA key as PEM: both file formats are read
ssh-keygen -q -t rsa -b 2048 -m PEM -N '' -f "$K/b_rsa" || die "ssh-keygen pem"
chmod 0600 "$K"/*; chown nobody "$K"/a_* "$K"/b_* "$K"/c_* 2>/dev/null

DCONF=$W/fluxdecoy.conf
cat >"$DCONF" <<EOF
decoy:
  user: nobody
  event-log: $W/eve.json
  metrics: 127.0.0.1@9561
  control: $W/control.sock
persona:
  - id: shell
    file: $P
    addresses: [198.51.100.0/25]
    ssh-host-keys: [$K/a_ed25519, $K/a_ecdsa, $K/a_rsa, $K/b_ed25519, $K/b_rsa]
  - id: kbd
    file: $W/kbd.persona
    addresses: [198.51.100.128/25]
    ssh-host-keys: [$K/a_ed25519, $K/a_ecdsa, $K/a_rsa, $K/c_ed25519]
    ssh-key-rotation: 1s
EOF
touch "$W/eve.json"; chown nobody "$W/eve.json" 2>/dev/null
out=$("$FLUXDECOY" --check -c "$DCONF" 2>&1)
assert_eq "fluxdecoy --check accepts the config" "0" "$?"
# an encrypted key is refused with the reason, at start
ssh-keygen -q -t ed25519 -N 'secret' -f "$W/enc_key" || die "ssh-keygen enc"
sed "s#ssh-host-keys: \[$K/a_ed25519, #ssh-host-keys: [$W/enc_key, #" "$DCONF" >"$W/enc.conf"
out=$(nsx dcy timeout 20 "$FLUXDECOY" -c "$W/enc.conf" 2>&1); rc=$?
assert_eq "an encrypted host key: the decoy refuses to start" "1" "$rc"
has_line "an encrypted host key: the reason is given" "enc_key: the key is encrypted" "$out"

if [ "$VALGRIND" = 1 ]; then
	start_bg fluxdecoy dcy valgrind -q --vgdb=no --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite --show-leak-kinds=definite \
		--log-file="$W/fluxdecoy.valgrind.log" "$FLUXDECOY" -c "$DCONF"
	T=120
else
	start_bg fluxdecoy dcy "$FLUXDECOY" -c "$DCONF"
	T=15
fi
DPID=$BG_PID
wait_port dcy tcp 22 $T "$DPID" || { fail "fluxdecoy listens" "$(tail "$W/fluxdecoy.log")"; finish; }
wait_log "$W/fluxdecoy.log" 'serving [0-9]+ personas as nobody' $T || fail "fluxdecoy serves" "$(tail "$W/fluxdecoy.log")"
has_no_line "every key exchange sshd offers is emulated (no warning)" \
	"is offered but not implemented" "$(cat "$W/fluxdecoy.log")"

SSHO=(-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=20)

# ------------------------------------------------------------ host keys
keyscan() { nsx cli timeout 60 ssh-keyscan -T 20 -t rsa,ecdsa,ed25519 "$1" 2>/dev/null | sort; }
r=$(keyscan $REAL); d=$(keyscan $POOL)
cmp_out "ssh-keyscan -t rsa,ecdsa,ed25519: the same key types" \
	"$(awk '{print $2}' <<<"$r" | sort)" "$(awk '{print $2}' <<<"$d" | sort)"
assert_count "ssh-keyscan: three keys from the decoy" 3 '^198\.51\.100\.7 ' "$d"
shared=$(comm -12 <(awk '{print $3}' <<<"$r" | sort) <(awk '{print $3}' <<<"$d" | sort))
assert_eq "the decoy shows none of the real server's keys" "" "$shared"
mine=$(for t in ed25519 ecdsa rsa; do ssh-keygen -y -f "$K/a_$t" | awk '{print $2}'; done | sort)
cmp_out "the decoy shows its configured key set a" "$mine" "$(awk '{print $3}' <<<"$d" | sort)"

# ------------------------------------------------------------ KEX proposal and choices
sshv() { nsx cli timeout 60 ssh "${SSHO[@]}" -vv -o BatchMode=yes "${@:2}" "probe@$1" true 2>&1; }
kexprop() { sed -n '/peer server KEXINIT proposal/,/first_kex_follows/p' <<<"$1"; }
chosen() { grep -E 'debug1: kex: (algorithm|host key algorithm|server->client|client->server)|Permission denied|Remote protocol version' <<<"$1" \
	| sed -E 's/^debug1: //; s/(protocol version [0-9.]+, remote software version [^ ]+).*/\1/; s/probe@[0-9.]+/probe@ADDR/'; }
R=$(sshv $REAL); D=$(sshv $POOL)
cmp_out "ssh -vv: same server KEX proposal" "$(kexprop "$R")" "$(kexprop "$D")"
cmp_out "ssh (defaults): same choices, same failure" "$(chosen "$R")" "$(chosen "$D")"
has_line "ssh defaults negotiate sntrup761x25519" 'kex: algorithm: sntrup761x25519-sha512' "$D"
has_line "the decoy sends EXT_INFO like sshd" 'kex_input_ext_info: server-sig-algs=<ssh-ed25519' "$D"
while read -r label opts; do
	# shellcheck disable=SC2086
	R=$(sshv $REAL $opts); D=$(sshv $POOL $opts)
	cmp_out "ssh $label: same choices, same failure" "$(chosen "$R")" "$(chosen "$D")"
	has_line "ssh $label: authentication reached on the decoy" 'Permission denied \(publickey,password\)' "$D"
done <<'EOF'
curve25519 -o KexAlgorithms=curve25519-sha256
curve25519@libssh -o KexAlgorithms=curve25519-sha256@libssh.org
dh-group14-sha256 -o KexAlgorithms=diffie-hellman-group14-sha256
dh-group16-sha512 -o KexAlgorithms=diffie-hellman-group16-sha512
dh-group18-sha512 -o KexAlgorithms=diffie-hellman-group18-sha512
dh-group-exchange-sha256 -o KexAlgorithms=diffie-hellman-group-exchange-sha256
ecdh-nistp256+ecdsa -o KexAlgorithms=ecdh-sha2-nistp256 -o HostKeyAlgorithms=ecdsa-sha2-nistp256
rsa-sha2-512 -o HostKeyAlgorithms=rsa-sha2-512
rsa-sha2-256 -o HostKeyAlgorithms=rsa-sha2-256
aes128-gcm -o Ciphers=aes128-gcm@openssh.com
aes256-gcm -o Ciphers=aes256-gcm@openssh.com
aes128-ctr+hmac-sha2-256 -o Ciphers=aes128-ctr -o MACs=hmac-sha2-256
aes256-ctr+hmac-sha2-512-etm -o Ciphers=aes256-ctr -o MACs=hmac-sha2-512-etm@openssh.com
aes192-ctr+hmac-sha2-256-etm -o Ciphers=aes192-ctr -o MACs=hmac-sha2-256-etm@openssh.com
EOF

# ------------------------------------------------------------ logins
pw() { nsx cli timeout 60 sshpass -p "$2" ssh "${SSHO[@]}" -o PubkeyAuthentication=no \
	-o NumberOfPasswordPrompts=1 "$3@$1" true 2>&1; echo "rc=$?"; }
r=$(pw $REAL 'Tr0ub4dor&3' admin); d=$(pw $POOL 'Tr0ub4dor&3' admin)
cmp_out "sshpass with a wrong password: the same answer (Permission denied)" \
	"$(grep -v '^Warning: Permanently added' <<<"$r" | sed "s/$REAL/ADDR/")" \
	"$(grep -v '^Warning: Permanently added' <<<"$d" | sed "s/$POOL/ADDR/")"
has_line "sshpass: Permission denied from the decoy" 'Permission denied' "$d"
ev_match "event: the username and password tried" \
	'"event":"ssh_auth".*"username":"admin","method":"password".*"password":"Tr0ub4dor&3"'
d=$(pw $POOL $'p\\w"\x01' 'r00t')
ev_match "event: odd bytes in a password are escaped, not lost" '"username":"r00t".*"password":"p\\\\x5cw\\"\\\\x01"'

# public keys: the fingerprint of each key offered; MaxAuthTries (6) as sshd
for i in 1 2 3 4 5 6 7; do ssh-keygen -q -t ed25519 -N '' -f "$W/u$i" || die "ssh-keygen u$i"; done
ids=(); for i in 1 2 3 4 5 6 7; do ids+=(-i "$W/u$i"); done
many() { nsx cli timeout 60 ssh "${SSHO[@]}" -o BatchMode=yes -o IdentitiesOnly=yes "${ids[@]}" "probe@$1" true 2>&1 \
	| grep -v '^Warning: Permanently added' | sed -E "s/$1/ADDR/g; s/port [0-9]+/port N/g"; }
r=$(many $REAL); d=$(many $POOL)
cmp_out "seven keys offered: the same disconnect after MaxAuthTries" "$r" "$d"
has_line "the decoy disconnects: Too many authentication failures" 'Too many authentication failures' "$d"
fp=$(re "$(ssh-keygen -lf "$W/u1.pub" | awk '{print $2}')")
ev_match "event: the public key's fingerprint" "\"method\":\"publickey\".*\"key_type\":\"ssh-ed25519\",\"key_fingerprint\":\"$fp\""
n=$(grep -c '"event":"ssh_auth".*"username":"probe","method":"publickey"' "$W/eve.json")
[ "$n" -ge 6 ] && ok "six public key attempts logged ($n)" || fail "six public key attempts logged" "$n"

# keyboard-interactive (the persona that offers it): the responses are logged
d=$(nsx cli timeout 60 sshpass -p 'kbd-secret' ssh "${SSHO[@]}" -o PubkeyAuthentication=no \
	-o PreferredAuthentications=keyboard-interactive -o NumberOfPasswordPrompts=1 "kuser@$KBD" true 2>&1)
has_line "keyboard-interactive: Permission denied" 'Permission denied' "$d"
ev_match "event: keyboard-interactive responses" '"username":"kuser","method":"keyboard-interactive","responses":\["kbd-secret"\]'

# the kbd persona rotates its key set every second (ssh-key-rotation: 1s):
# both of its ed25519 keys show up, and only those
seen=""
for i in $(seq 40); do
	seen=$(printf '%s\n%s\n' "$seen" "$(nsx cli timeout 30 ssh-keyscan -T 20 -t ed25519 $KBD 2>/dev/null | awk '{print $3}')" | grep . | sort -u)
	[ "$(grep -c . <<<"$seen")" -ge 2 ] && break
	sleep 0.3
done
cmp_out "ssh-key-rotation: 1s: the two ed25519 keys of the epochs, in turn" \
	"$(for k in a c; do awk '{print $2}' "$K/${k}_ed25519.pub"; done | sort)" "$seen"

# ------------------------------------------------------------ events, metrics
afp=$(re "$(ssh-keygen -lf "$K/a_ed25519.pub" | awk '{print $2}')")
ev_match "event: ssh_kex names the negotiated methods and the decoy's key" \
	"\"event\":\"ssh_kex\".*\"kex\":\"sntrup761x25519-sha512\",\"host_key\":\"ssh-ed25519\",\"host_key_fingerprint\":\"$afp\",\"cipher\":\"chacha20-poly1305@openssh.com\""
M=$(nsx dcy curl -sS -m 10 http://127.0.0.1:9561/metrics)
has_line "metrics: key exchanges counted" '^fluxdecoy_ssh_kex_total [1-9]' "$M"
has_line "metrics: login attempts counted" '^fluxdecoy_ssh_auth_attempts_total [1-9]' "$M"

# ------------------------------------------------------------ control socket
CTL=("$FLUXDECOY" ctl -s "$W/control.sock")
has_line "the control socket is root-only (0600)" '^srw-------' "$(ls -l "$W/control.sock")"
out=$("${CTL[@]}" status 2>&1)
has_line "ctl status: personas and flows" '"personas": 2' "$out"
out=$("${CTL[@]}" keys 2>&1)
has_line "ctl keys: the active ed25519 key" "\"ssh-ed25519\": \"$afp\"" "$out"
out=$("${CTL[@]}" rotate-keys 2>&1)
has_line "ctl rotate-keys: key set 1" '"key_set": 1' "$out"
bfp=$(re "$(ssh-keygen -lf "$K/b_ed25519.pub" | awk '{print $2}')")
d=$(nsx cli timeout 60 ssh-keyscan -T 20 -t ed25519 $POOL 2>/dev/null | awk '{print $3}')
assert_eq "after rotate-keys: ssh-keyscan shows key set b" "$(awk '{print $2}' "$K/b_ed25519.pub")" "$d"
d=$(nsx cli timeout 60 ssh-keyscan -T 20 -t rsa $POOL 2>/dev/null | awk '{print $3}')
assert_eq "after rotate-keys: the PEM RSA key of set b" "$(ssh-keygen -y -f "$K/b_rsa" | awk '{print $2}')" "$d"
d=$(nsx cli timeout 60 ssh-keyscan -T 20 -t ecdsa $POOL 2>/dev/null | awk '{print $3}')
assert_eq "after rotate-keys: one ECDSA key, still a's" "$(awk '{print $2}' "$K/a_ecdsa.pub")" "$d"
has_line "ctl keys: key set b active" "\"ssh-ed25519\": \"$bfp\"" "$("${CTL[@]}" keys 2>&1)"
# reload re-reads the key files: a replaced file is served after it
ssh-keygen -q -t ed25519 -N '' -f "$W/new_ed25519" || die "ssh-keygen new"
cp "$W/new_ed25519" "$K/b_ed25519"; chown nobody "$K/b_ed25519" 2>/dev/null
out=$("${CTL[@]}" reload 2>&1)
has_line "ctl reload: ok" '"reloaded": true' "$out"
d=$(nsx cli timeout 60 ssh-keyscan -T 20 -t ed25519 $POOL 2>/dev/null | awk '{print $3}')
assert_eq "after reload: the replaced key file is served" "$(awk '{print $2}' "$W/new_ed25519.pub")" "$d"
# a key file that no longer parses: reload refused, the old keys kept
echo garbage >"$K/b_ed25519"
out=$("${CTL[@]}" reload 2>&1); rc=$?
assert_eq "ctl reload with a bad key file fails (exit 1)" "1" "$rc"
has_line "ctl reload: the bad file is named" "b_ed25519: " "$out"
d=$(nsx cli timeout 60 ssh-keyscan -T 20 -t ed25519 $POOL 2>/dev/null | awk '{print $3}')
assert_eq "after a failed reload: the keys in use are kept" "$(awk '{print $2}' "$W/new_ed25519.pub")" "$d"
out=$("${CTL[@]}" no-such-command 2>&1); rc=$?
assert_eq "ctl: an unknown command fails (exit 1)" "1" "$rc"
has_line "ctl: an unknown command is named" "unknown command 'no-such-command'" "$out"
has_line "ctl help lists the commands" 'rotate-keys' "$("${CTL[@]}" help 2>&1)"
# garbage on the control socket: refused, counted, the daemon keeps serving
nsx dcy timeout 5 bash -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -N -U '$W/control.sock'" >/dev/null 2>&1
has_line "ctl stats: the bad request counted" '"control_errors": [1-9]' "$("${CTL[@]}" stats 2>&1)"
# a client that connects and says nothing is closed at its deadline (5 s),
# even when nothing else happens on the socket
nsx dcy timeout 60 bash -c "sleep 59 | nc -U '$W/control.sock'" >/dev/null 2>&1 &
IDLE=$!
dropped=0
for i in $(seq 60); do
	"${CTL[@]}" stats 2>/dev/null | grep -Eq '"control_dropped": [1-9]' && { dropped=1; break; }
	sleep 1
done
assert_eq "ctl: a silent client is dropped at its deadline" "1" "$dropped"
kill "$IDLE" 2>/dev/null; wait "$IDLE" 2>/dev/null

# ------------------------------------------------------------ still serving
d=$(nsx cli timeout 5 nc -w 3 $POOL 22 </dev/null | head -1 | tr -d '\r')
has_line "still serving: the SSH banner" '^SSH-2.0-OpenSSH' "$d"

stop_pid "$DPID" $T
case $STOP_RC in
0) ok "fluxdecoy stops cleanly on SIGTERM" ;;
99) fail "fluxdecoy stops cleanly (valgrind memcheck errors)" "$(tail -n 60 "$W/fluxdecoy.valgrind.log")" ;;
*) fail "fluxdecoy stops cleanly" "exit $STOP_RC" "$(tail -n 20 "$W/fluxdecoy.log")" ;;
esac
finish
