#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Traffic endpoints for tests/netns/dataplane.sh (run inside namespaces).

  serve NAME        HTTP on [::]:80 (dual stack) answering NAME, and a
                    line echo server on [::]:7 (both until killed)
  hold ADDR PORT IDLE [--expect-cut]
                    open a TCP connection, echo "a", stay idle IDLE seconds,
                    echo "b": prints "survived" if both came back, "cut" if
                    the connection died (reset/timeout)
  holdcut ADDR PORT READY_FILE GO_FILE
                    echo "a", create READY_FILE, wait for GO_FILE, echo "c":
                    prints "survived" or "cut" (quarantine test)
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


def serve(name):
    body = (name + "\n").encode()

    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    http = ThreadingV6HTTP(("::", 80), H)
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


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "serve":
        serve(sys.argv[2])
    elif cmd == "hold":
        hold(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "holdcut":
        holdcut(*sys.argv[2:6])
    else:
        sys.exit(2)
