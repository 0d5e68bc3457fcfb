#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Slow and idle clients for the control socket and for DNS over TCP.

  slow_client.py ctl-trickle --path SOCK [--interval 1.5]
      Sends a valid `status` request to the control socket one octet every
      INTERVAL seconds, over and over (a new connection each time), until
      killed.
  slow_client.py ctl-idle --path SOCK --count N [--ready FILE]
      Opens N connections to the control socket and sends nothing; touches
      FILE once it tried them all; holds them until killed.
  slow_client.py tcp-trickle --src S --dst A [--port 53] [--interval 1]
                             [--max 20]
      Sends one DNS query over TCP one octet every INTERVAL seconds and
      prints "closed_after=SECONDS" (from the first octet to the server's
      close) or "open_after=MAX" when the server kept it open MAX seconds.
  slow_client.py tcp-idle --src S --dst A [--port 53] --count N
                          [--hold SECS] [--ready FILE]
      Opens N TCP connections and sends nothing; touches FILE (--ready) once
      all were attempted; after HOLD seconds (default: until killed) prints
      "open=N1 closed=N2 failed=N3" (closed: the server closed it).

Bounded: every mode stops on its own or when killed; nothing is sent but
what is described. Exit 0 whenever the result line could be printed.
"""
import argparse
import errno
import os
import resource
import select
import socket
import struct
import sys
import time

CTL_MAGIC = 0x464C5843
CTL_STATUS = 1


def ctl_status_request():
    # header: magic, version 1, type 1 (request), command, payload length
    return struct.pack(">IBBHI", CTL_MAGIC, 1, 1, CTL_STATUS, 0)


def dns_query(qid=0x1234, name="www.example.test", qtype=1):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack(">HH", qtype, 1)
    return struct.pack(">H", len(q)) + q


def touch(path):
    if path:
        with open(path, "w") as f:
            f.write("ready\n")


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, n + 64))
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def ctl_trickle(a):
    req = ctl_status_request()
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(a.path)
            for i in range(len(req)):
                s.send(req[i:i + 1])
                time.sleep(a.interval)
            s.settimeout(10)
            s.recv(65536)
        except OSError:
            time.sleep(a.interval)
        finally:
            s.close()


def ctl_idle(a):
    raise_nofile(a.count)
    socks = []
    deadline = time.monotonic() + 10
    while len(socks) < a.count and time.monotonic() < deadline:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(a.path)
            socks.append(s)
        except BlockingIOError:
            # backlog full: an old daemon that does not accept; try again
            s.close()
            time.sleep(0.05)
        except OSError:
            s.close()
            time.sleep(0.05)
    touch(a.ready)
    print("connected=%d" % len(socks), flush=True)
    while True:
        time.sleep(3600)


def tcp_socket(a):
    fam = socket.AF_INET6 if ":" in a.dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.bind((a.src, 0))
    return s


def server_closed(s):
    """True when the server closed (EOF or reset); never blocks."""
    try:
        return s.recv(4096, socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def tcp_trickle(a):
    s = tcp_socket(a)
    s.settimeout(5)
    s.connect((a.dst, a.port))
    msg = dns_query()
    start = time.monotonic()
    i = 0
    next_send = start
    while True:
        now = time.monotonic()
        if now - start >= a.max:
            print("open_after=%.2f" % (now - start), flush=True)
            return
        if now >= next_send and i < len(msg):
            try:
                s.send(msg[i:i + 1])
            except OSError:
                print("closed_after=%.2f" % (now - start), flush=True)
                return
            i += 1
            next_send += a.interval
        r, _, _ = select.select([s], [], [], 0.05)
        if r:
            try:
                d = s.recv(4096)
            except OSError:
                d = b""
            if d == b"":
                print("closed_after=%.2f" % (time.monotonic() - start), flush=True)
                return
            print("answered_after=%.2f" % (time.monotonic() - start), flush=True)
            return


def tcp_idle(a):
    raise_nofile(a.count)
    socks, failed = [], 0
    for _ in range(a.count):
        s = tcp_socket(a)
        s.setblocking(False)
        rc = s.connect_ex((a.dst, a.port))
        if rc not in (0, errno.EINPROGRESS):
            failed += 1
            s.close()
            continue
        socks.append(s)
    # wait for the handshakes (bounded); poll, not select: fds past 1024
    pending = {s.fileno(): s for s in socks}
    poller = select.poll()
    for fd in pending:
        poller.register(fd, select.POLLOUT)
    deadline = time.monotonic() + 10
    while pending and time.monotonic() < deadline:
        for fd, _ in poller.poll(200):
            s = pending.pop(fd, None)
            poller.unregister(fd)
            if s is not None and s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                failed += 1
                socks.remove(s)
                s.close()
    touch(a.ready)
    if a.hold is None:
        while True:
            time.sleep(3600)
    time.sleep(a.hold)
    closed = sum(1 for s in socks if server_closed(s))
    print("open=%d closed=%d failed=%d" % (len(socks) - closed, closed, failed), flush=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("ctl-trickle")
    c.add_argument("--path", required=True)
    c.add_argument("--interval", type=float, default=1.5)
    c = sub.add_parser("ctl-idle")
    c.add_argument("--path", required=True)
    c.add_argument("--count", type=int, required=True)
    c.add_argument("--ready")
    for name in ("tcp-trickle", "tcp-idle"):
        c = sub.add_parser(name)
        c.add_argument("--src", required=True)
        c.add_argument("--dst", required=True)
        c.add_argument("--port", type=int, default=53)
        if name == "tcp-trickle":
            c.add_argument("--interval", type=float, default=1.0)
            c.add_argument("--max", type=float, default=20.0)
        else:
            c.add_argument("--count", type=int, required=True)
            c.add_argument("--hold", type=float)
            c.add_argument("--ready")
    a = p.parse_args()
    {"ctl-trickle": ctl_trickle, "ctl-idle": ctl_idle,
     "tcp-trickle": tcp_trickle, "tcp-idle": tcp_idle}[a.mode](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
