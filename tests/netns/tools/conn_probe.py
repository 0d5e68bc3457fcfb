#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""One kept-alive HTTP connection, used twice with a pause in between.

  conn_probe.py --src S --dst A [--port 80] --wait SECS [--ready FILE] [--go FILE]

Connects from S to A, GETs "/" (HTTP/1.1 keep-alive), then touches FILE
(--ready), waits SECS seconds or until --go FILE exists, and GETs "/" again
on the same connection. Prints one line:
  first=<r> second=<r>
where <r> is real, decoy (the body), reset (ECONNRESET), closed (EOF),
timeout, or error:<what>. Exit 0 whenever it could print that line.
"""
import argparse
import os
import socket
import sys
import time


def get(sock):
    req = b"GET / HTTP/1.1\r\nHost: www.example.test\r\nConnection: keep-alive\r\n\r\n"
    try:
        sock.sendall(req)
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = sock.recv(4096)
            if not d:
                return "closed"
            buf += d
        head, _, body = buf.partition(b"\r\n\r\n")
        clen = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                clen = int(v.strip())
        while len(body) < clen:
            d = sock.recv(4096)
            if not d:
                return "closed"
            body += d
        text = body[:clen].decode(errors="replace").strip()
        return text if text in ("real", "decoy") else "error:body=" + text[:20]
    except ConnectionResetError:
        return "reset"
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return "error:" + (e.strerror or str(e)).replace(" ", "_")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--wait", type=float, required=True)
    ap.add_argument("--ready")
    ap.add_argument("--go")
    a = ap.parse_args()
    fam = socket.AF_INET6 if ":" in a.dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(4)
    try:
        s.bind((a.src, 0))
        s.connect((a.dst, a.port))
        first = get(s)
    except OSError as e:
        first = "error:connect_" + (e.strerror or str(e)).replace(" ", "_")
        print("first=%s second=none" % first)
        return 0
    if a.ready:
        open(a.ready, "w").close()
    end = time.monotonic() + a.wait
    while time.monotonic() < end:
        if a.go and os.path.exists(a.go):
            break
        time.sleep(0.05)
    second = get(s)
    s.close()
    print("first=%s second=%s" % (first, second))
    return 0


if __name__ == "__main__":
    sys.exit(main())
