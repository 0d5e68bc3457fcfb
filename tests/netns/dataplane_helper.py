#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Traffic endpoints for tests/netns/dataplane.sh (run inside namespaces).

  serve NAME [PORT...]
                    HTTP on [::]:80 (dual stack) answering NAME, HTTP on
                    each PORT answering NAME:PORT, and a line echo server
                    on [::]:7 (all until killed)
  hold ADDR PORT IDLE [--expect-cut]
                    open a TCP connection, echo "a", stay idle IDLE seconds,
                    echo "b": prints "survived" if both came back, "cut" if
                    the connection died (reset/timeout)
  holdcut ADDR PORT READY_FILE GO_FILE
                    echo "a", create READY_FILE, wait for GO_FILE, echo "c":
                    prints "survived" or "cut" (quarantine test)
  ping ADDR         one ICMP echo (raw socket): prints "reply" or "none"
"""
import os
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


class V6Server(HTTPServer):
    address_family = socket.AF_INET6
    allow_reuse_address = True
    daemon_threads = True

    def server_bind(self):
        # dual stack: v4 clients arrive as ::ffff:a.b.c.d
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


class ThreadingV6HTTP(socketserver.ThreadingMixIn, V6Server):
    pass


class EchoHandler(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line)
            self.wfile.flush()


class ThreadingV6TCP(socketserver.ThreadingMixIn, socketserver.TCPServer):
    address_family = socket.AF_INET6
    allow_reuse_address = True
    daemon_threads = True

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def handler(body):
    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass
    return H


def serve(name, ports):
    for p in ports:
        srv = ThreadingV6HTTP(("::", int(p)), handler(("%s:%s\n" % (name, p)).encode()))
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    http = ThreadingV6HTTP(("::", 80), handler((name + "\n").encode()))
    echo = ThreadingV6TCP(("::", 7), EchoHandler)
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    http.serve_forever()


def echo_once(f, s, msg):
    s.sendall(msg)
    line = f.readline()
    return line == msg


def hold(addr, port, idle):
    try:
        s = socket.create_connection((addr, int(port)), timeout=3)
        f = s.makefile("rb")
        if not echo_once(f, s, b"a\n"):
            print("cut")
            return
        time.sleep(float(idle))
        print("survived" if echo_once(f, s, b"b\n") else "cut")
    except OSError:
        print("cut")


def holdcut(addr, port, ready, go):
    try:
        s = socket.create_connection((addr, int(port)), timeout=3)
        f = s.makefile("rb")
        if not echo_once(f, s, b"a\n"):
            print("cut")
            return
        open(ready, "w").close()
        for _ in range(300):
            if os.path.exists(go):
                break
            time.sleep(0.1)
        print("survived" if echo_once(f, s, b"c\n") else "cut")
    except OSError:
        print("cut")


def ping(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(3)
    ident, data = os.getpid() & 0xffff, b"fluxgate"
    hdr = bytes([8, 0, 0, 0]) + ident.to_bytes(2, "big") + (1).to_bytes(2, "big")
    msg = hdr + data
    c = sum(int.from_bytes(msg[i:i + 2], "big") for i in range(0, len(msg), 2))
    c = (c >> 16) + (c & 0xffff)
    c = ~(c + (c >> 16)) & 0xffff
    msg = msg[:2] + c.to_bytes(2, "big") + msg[4:]
    s.sendto(msg, (addr, 0))
    deadline = time.time() + 3
    while time.time() < deadline:
        try:
            pkt, src = s.recvfrom(2048)
        except OSError:
            break
        icmp = pkt[(pkt[0] & 15) * 4:]
        if src[0] == addr and icmp[0] == 0 and icmp[4:6] == ident.to_bytes(2, "big"):
            print("reply")
            return
    print("none")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "serve":
        serve(sys.argv[2], sys.argv[3:])
    elif cmd == "hold":
        hold(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "ping":
        ping(sys.argv[2])
    elif cmd == "holdcut":
        holdcut(*sys.argv[2:6])
    else:
        sys.exit(2)
