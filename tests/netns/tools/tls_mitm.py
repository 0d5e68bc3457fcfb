#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A man in the middle for the controller -> agent TLS channel (tests only).

    tls_mitm.py LISTEN_ADDR LISTEN_PORT AGENT_ADDR AGENT_PORT

Forwards TCP both ways and cuts the controller -> agent direction into TLS
records (5-octet header: type, version, length). Normally it passes every
record unchanged. Armed by a signal, it tampers with the next application
data record (type 23) from the controller:

  SIGUSR1  replay: send that record, then the same bytes again
  SIGUSR2  reorder: hold that record and send it after the next one

Each tampering is written to stdout ("replayed N" / "reordered N"), so the
test knows it happened. TLS 1.3 numbers records implicitly, so the agent
fails to decrypt the copy (or the record moved ahead) and tears the
connection down.
"""
import select
import signal
import socket
import sys

armed = None


def arm(mode):
    def handler(signum, frame):
        global armed
        armed = mode
        print("armed %s" % mode, flush=True)
    return handler


signal.signal(signal.SIGUSR1, arm("replay"))
signal.signal(signal.SIGUSR2, arm("reorder"))


def serve(cli, dst):
    global armed
    srv = socket.create_connection(dst)
    buf = b""
    held = None
    count = 0
    socks = [cli, srv]
    while True:
        try:
            r, _, _ = select.select(socks, [], [], 1.0)
        except InterruptedError:
            continue
        if srv in r:
            d = srv.recv(65536)
            if not d:
                break
            cli.sendall(d)
        if cli in r:
            d = cli.recv(65536)
            if not d:
                break
            buf += d
            while len(buf) >= 5:
                ln = 5 + (buf[3] << 8 | buf[4])
                if len(buf) < ln:
                    break
                rec, buf = buf[:ln], buf[ln:]
                count += 1
                if held is not None:
                    srv.sendall(rec + held)
                    held = None
                    print("reordered %d" % count, flush=True)
                    continue
                if rec[0] == 23 and armed == "replay":
                    armed = None
                    srv.sendall(rec + rec)
                    print("replayed %d" % count, flush=True)
                    continue
                if rec[0] == 23 and armed == "reorder":
                    armed = None
                    held = rec
                    continue
                srv.sendall(rec)
    cli.close()
    srv.close()


def main():
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind((sys.argv[1], int(sys.argv[2])))
    lst.listen(4)
    print("listening", flush=True)
    dst = (sys.argv[3], int(sys.argv[4]))
    while True:
        try:
            c, _ = lst.accept()
        except InterruptedError:
            continue
        try:
            serve(c, dst)
        except OSError as e:
            print("connection ended: %s" % e, flush=True)


if __name__ == "__main__":
    main()
