#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""DNS-over-TLS clients that misbehave on purpose, for tests/netns/dot.sh.

    dot_client.py MODE HOST PORT CA NAME [ARGS]

Modes (each prints one result line; exit 0 when the mode ran):
  keep N SECS   N TLS connections kept busy (a query each every second,
                so none is idle) for SECS seconds: "kept N" once they are
                up (flushed at once), "alive K" at the end
  hold N        N TLS connections held open, then one more:
                "held K refused R" (K handshakes done, R of the extra one
                refused: 1 when the server closed it before the handshake)
  idle          a handshake, then nothing: "closed S notify|eof" once the
                server closes (S seconds after the handshake)
  stall         TCP, no ClientHello: "closed S" (seconds until closed)
  garbage       TCP, an HTTP request instead of TLS: "closed"
  trunc-hello   a TLS record header announcing 512 octets, 20 sent, then
                the write side shut: "closed"
  trunc-record  a handshake, then half of an application data record
                carrying a query, write side shut: "closed"
  badmsg        a handshake, then a framed 3-octet non-DNS message:
                "closed" when the server drops the connection
  pipeline QNAME N  N queries for QNAME/A in one write: "answers K ids OK|BAD"
  pipeline-bad QNAME N  the same followed by a non-DNS message in the same
                write: "answers K ids OK|BAD then closed|open"

The source address is DOT_SRC when set (default: the kernel's choice).
"""
import os
import socket
import ssl
import struct
import sys
import time


def query(qname, qid, qtype=1):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in qname.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", qtype, 1)


def context(ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def tcp_connect(host, port, timeout=30):
    src = os.environ.get("DOT_SRC")
    return socket.create_connection((host, port), timeout=timeout,
                                    source_address=(src, 0) if src else None)


def tls_connect(host, port, ca, name, timeout=30):
    raw = tcp_connect(host, port, timeout)
    return context(ca).wrap_socket(raw, server_hostname=name)


def wait_closed_raw(s, timeout=60):
    """Read until EOF or reset; True when the server closed."""
    s.settimeout(timeout)
    try:
        while s.recv(4096):
            pass
    except (ConnectionResetError, BrokenPipeError):
        pass
    except socket.timeout:
        return False
    return True


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        chunk = s.recv(n - len(b))
        if not chunk:
            raise EOFError
        b += chunk
    return b


def main():
    mode, host, port, ca, name = sys.argv[1:6]
    port = int(port)
    args = sys.argv[6:]

    if mode == "keep":
        n, secs = int(args[0]), float(args[1])
        conns = [tls_connect(host, port, ca, name) for _ in range(n)]
        print("kept %d" % len(conns), flush=True)
        alive = len(conns)
        end = time.monotonic() + secs
        qid = 1
        while time.monotonic() < end and alive:
            alive = 0
            for c in conns:
                try:
                    q = query("static.example.test", qid)
                    qid += 1
                    c.sendall(struct.pack(">H", len(q)) + q)
                    ln = struct.unpack(">H", recv_exact(c, 2))[0]
                    recv_exact(c, ln)
                    alive += 1
                except (OSError, EOFError, ssl.SSLError):
                    pass
            time.sleep(1)
        print("alive %d" % alive, flush=True)
        for c in conns:
            c.close()
    elif mode == "hold":
        n = int(args[0])
        held = []
        for _ in range(n):
            try:
                held.append(tls_connect(host, port, ca, name))
            except (OSError, ssl.SSLError):
                pass
        refused = 0
        try:
            extra = tls_connect(host, port, ca, name, timeout=20)
            # TLS 1.3: the server may close right after; a query tells
            q = query("example.test", 7, 6)
            extra.sendall(struct.pack(">H", len(q)) + q)
            extra.settimeout(20)
            if not extra.recv(2):
                refused = 1
        except (OSError, ssl.SSLError, EOFError):
            refused = 1
        print("held %d refused %d" % (len(held), refused))
        for s in held:
            s.close()
    elif mode == "idle":
        s = tls_connect(host, port, ca, name)
        t0 = time.monotonic()
        s.settimeout(120)
        how = "eof"
        try:
            while s.recv(4096):
                pass
            how = "notify"       # a clean TLS close (close_notify)
        except ssl.SSLZeroReturnError:
            how = "notify"
        except (ssl.SSLEOFError, ConnectionResetError, OSError):
            how = "eof"
        print("closed %.1f %s" % (time.monotonic() - t0, how))
    elif mode == "stall":
        s = tcp_connect(host, port)
        t0 = time.monotonic()
        closed = wait_closed_raw(s, 120)
        print("closed %.1f" % (time.monotonic() - t0) if closed else "open")
    elif mode == "garbage":
        s = tcp_connect(host, port)
        s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        print("closed" if wait_closed_raw(s) else "open")
    elif mode == "trunc-hello":
        s = tcp_connect(host, port)
        s.sendall(b"\x16\x03\x01\x02\x00" + b"\x01" * 20)
        s.shutdown(socket.SHUT_WR)
        print("closed" if wait_closed_raw(s) else "open")
    elif mode == "trunc-record":
        raw = tcp_connect(host, port)
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = context(ca).wrap_bio(inc, out, server_hostname=name)
        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                if out.pending:
                    raw.sendall(out.read())
                data = raw.recv(65536)
                if not data:
                    print("handshake failed")
                    return
                inc.write(data)
        if out.pending:
            raw.sendall(out.read())
        q = query("static.example.test", 9)
        obj.write(struct.pack(">H", len(q)) + q)
        rec = out.read()
        raw.sendall(rec[: len(rec) // 2])
        raw.shutdown(socket.SHUT_WR)
        print("closed" if wait_closed_raw(raw) else "open")
    elif mode == "badmsg":
        s = tls_connect(host, port, ca, name)
        s.sendall(b"\x00\x03abc")
        s.settimeout(30)
        try:
            data = s.recv(4096)
            print("closed" if not data else "answered")
        except (ssl.SSLError, OSError):
            print("closed")
    elif mode in ("pipeline", "pipeline-bad"):
        qname, n = args[0], int(args[1])
        s = tls_connect(host, port, ca, name)
        msgs = b""
        for i in range(n):
            q = query(qname, 100 + i)
            msgs += struct.pack(">H", len(q)) + q
        if mode == "pipeline-bad":
            msgs += b"\x00\x03abc"
        s.sendall(msgs)
        ids = []
        try:
            for _ in range(n):
                ln = struct.unpack(">H", recv_exact(s, 2))[0]
                ids.append(struct.unpack(">H", recv_exact(s, ln)[:2])[0])
        except (EOFError, OSError):
            pass
        ok = ids == [100 + i for i in range(n)]
        tail = ""
        if mode == "pipeline-bad":
            tail = " then " + ("closed" if wait_closed_raw(s, 30) else "open")
        print("answers %d ids %s%s" % (len(ids), "OK" if ok else "BAD", tail))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
