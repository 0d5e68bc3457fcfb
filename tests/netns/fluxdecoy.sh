#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# fluxdecoy against the real servers it imitates:
#
#   srv 10.0.2.10, fd00:2::10: lighttpd (HTTP, HTTPS with a test CA chain),
#       OpenSSH sshd, Postfix (an instance of its own: config, queue and
#       data directories under the test's work directory, never the host's
#       service)
#   dcy 10.0.3.10, fd00:3::10: fluxdecoy, owning the pool 198.51.100.0/24 and
#       2001:db8:77::/64 by local routes
#   cli 10.0.2.1 / 10.0.3.1: the client; the pool is routed to dcy
#
# `fluxdecoy clone` captures srv into a persona; fluxdecoy serves it on the
# pool; then each real client tool is run against srv and against a pool
# address and their outputs are compared (only Date values and addresses
# masked): curl -sI headers in order, GET bodies, openssl s_client -showcerts
# chains (key supplied), the certificate shape without the key (subject,
# issuer, SAN, key type, validity length), ssh -vv KEX proposals and version
# line, swaks greeting and EHLO; over HTTP/2 (ALPN h2) the ALPN answers,
# curl --http2 heads and pages, nghttp -nv frames and the GOAWAY to a client
# that speaks no HTTP/2. Ports outside the persona get RST (TCP) and
# ICMP port unreachable (UDP). The event log and the metrics are checked,
# and so is the privilege drop. The daemon runs under valgrind with
# VALGRIND=1.
#
# Env: FLUXGATED (fluxdecoy is taken from the same directory), VALGRIND,
# FG_LOGDIR (see lib.sh).

. "$(dirname "$0")/lib.sh"

need_root
need_cmd ip curl lighttpd openssl ssh /usr/sbin/sshd ssh-keygen swaks postfix nmap
FLUXDECOY=${FLUXDECOY:-$(dirname "$FLUXGATED")/fluxdecoy}
[ -x "$FLUXDECOY" ] || die "fluxdecoy binary not found at $FLUXDECOY (build it: make)"
mkdir -p "$FG_WORK/bin"
cp "$FLUXDECOY" "$FG_WORK/bin/fluxdecoy" || die "cannot copy fluxdecoy"
FLUXDECOY="$FG_WORK/bin/fluxdecoy"

REAL=10.0.2.10 REAL6=fd00:2::10
POOL=198.51.100.7 POOL6=2001:db8:77::7
SHAPED=198.51.100.200   # persona without the key: a certificate of the same shape
W=$FG_WORK

# lib.sh's assert_match pipes the text into grep -q; under pipefail that
# fails at random when grep exits on an early line while printf is still
# writing (SIGPIPE). These read a here-string instead.
has_line() { # has_line NAME ERE TEXT
	if grep -Eq -- "$2" <<<"$3"; then ok "$1"; else fail "$1" "no line matches /$2/ in:" "$3"; fi
}
has_no_line() { # has_no_line NAME ERE TEXT
	if grep -Eq -- "$2" <<<"$3"; then fail "$1" "unexpected line matching /$2/ in:" "$3"; else ok "$1"; fi
}
mask() { sed -E 's/^([Dd]ate:).*/\1 MASKED/'; }
cmp_out() { # cmp_out NAME REAL_OUTPUT DECOY_OUTPUT: equal and not empty
	if [ "$2" == "$3" ] && [ -n "$2" ]; then ok "$1"; else
		fail "$1" "$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3"))"; fi
}

# ------------------------------------------------------------ topology
ns_add cli srv dcy
veth_link cli e0 "10.0.2.1/24,fd00:2::1/64" srv eth0 "10.0.2.10/24,fd00:2::10/64"
veth_link cli e1 "10.0.3.1/24,fd00:3::1/64" dcy eth0 "10.0.3.10/24,fd00:3::10/64"
nsx cli ip route add 198.51.100.0/24 via 10.0.3.10
nsx cli ip -6 route add 2001:db8:77::/64 via fd00:3::10
nsx dcy ip route add default via 10.0.3.1
nsx dcy ip -6 route add default via fd00:3::1
nsx dcy ip route add local 198.51.100.0/24 dev lo
nsx dcy ip -6 route add local 2001:db8:77::/64 dev lo

# ------------------------------------------------------------ real servers
# TLS: a CA and a leaf it signs, served as a chain
TLS=$W/tls; mkdir -p "$TLS"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
	-subj "/O=Fluxgate Test/CN=Fluxgate Test CA" -keyout "$TLS/ca.key" -out "$TLS/ca.pem" 2>/dev/null \
	|| die "cannot make the test CA"
# an EC P-384 leaf under a P-256 CA: the shaped certificate must copy the
# curve, not take a default (an RSA leaf works the same, but generating its
# twin takes half a minute under valgrind on a loaded machine)
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -subj "/O=Example/CN=www.example.test" \
	-keyout "$TLS/leaf.key" -out "$TLS/leaf.csr" 2>/dev/null || die "cannot make the leaf key"
printf 'subjectAltName=DNS:www.example.test,DNS:example.test,IP:10.0.2.10\n' >"$TLS/ext"
openssl x509 -req -in "$TLS/leaf.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" -CAcreateserial \
	-days 90 -extfile "$TLS/ext" -out "$TLS/leaf.pem" 2>/dev/null || die "cannot sign the leaf"
cat "$TLS/leaf.pem" "$TLS/ca.pem" >"$TLS/chain.pem"
cat "$TLS/chain.pem" "$TLS/leaf.key" >"$TLS/lighttpd.pem"

mkdir -p "$W/www"
printf '<html><body>the real server</body></html>\n' >"$W/www/index.html"
# a sized file as the lab's (sparse, all zeros): served with ranges
truncate -s 10000000 "$W/www/size.bin" || die "cannot make size.bin"
cat >"$W/lighttpd.conf" <<EOF
server.modules += ( "mod_openssl" )
server.document-root = "$W/www"
server.port = 80
server.bind = "0.0.0.0"
\$SERVER["socket"] == "[::]:80" { }
\$SERVER["socket"] == "0.0.0.0:443" { ssl.engine = "enable" ssl.pemfile = "$TLS/lighttpd.pem" }
\$SERVER["socket"] == "[::]:443" { ssl.engine = "enable" ssl.pemfile = "$TLS/lighttpd.pem" }
server.pid-file = "$W/lighttpd.pid"
server.errorlog = "$W/lighttpd-error.log"
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/html", "" => "application/octet-stream" )
server.max-request-field-size = 65535
EOF
start_bg lighttpd srv lighttpd -D -f "$W/lighttpd.conf"; HTTPD_PID=$BG_PID

SSHD=$W/sshd; mkdir -p "$SSHD"
for t in ed25519 ecdsa rsa; do
	ssh-keygen -q -t $t -N '' -f "$SSHD/host_$t" || die "ssh-keygen $t"
done
cat >"$SSHD/sshd_config" <<EOF
Port 22
ListenAddress 0.0.0.0
ListenAddress ::
HostKey $SSHD/host_ed25519
HostKey $SSHD/host_ecdsa
HostKey $SSHD/host_rsa
PidFile $SSHD/sshd.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
EOF
mkdir -p /run/sshd   # sshd's privilege separation directory (packaged path)
start_bg sshd srv /usr/sbin/sshd -D -e -f "$SSHD/sshd_config"; SSHD_PID=$BG_PID
# Postfix, in the foreground (start-fg) with its own directories; local
# mail for mx.example.test only, nothing relayed for the client's network
PF=$W/postfix; mkdir -p "$PF/conf" "$PF/queue" "$PF/data"
chown postfix "$PF/data" || die "no postfix user (apt-get install postfix)"
cat >"$PF/conf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.example.test
mydomain = example.test
myorigin = \$myhostname
mydestination = \$myhostname, localhost
mynetworks = 127.0.0.0/8
inet_interfaces = all
inet_protocols = ipv4
smtpd_banner = \$myhostname ESMTP \$mail_name (Debian/GNU)
maillog_file_prefixes = $PF
maillog_file = $PF/maillog
alias_maps =
alias_database =
local_recipient_maps =
biff = no
EOF
# no chroot (the packaged master.cf chroots smtpd into the host's spool)
cat >"$PF/conf/master.cf" <<'EOF'
smtp      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
start_bg postfix srv postfix -c "$PF/conf" start-fg; SMTPD_PID=$BG_PID

wait_port srv tcp 80 60 "$HTTPD_PID" || { fail "lighttpd listens"; finish; }
wait_port srv tcp 443 60 "$HTTPD_PID" || { fail "lighttpd listens on 443"; finish; }
wait_port srv tcp 22 60 "$SSHD_PID" || { fail "sshd listens"; finish; }
wait_port srv tcp 25 20 "$SMTPD_PID" || { fail "postfix listens" "$(tail "$PF/maillog" 2>/dev/null)"; finish; }
# the master daemon is a child of postfix-script: stopped by its own PID
MASTER_PID=$(tr -d ' ' <"$PF/queue/pid/master.pid" 2>/dev/null)
[ -n "$MASTER_PID" ] && FG_PIDS+=("$MASTER_PID")

# ------------------------------------------------------------ clone
P=$W/persona.yaml
out=$(nsx cli "$FLUXDECOY" clone --from $REAL --ports tcp/80,tcp/443,tcp/22,tcp/25 \
	--paths /index.html,/size.bin --name web -o "$P" 2>&1)
assert_eq "fluxdecoy clone of the real server succeeds" "0" "$?"
[ -s "$P" ] || { fail "clone wrote a persona" "$out"; finish; }
has_line "clone captured the HTTP head" '^    response-head: "HTTP/1.1 200 OK\\r\\n' "$(cat "$P")"
has_line "clone captured the TLS chain" 'tls-chain: "-----BEGIN CERTIFICATE-----' "$(cat "$P")"
has_line "clone captured the SSH version" '^    ssh-version: "SSH-2.0-OpenSSH' "$(cat "$P")"
has_line "clone captured sshd's login methods (no password here)" '^    ssh-auth-methods: "publickey"$' "$(cat "$P")"
has_line "clone captured the SMTP greeting" '^    smtp-greeting: "220 ' "$(cat "$P")"
# the capture holds no private key
has_no_line "clone kept no private key" 'PRIVATE KEY' "$(cat "$P")"
has_line "clone captured lighttpd's ALPN choice (h2, http/1.1)" '^      protocols: \[h2, "http/1.1"\]$' "$(cat "$P")"
has_line "clone captured that the client's ALPN order wins" '^      prefer: client$' "$(cat "$P")"
has_line "clone captured lighttpd's HTTP/2 SETTINGS" '^      h2-settings: "3:[0-9]+( [0-9]+:[0-9]+)*"$' "$(cat "$P")"
has_line "clone captured lighttpd's connection WINDOW_UPDATE" '^      h2-window-update: [1-9][0-9]*$' "$(cat "$P")"
has_no_line "clone no longer warns about HTTP/2" 'selects HTTP/2' "$out"
has_line "clone made /size.bin a sized page (its Range answer was a 206)" '^        size: 10000000$' "$(cat "$P")"
has_line "clone captured the 206 head" '^        response-range: "HTTP/1.1 206 Partial Content\\r\\n' "$(cat "$P")"
has_line "clone captured the 416" '^        response-range-unsatisfiable: "HTTP/1.1 416 ' "$(cat "$P")"
has_line "clone measured lighttpd's request-head limit (max-request-field-size 65535)" \
	'^    max-request-head: 65535$' "$(cat "$P")"
has_line "clone captured lighttpd's 431" '^    response-too-large: "HTTP/1.0 431 ' "$(cat "$P")"
# over IPv6 the capture is the same (Date values aside)
out=$(nsx cli "$FLUXDECOY" clone --from $REAL6 --ports tcp/80,tcp/22 --name web 2>&1)
r=$(grep -A4 '^  - port: 80' "$P" | grep -v ssh-version | sed -E 's/Date: [^\\]*/Date: X/g')
d=$(printf '%s\n' "$out" | grep -A4 '^  - port: 80' | grep -v ssh-version | sed -E 's/Date: [^\\]*/Date: X/g')
cmp_out "clone over IPv6 captures the same HTTP answers" "$r" "$d"
# clone talks only to the address it was given
out=$(nsx cli "$FLUXDECOY" clone --from www.example.test --ports tcp/80 2>&1)
has_line "clone refuses a name (address only)" "is not an IP address" "$out"

# ------------------------------------------------------------ decoy config
DCONF=$W/fluxdecoy.conf
cp "$TLS/chain.pem" "$W/dcy-chain.pem"; cp "$TLS/leaf.key" "$W/dcy-leaf.key"
# the decoy's own SSH host keys (made at start otherwise: an RSA key is slow
# under valgrind)
for t in ed25519 ecdsa rsa; do
	ssh-keygen -q -t $t -N '' -f "$W/dcy_host_$t" || die "ssh-keygen $t"
done
chown nobody "$W"/dcy_host_* 2>/dev/null
cat >"$DCONF" <<EOF
decoy:
  user: nobody
  event-log: $W/eve.json
  metrics: 127.0.0.1@9561
  idle-timeout: 20s
persona:
  - id: web
    file: $P
    addresses: [198.51.100.0/25, 2001:db8:77::/64]
    tls-cert: $W/dcy-chain.pem
    tls-key: $W/dcy-leaf.key
    ssh-host-keys: [$W/dcy_host_ed25519, $W/dcy_host_ecdsa, $W/dcy_host_rsa]
  - id: web-shaped
    file: $P
    addresses: [198.51.100.128/25]
    ssh-host-keys: [$W/dcy_host_ed25519, $W/dcy_host_ecdsa, $W/dcy_host_rsa]
EOF
touch "$W/eve.json"; chown nobody "$W/eve.json" 2>/dev/null
out=$("$FLUXDECOY" --check -c "$DCONF" 2>&1)
assert_eq "fluxdecoy --check accepts the config" "0" "$?"

# --check: errors carry file:line, in the persona file too
sed 's/^    kind: ssh$/    kind: telnet/' "$P" >"$W/bad-persona.yaml"
sed "s#file: $P#file: $W/bad-persona.yaml#" "$DCONF" >"$W/bad.conf"
printf '  - id: web\n    file: relative/path\n' >>"$W/bad.conf"
out=$("$FLUXDECOY" --check -c "$W/bad.conf" 2>&1); rc=$?
assert_eq "fluxdecoy --check rejects bad files (exit 1)" "1" "$rc"
badline=$(grep -n 'kind: telnet' "$W/bad-persona.yaml" | head -1 | cut -d: -f1)
has_line "persona error names file:line" "^$W/bad-persona.yaml:$badline: service '22': kind: expected one of http, https, ssh, smtp, got 'telnet'" "$out"
has_line "config error names file:line" "^$W/bad.conf:[0-9]+: persona 'web': file: " "$out"
has_line "duplicate persona id reported" "^$W/bad.conf:[0-9]+: persona 'web': id already used" "$out"

# ------------------------------------------------------------ run the decoy
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
wait_port dcy tcp 80 $T "$DPID" || { fail "fluxdecoy listens" "$(tail "$W/fluxdecoy.log")"; finish; }
wait_port dcy tcp 9561 $T "$DPID" || { fail "fluxdecoy metrics listen"; finish; }

# it dropped root and every capability after binding: the ports listen
# before the drop, so wait for the line it logs after it
wait_log() { # wait_log FILE ERE TIMEOUT_S
	local i
	for i in $(seq $((10 * $3))); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
wait_log "$W/fluxdecoy.log" 'serving [0-9]+ personas as nobody' $T || fail "fluxdecoy logs that it serves as nobody" "$(tail "$W/fluxdecoy.log")"
has_line "fluxdecoy runs as nobody" "^Uid:[[:space:]]+$(id -u nobody)[[:space:]]" "$(cat /proc/$DPID/status)"
has_line "fluxdecoy holds no capability" "^CapEff:[[:space:]]+0+$" "$(cat /proc/$DPID/status)"

# ------------------------------------------------------------ HTTP / HTTPS
r=$(nsx cli curl -sS -m 10 -I "http://$REAL/" | mask)
d=$(nsx cli curl -sS -m 10 -I "http://$POOL/" | mask)
cmp_out "curl -sI http: same headers, same order (IPv4)" "$r" "$d"
r=$(nsx cli curl -sS -m 10 -I "http://[$REAL6]/" | mask)
d=$(nsx cli curl -sS -m 10 -I "http://[$POOL6]/" | mask)
cmp_out "curl -sI http: same headers, same order (IPv6)" "$r" "$d"
# every pool address answers, not just the one above
n=0
for a in 198.51.100.1 198.51.100.99 198.51.100.127 2001:db8:77::1 2001:db8:77:0:ffff:ffff:ffff:fffe; do
	u=$a; case $a in *:*) u="[$a]" ;; esac
	[ "$(nsx cli curl -sS -m 10 -o /dev/null -w '%{http_code}' "http://$u/")" = 200 ] && n=$((n + 1))
done
assert_eq "five more pool addresses answer 200 (IPv4 and IPv6)" "5" "$n"
r=$(nsx cli curl -sS -m 10 "http://$REAL/"); d=$(nsx cli curl -sS -m 10 "http://$POOL/")
cmp_out "GET / body identical" "$r" "$d"
for m in -I -i; do
	r=$(nsx cli curl -sS -m 10 $m "http://$REAL/index.html" | mask)
	d=$(nsx cli curl -sS -m 10 $m "http://$POOL/index.html" | mask)
	cmp_out "curl $m of a page besides / (clone --paths): identical" "$r" "$d"
done
# a sized page (issue 11, the lab's size.bin): the same status, fields in
# order with Content-Range and Content-Length, and exactly the bytes asked
sized() { # sized ADDR RANGE: head (Date masked), then body length and digest
	nsx cli curl -sS -m 60 -D - -o "$W/sized.body" ${2:+-H "Range: $2"} "http://$1/size.bin" | mask
	printf 'body %s %s\n' "$(stat -c %s "$W/sized.body")" "$(sha256sum <"$W/sized.body" | cut -c1-16)"
}
# several ranges (lighttpd's multipart/byteranges, its boundary fixed): in
# the request's order, merged, malformed specs ignored, at most ten parts
for rg in bytes=0-99 bytes=0-12344 bytes=0-0 bytes=-5 bytes=9999990- bytes=0-1,5-6 \
	bytes=10000000- bytes=5-2 items=0-5 "" bytes=0-9,200-209 bytes=-5,0-3,100000-100099 \
	bytes=200-209,0-9,100-300 "bytes=0-9, x ,5-2,99999999-,+500-509" bytes=5-2,0-3 \
	bytes=0-0,-1 bytes=0-4999999,5000100- \
	bytes=0-9,1000-1009,2000-2009,3000-3009,4000-4009,5000-5009,6000-6009,7000-7009,8000-8009,9000-9009,10000-10009; do
	r=$(sized $REAL "$rg"); d=$(sized $POOL "$rg")
	cmp_out "GET /size.bin Range '$rg': same status, fields, body length and bytes" "$r" "$d"
done
# lighttpd serves ranges of every static file: /index.html is a sized page
# too, with its captured bytes
has_line "clone kept the bytes of /index.html (a sized page with a body)" \
	'^        response-get: "HTTP/1.1 200 OK\\r\\n.*the real server' "$(grep -A3 'path: "/index.html"' "$P")"
for rg in bytes=5-20 bytes=-7 bytes=0- bytes=0-9,100-109,-5 bytes=-5,0-3; do
	r=$(nsx cli curl -sS -m 10 -i -H "Range: $rg" "http://$REAL/index.html" | mask)
	d=$(nsx cli curl -sS -m 10 -i -H "Range: $rg" "http://$POOL/index.html" | mask)
	cmp_out "GET /index.html Range '$rg': same 206 and the same bytes" "$r" "$d"
done
has_line "clone captured the multipart head" \
	'^        response-range-multi: "HTTP/1.1 206 Partial Content\\r\\nContent-Type: multipart/byteranges; boundary=' \
	"$(cat "$P")"
assert_eq "two ranges far apart: a multipart body of two parts and its end" "2 1" \
	"$(nsx cli curl -sS -m 10 -H 'Range: bytes=0-9,200-209' "http://$POOL/size.bin" | tr -d '\r\0' |
	   awk '/^--fkj49sn38dcn3$/ { p++ } /^--fkj49sn38dcn3--$/ { e++ } END { print p+0, e+0 }')"
for rg in bytes=0-9 bytes=0-9,200-209; do
	r=$(nsx cli curl -sS -m 10 -I -H "Range: $rg" "http://$REAL/size.bin" | mask)
	d=$(nsx cli curl -sS -m 10 -I -H "Range: $rg" "http://$POOL/size.bin" | mask)
	cmp_out "HEAD /size.bin Range '$rg': the same head (lighttpd ignores it)" "$r" "$d"
done
has_line "a ranged GET of 12345 bytes is a 206 of 12345 bytes" '^body 12345 ' "$(sized $POOL bytes=0-12344)"
has_line "the 206 carries lighttpd's Content-Range" '^Content-Range: bytes 0-12344/10000000' "$(sized $POOL bytes=0-12344)"
has_line "the whole file without a Range: 10000000 bytes" "^body 10000000 " "$(sized $POOL "")"
# over HTTP/2 lighttpd serves ranges too
for rg in bytes=0-99 bytes=-5 bytes=10000000- bytes=0-9,200-209 bytes=-5,0-3,100000-100099; do
	r=$(nsx cli curl -sS -m 30 --http2 -k -i -H "Range: $rg" "https://$REAL/size.bin" | mask)
	d=$(nsx cli curl -sS -m 30 --http2 -k -i -H "Range: $rg" "https://$POOL/size.bin" | mask)
	cmp_out "curl --http2 GET /size.bin Range '$rg': same status, fields and bytes" "$r" "$d"
done
has_line "h2: a ranged GET is a 206 of 100 bytes over HTTP/2" '^2 206 100$' \
	"$(nsx cli curl -sS -m 30 --http2 -k -o /dev/null -w '%{http_version} %{http_code} %{size_download}\n' \
		-H 'Range: bytes=0-99' "https://$POOL/size.bin")"
r=$(nsx cli curl -sS -m 10 -I "http://$REAL/size.bin" | mask); d=$(nsx cli curl -sS -m 10 -I "http://$POOL/size.bin" | mask)
cmp_out "HEAD /size.bin: same head" "$r" "$d"
# a large request head, as the lab's padded requests: a 30 KiB head is
# taken by both, a 70 KiB one gets the same 431 from both
pad30=$(head -c 30000 /dev/zero | tr '\0' p); pad70=$(head -c 70000 /dev/zero | tr '\0' p)
r=$(nsx cli curl -sS -m 10 -D - -o /dev/null -H "X-Pad: $pad30" -H 'Range: bytes=0-999' "http://$REAL/size.bin" | mask)
d=$(nsx cli curl -sS -m 10 -D - -o /dev/null -H "X-Pad: $pad30" -H 'Range: bytes=0-999' "http://$POOL/size.bin" | mask)
cmp_out "a 30 KiB request head: the same answer from both" "$r" "$d"
has_line "a 30 KiB request head is answered (206)" '^HTTP/1.1 206 ' "$d"
r=$(nsx cli curl -sS -m 10 -i -H "X-Pad: $pad70" "http://$REAL/" 2>&1 | mask)
d=$(nsx cli curl -sS -m 10 -i -H "X-Pad: $pad70" "http://$POOL/" 2>&1 | mask)
cmp_out "a 70 KiB request head: the same refusal from both" "$r" "$d"
has_line "a 70 KiB request head is refused with lighttpd's 431" '^HTTP/1.0 431 ' "$d"

r=$(nsx cli curl -sS -m 10 -i "http://$REAL/nothing-here" | mask)
d=$(nsx cli curl -sS -m 10 -i "http://$POOL/nothing-here" | mask)
cmp_out "GET of a missing page: same 404" "$r" "$d"
has_line "decoy Date header is current, not the captured one" "^Date: $(date -u '+%a, %d %b %Y')" \
	"$(nsx cli curl -sS -m 10 -I "http://$POOL/")"
# HTTP/1.1 over TLS
r=$(nsx cli curl -sS -m 10 --http1.1 -kI "https://$REAL/" | mask)
d=$(nsx cli curl -sS -m 10 --http1.1 -kI "https://$POOL/" | mask)
cmp_out "curl --http1.1 -skI https: same headers, same order" "$r" "$d"
# HTTP/2: ALPN as lighttpd answers it, then its SETTINGS, fields and pages
alpn() { nsx cli openssl s_client -alpn "$2" -connect "$1:443" </dev/null 2>/dev/null \
	| grep -aE '^(ALPN protocol|No ALPN)'; }
for l in h2,http/1.1 http/1.1,h2 http/1.1 h2 spdy/3; do
	cmp_out "openssl s_client -alpn $l: the same ALPN answer" "$(alpn $REAL $l)" "$(alpn $POOL $l)"
done
has_line "ALPN h2 selected when offered first" '^ALPN protocol: h2$' "$(alpn $POOL h2,http/1.1)"
for m in -I -i; do
	r=$(nsx cli curl -sS -m 10 --http2 -k $m "https://$REAL/" | mask)
	d=$(nsx cli curl -sS -m 10 --http2 -k $m "https://$POOL/" | mask)
	cmp_out "curl --http2 -sk $m https: same status, fields in order (and body)" "$r" "$d"
done
has_line "curl --http2 spoke HTTP/2 to the decoy" '^HTTP/2 200' "$d"
r=$(nsx cli curl -sS -m 10 --http2 -k -i "https://$REAL/nothing-here" | mask)
d=$(nsx cli curl -sS -m 10 --http2 -k -i "https://$POOL/nothing-here" | mask)
cmp_out "curl --http2 of a missing page: same 404" "$r" "$d"
r=$(nsx cli curl -sS -m 10 --http2 -k "https://$REAL/index.html"); d=$(nsx cli curl -sS -m 10 --http2 -k "https://$POOL/index.html")
cmp_out "curl --http2 of a page besides /: same body" "$r" "$d"
# two requests on one connection (curl reuses it)
d=$(nsx cli curl -sS -m 10 --http2 -k -o /dev/null -o /dev/null -w '%{http_version} %{http_code} %{num_connects}\n' \
	"https://$POOL/" "https://$POOL/index.html")
assert_eq "two h2 requests on one connection" "2 200 1|2 200 0" "$(tr '\n' '|' <<<"$d" | sed 's/|$//')"
if command -v nghttp >/dev/null; then
	# frame by frame as nghttp sees them: SETTINGS, WINDOW_UPDATE, HEADERS
	# and DATA frames with their flags; the header block's length is left
	# out (HPACK encoders differ: fluxdecoy(8), BUGS), so are the client's
	# own frames (when it reads the server preface moves them)
	frames() { local h=(); [ "$2" = head ] && h=(-H ':method: HEAD')
		nsx cli timeout 20 nghttp -nv "${h[@]}" "https://$1/$3" 2>&1 \
		| sed -E 's/^\[ *[0-9.]+\] //' \
		| awk '/^(recv|send|\[|The negotiated|Connected)/ { keep = /^recv/ } /^ / && keep || /^recv/' \
		| sed -E 's/(HEADERS frame <)length=[0-9]+, /\1/; s/(date|last-modified): .*/\1: X/'; }
	r=$(frames $REAL "" ""); d=$(frames $POOL "" "")
	cmp_out "nghttp -nv: the same frames from the server (SETTINGS, WINDOW_UPDATE, fields, DATA)" "$r" "$d"
	has_line "nghttp saw the server's SETTINGS" 'recv SETTINGS frame <length=[1-9]' "$d"
	r=$(frames $REAL head nothing-here); d=$(frames $POOL head nothing-here)
	cmp_out "nghttp -nv HEAD of a missing page: the same frames" "$r" "$d"
fi
# concurrent TLS flows, h2 and HTTP/1.1: every one answered (a failed
# SSL_shutdown of one flow once left an error in OpenSSL's queue that cut
# the next flow reading it)
# (wait on these PIDs only: a bare wait would wait for the daemons too)
for round in 1 2 3 4 5 6 7 8; do
	burst=()
	for k in 1 2 3 4 5; do
		( nsx cli curl -sS -m 20 -kI "https://198.51.100.$((40 + k))/" 2>&1 | head -1
		  nsx cli curl -sS -m 20 --http1.1 -kI "https://198.51.100.$((40 + k))/" 2>&1 | head -1 ) &
		burst+=($!)
	done
	wait "${burst[@]}"
done >"$W/tls-burst.out" 2>&1
assert_eq "80 concurrent HTTPS HEADs (h2 and HTTP/1.1): all answered 200" "80" \
	"$(grep -cE '^HTTP/(2|1\.1) 200' "$W/tls-burst.out")"
# a client that selects h2 and then speaks no HTTP/2: the same GOAWAY
badh2() { (printf 'GARBAGE\r\n\r\n'; sleep 2) | nsx cli timeout 10 openssl s_client -alpn h2 -quiet \
	-connect "$1:443" 2>/dev/null | od -An -tx1 | tr -s ' \n' ' '; }
r=$(badh2 $REAL); d=$(badh2 $POOL)
cmp_out "not HTTP/2 after ALPN h2: the same SETTINGS, WINDOW_UPDATE and GOAWAY bytes" "$r" "$d"
chain() { nsx cli openssl s_client -showcerts -connect "$1" -servername www.example.test </dev/null 2>/dev/null \
	| sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p'; }
r=$(chain $REAL:443); d=$(chain $POOL:443)
cmp_out "openssl s_client -showcerts: same chain (key supplied)" "$r" "$d"
assert_eq "the chain has two certificates" "2" "$(printf '%s\n' "$r" | grep -c 'BEGIN CERT')"
shape() { printf '%s\n' "$1" | openssl x509 -noout -subject -issuer -ext subjectAltName 2>/dev/null
	printf '%s\n' "$1" | openssl x509 -noout -text 2>/dev/null | grep -E 'Public Key Algorithm|Public-Key:|NIST CURVE|ASN1 OID'
	local nb na; nb=$(printf '%s\n' "$1" | openssl x509 -noout -startdate | cut -d= -f2)
	na=$(printf '%s\n' "$1" | openssl x509 -noout -enddate | cut -d= -f2)
	echo "validity days: $(( ($(date -d "$na" +%s) - $(date -d "$nb" +%s)) / 86400 ))"; }
s=$(chain $SHAPED:443)
cmp_out "without the key: a certificate of the same shape" "$(shape "$r")" "$(shape "$s")"
if [ "$(printf '%s\n' "$s" | openssl x509 -noout -fingerprint)" != "$(printf '%s\n' "$r" | openssl x509 -noout -fingerprint)" ]; then
	ok "without the key: not the real certificate (own key, own signature)"
else fail "without the key: not the real certificate"; fi

# ------------------------------------------------------------ SSH
kexprop() { nsx cli timeout 20 ssh -F /dev/null -vv -o BatchMode=yes -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 "probe@$1" true 2>&1 \
	| sed -n '/peer server KEXINIT proposal/,/first_kex_follows/p'; }
r=$(kexprop $REAL); d=$(kexprop $POOL)
cmp_out "ssh -vv: same server KEX proposal" "$r" "$d"
has_line "the proposal lists host key algorithms" "host key algorithms: .*ssh-ed25519" "$r"
ver() { nsx cli timeout 10 ssh -F /dev/null -v -o BatchMode=yes -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null "probe@$1" true 2>&1 | grep 'Remote protocol version' | sed 's/^debug1: //'; }
cmp_out "ssh -v: same remote version line" "$(ver $REAL)" "$(ver $POOL)"
r=$(nsx cli timeout 5 nc -w 3 $REAL 22 </dev/null | head -1 | tr -d '\r')
d=$(nsx cli timeout 5 nc -w 3 $POOL 22 </dev/null | head -1 | tr -d '\r')
cmp_out "nc: same SSH banner" "$r" "$d"

# ------------------------------------------------------------ SMTP
smtp_srv_lines() { nsx cli swaks --server "$1" --quit-after EHLO --ehlo probe.example 2>&1 | grep '^<-'; }
cmp_out "swaks --quit-after EHLO: same greeting and EHLO" "$(smtp_srv_lines $REAL)" "$(smtp_srv_lines $POOL)"
smtp_env_lines() { nsx cli swaks --server "$1" --quit-after RCPT --ehlo probe.example \
	--from someone@example.org --to postmaster 2>&1 | grep '^<-'; }
cmp_out "swaks --quit-after RCPT: same envelope replies" "$(smtp_env_lines $REAL)" "$(smtp_env_lines $POOL)"
out=$(nsx cli swaks --server $POOL --from attacker@evil.example --to victim@example.test \
	--ehlo probe.example --body "hello decoy" 2>&1)
has_line "SMTP: the message is accepted" '^<-  250 2.0.0 Ok: queued as ' "$out"

# 2000 pipelined requests in one stream (about 600 KB of answers, past the
# point where the decoy stops reading until the client has read): every one
# is answered, in order
n=$(nsx cli bash -c "for i in \$(seq 2000); do printf 'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'; done \
	| timeout 60 nc -q 10 $POOL 80 | grep -c '^HTTP/1.1 200 OK'")
assert_eq "2000 pipelined requests, 2000 answers" "2000" "$n"

# ------------------------------------------------------------ nmap -sV
# service and version detection sees the same four services (addresses
# and timing masked)
nmapsv() { nsx cli nmap -n -Pn -sV --version-intensity 7 -p 22,25,80,443 "$1" 2>&1 \
	| grep -E '^[0-9]+/tcp' ; }
r=$(nmapsv $REAL); d=$(nmapsv $POOL)
cmp_out "nmap -sV: same service and version lines" "$r" "$d"
assert_count "nmap -sV: four open services" 4 '^[0-9]+/tcp +open ' "$r"
log "nmap -sV of the real server:"; printf '%s\n' "$r"

# ------------------------------------------------------------ closed ports
out=$(nsx cli timeout 5 bash -c "exec 3<>/dev/tcp/$POOL/8080" 2>&1)
has_line "TCP port outside the persona: RST (connection refused)" "Connection refused" "$out"
out=$(nsx cli timeout 5 bash -c "exec 3<>/dev/tcp/$REAL/8080" 2>&1)
has_line "(the real server refuses it the same way)" "Connection refused" "$out"
r=$(nsx cli nmap -n -Pn -sU -p 53 --max-retries 2 $REAL 2>&1 | grep '^53/udp')
d=$(nsx cli nmap -n -Pn -sU -p 53 --max-retries 2 $POOL 2>&1 | grep '^53/udp')
has_line "UDP port: ICMP port unreachable (closed) from the decoy" "^53/udp +closed" "$d"
cmp_out "UDP port: the same state as the real server" "$r" "$d"

# ------------------------------------------------------------ events, metrics
# grep on the file: lib.sh's has_line pipes the text into grep -q, which
# under pipefail fails on a text this long (printf gets SIGPIPE). Events are
# written asynchronously: each is waited for (bounded, 30 s: only a missing
# event costs the wait), not read once after a fixed sleep.
ev_match() { # ev_match NAME ERE
	if wait_grep 30 "$W/eve.json" "$2"; then ok "$1"; else
		fail "$1" "no event matches /$2/; last events:" "$(tail -n 5 "$W/eve.json")"; fi
}
ev_match "event: flow_start with persona and 5-tuple" \
	'"event_type":"decoy","src_ip":"10.0.3.1","src_port":[0-9]+,"dest_ip":"198.51.100.7","dest_port":80,"proto":"TCP","decoy":\{"event":"flow_start","persona":"web","service":"http"'
ev_match "event: IPv6 flow" '"dest_ip":"2001:db8:77::7","dest_port":80'
ev_match "event: HTTP request line and User-Agent" '"event":"http".*"method":"HEAD","url":"/".*"http_user_agent":"curl/'
ev_match "event: TLS handshake with SNI" '"event":"tls".*"sni":"www.example.test"'
ev_match "event: TLS handshake with the ALPN selected" '"event":"tls".*"alpn":"h2"'
ev_match "event: an HTTP/2 request" '"event":"http".*"method":"GET","url":"/index.html","protocol":"HTTP/2"'
ev_match "event: not HTTP/2 after ALPN h2 (a protocol error)" '"service":"https","message":"Received bad client magic'
ev_match "event: SSH client version" '"event":"ssh".*"client_version":"SSH-2.0-OpenSSH'
ev_match "event: SSH client KEXINIT" '"event":"ssh_kexinit".*"kex_algorithms":"'
ev_match "event: SMTP envelope sender" '"command":"mail_from","arg":"<attacker@evil.example>"'
ev_match "event: SMTP envelope recipient" '"command":"rcpt_to","arg":"<victim@example.test>"'
ev_match "event: SMTP message taken (its size logged, nothing relayed)" '"command":"message","bytes":"[1-9][0-9]*"'
ev_match "event: flow_end with byte counts" '"event":"flow_end".*"bytes_toserver":[1-9]'
bad=$(grep -vc '^{"timestamp":"[0-9-]*T[0-9:.]*+0000","event_type":"decoy",' "$W/eve.json")
assert_eq "every event line has the fluxgated event shape" "0" "$bad"
dmetrics() { nsx dcy curl -sS -m 10 http://127.0.0.1:9561/metrics; }
wait_output 30 dmetrics -- '^fluxdecoy_flows_total\{service="http"\} [1-9]' \
	'^fluxdecoy_ssh_clients_total [1-9]' '^fluxdecoy_smtp_messages_total [1-9]'
M=$(dmetrics)
has_line "metrics: HTTP flows counted" '^fluxdecoy_flows_total\{service="http"\} [1-9]' "$M"
has_line "metrics: SSH clients counted" '^fluxdecoy_ssh_clients_total [1-9]' "$M"
has_line "metrics: SMTP messages counted" '^fluxdecoy_smtp_messages_total [1-9]' "$M"
# every exported metric is in fluxdecoy(8), and every one there is exported
undoc=""
for m in $(grep -o '^fluxdecoy_[a-z_]*' <<<"$M" | sort -u); do
	grep -q "^\.B $m\b" "$FG_REPO/doc/fluxdecoy.8" || undoc="$undoc $m"
done
assert_eq "every exported metric is documented in fluxdecoy(8)" "" "$undoc"
extra=""
# (the shuffle's appear with shuffled pools only: fluxdecoy-shuffle.sh)
for m in $(grep -o '^\.B fluxdecoy_[a-z_]*' "$FG_REPO/doc/fluxdecoy.8" | cut -c4- | sort -u); do
	case $m in fluxdecoy_shuffle*|fluxdecoy_pool_addresses) continue ;; esac
	grep -q "^$m" <<<"$M" || extra="$extra $m"
done
assert_eq "every metric in fluxdecoy(8) is exported" "" "$extra"
if command -v promtool >/dev/null; then
	check "promtool check metrics" bash -c "printf '%s\n' \"\$1\" | promtool check metrics" _ "$M"
fi

# ------------------------------------------------------------ bad input, still serving
badhttp() { nsx cli timeout 10 bash -c "exec 3<>/dev/tcp/$1/80; printf 'GARBAGE\r\n\r\n' >&3; cat <&3" 2>/dev/null | mask; }
r=$(badhttp $REAL); d=$(badhttp $POOL)
cmp_out "not HTTP: the same 400 answer" "$r" "$d"
# read the banner first, so that closing sends FIN (not RST over unread data)
badssh() { nsx cli timeout 10 bash -c "exec 3<>/dev/tcp/$1/22; read -r -t 5 v <&3; printf 'not ssh at all\r\n' >&3; cat <&3" 2>/dev/null; }
r=$(badssh $REAL); d=$(badssh $POOL)
cmp_out "not SSH: the same refusal as sshd" "$r" "$d"
# each probe waits for the decoy to end the flow, so the counters below
# are final whatever the speed
nsx cli timeout 10 bash -c "exec 3<>/dev/tcp/$POOL/443; head -c 20000 /dev/zero >&3; cat <&3" >/dev/null 2>&1
nsx cli timeout 10 bash -c "exec 3<>/dev/tcp/$POOL/25; read -r -t 5 g <&3; head -c 3000 /dev/zero | tr '\\0' x >&3; printf '\\r\\nQUIT\\r\\n' >&3; cat <&3" >/dev/null 2>&1
wait_output 30 dmetrics -- '^fluxdecoy_protocol_errors_total\{service="http"\} [1-9]' \
	'^fluxdecoy_protocol_errors_total\{service="ssh"\} [1-9]' \
	'^fluxdecoy_protocol_errors_total\{service="smtp"\} [1-9]' \
	'^fluxdecoy_tls_handshake_failures_total [1-9]' \
	'^fluxdecoy_protocol_errors_total\{service="https"\} [1-9]'
M=$(dmetrics)
has_line "bad HTTP counted" '^fluxdecoy_protocol_errors_total\{service="http"\} [1-9]' "$M"
has_line "bad SSH counted" '^fluxdecoy_protocol_errors_total\{service="ssh"\} [1-9]' "$M"
has_line "overlong SMTP line counted" '^fluxdecoy_protocol_errors_total\{service="smtp"\} [1-9]' "$M"
has_line "bad TLS counted" '^fluxdecoy_tls_handshake_failures_total [1-9]' "$M"
has_line "bad HTTP/2 counted" '^fluxdecoy_protocol_errors_total\{service="https"\} [1-9]' "$M"
d=$(nsx cli curl -sS -m 10 -I "http://$POOL/" | head -1 | tr -d '\r')
assert_eq "still serving after bad input" "HTTP/1.1 200 OK" "$d"

# ------------------------------------------------------------ stop
stop_pid "$DPID" $T
case $STOP_RC in
0) ok "fluxdecoy stops cleanly on SIGTERM" ;;
99) fail "fluxdecoy stops cleanly (valgrind memcheck errors)" "$(tail -n 60 "$W/fluxdecoy.valgrind.log")" ;;
*) fail "fluxdecoy stops cleanly" "exit $STOP_RC" "$(tail -n 20 "$W/fluxdecoy.log")" ;;
esac

# started as the user already, with only CAP_NET_BIND_SERVICE (the systemd
# unit's way): it runs, and gives up that capability too once bound; the
# key must then be readable by that user
chown nobody "$W/dcy-leaf.key"
start_bg fluxdecoy-user dcy setpriv --reuid=nobody --regid=nogroup --clear-groups \
	--inh-caps=+net_bind_service --ambient-caps=+net_bind_service "$FLUXDECOY" -c "$DCONF"
UPID=$BG_PID
if wait_port dcy tcp 80 $T "$UPID" && wait_log "$W/fluxdecoy-user.log" 'serving [0-9]+ personas' $T; then
	d=$(nsx cli curl -sS -m 10 -I "http://$POOL/" | head -1 | tr -d '\r')
	assert_eq "started as nobody with CAP_NET_BIND_SERVICE: serves" "HTTP/1.1 200 OK" "$d"
	has_line "started as nobody: no capability left" "^CapEff:[[:space:]]+0+$" "$(cat /proc/$UPID/status)"
	has_line "started as nobody: no ambient capability left" "^CapAmb:[[:space:]]+0+$" "$(cat /proc/$UPID/status)"
else
	fail "started as nobody with CAP_NET_BIND_SERVICE: listens" "$(tail -n 20 "$W/fluxdecoy-user.log")"
fi
stop_pid "$UPID" 15
assert_eq "started as nobody: stops cleanly" "0" "$STOP_RC"
finish
