#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Differential DNS test helper: send the same queries to Knot and to
fluxgated, normalise the answers and compare them section by section.

Queries come from a file, one per line:

    LABEL | TOOL | ARGS...

TOOL is `kdig` or `dig` (ARGS are passed to the tool after @server; dig is
used where the query name's case must be kept: kdig lowercases it), or
`raw` (ARGS name a hand-built probe from RAW_PROBES, sent over UDP or TCP
with a socket, for what the tools cannot send).

Every difference is printed as
    DIFF <label> <field>: knot=<...> fluxgated=<...>
and marked ALLOWED when a line of the allowlist matches:
    <label-glob> <field-glob> <reason...>
Fields: opcode rcode flags edns edns.version edns.flags edns.udp
edns.ext-rcode edns.opt.<NAME> question answer authority additional
(and <section>.case when the records differ only in letter case;
answer.qname-case when the owners of answer records named like the query
differ in case: those must keep the query's case),
response (one side did not answer), count.

Exit status: 0 when every difference is allowlisted, 1 otherwise (2 on a
usage or setup error).
"""

import argparse
import fnmatch
import os
import re
import socket
import struct
import subprocess
import sys

# ------------------------------------------------------------ text parsing


def _norm_rr(line):
    """Collapse whitespace of one presentation-format record."""
    return " ".join(line.split())


def parse_kdig(text):
    """Parse kdig's default output into a list of message dicts."""
    msgs = []
    cur = None
    section = None
    for raw in text.splitlines():
        line = raw.rstrip()
        m = re.match(r";; ->>HEADER<<- opcode: (\S+); status: (\S+); id: (\d+)", line)
        if m:
            cur = new_msg()
            msgs.append(cur)
            cur["opcode"], cur["rcode"] = m.group(1), m.group(2)
            section = None
            continue
        if cur is None:
            continue
        m = re.match(r";; Flags: ([^;]*);", line)
        if m:
            cur["flags"] = " ".join(sorted(m.group(1).split()))
            continue
        if line == ";; EDNS PSEUDOSECTION:":
            section = "edns"
            cur["edns"] = {}
            continue
        m = re.match(r";; (QUESTION|ANSWER|AUTHORITY|ADDITIONAL) SECTION:", line)
        if m:
            section = m.group(1).lower()
            continue
        if line == "":
            section = None
            continue
        if re.match(r";; (Received|Time|From|WARNING|ERROR)", line):
            section = None
            continue
        if section == "edns":
            m = re.match(r";; Version: (\d+); flags: ?([^;]*); UDP size: (\d+) B; ext-rcode: (\S+)", line)
            if m:
                cur["edns"]["version"] = m.group(1)
                cur["edns"]["flags"] = " ".join(sorted(m.group(2).split()))
                cur["edns"]["udp"] = m.group(3)
                cur["edns"]["ext-rcode"] = m.group(4)
                continue
            m = re.match(r";; ([A-Za-z0-9-]+): ?(.*)", line)
            if m:
                cur["edns"].setdefault("opts", {})[m.group(1).upper()] = m.group(2).strip()
            continue
        if section == "question":
            cur["question"].append(_norm_rr(line[2:] if line.startswith(";;") else line))
            continue
        if section in ("answer", "authority", "additional"):
            cur[section].append(_norm_rr(line))
    return msgs


def parse_dig(text):
    """Parse dig's default output into a list of message dicts."""
    msgs = []
    cur = None
    section = None
    for raw in text.splitlines():
        line = raw.rstrip()
        m = re.match(r";; ->>HEADER<<- opcode: (\S+), status: (\S+), id: (\d+)", line)
        if m:
            cur = new_msg()
            msgs.append(cur)
            cur["opcode"], cur["rcode"] = m.group(1), m.group(2)
            section = None
            continue
        if cur is None:
            continue
        m = re.match(r";; flags: ?([^;]*);", line)
        if m:
            cur["flags"] = " ".join(sorted(m.group(1).split()))
            continue
        if line == ";; OPT PSEUDOSECTION:":
            section = "edns"
            cur["edns"] = {}
            continue
        m = re.match(r";; (QUESTION|ANSWER|AUTHORITY|ADDITIONAL) SECTION:", line)
        if m:
            section = m.group(1).lower()
            continue
        if line == "" or line.startswith(";; Query time") or line.startswith(";; SERVER"):
            section = None
            continue
        if section == "edns":
            m = re.match(r"; EDNS: version: (\d+), flags: ?([^;]*); udp: (\d+)", line)
            if m:
                cur["edns"]["version"] = m.group(1)
                cur["edns"]["flags"] = " ".join(sorted(m.group(2).split()))
                cur["edns"]["udp"] = m.group(3)
                cur["edns"]["ext-rcode"] = "-"
                continue
            m = re.match(r"; ([A-Za-z0-9-]+): ?(.*)", line)
            if m:
                cur["edns"].setdefault("opts", {})[m.group(1).upper()] = m.group(2).strip()
            continue
        if section == "question":
            cur["question"].append(_norm_rr(line[1:] if line.startswith(";") else line))
            continue
        if section in ("answer", "authority", "additional"):
            cur[section].append(_norm_rr(line))
    return msgs


def new_msg():
    return {"opcode": None, "rcode": None, "flags": "", "edns": None,
            "question": [], "answer": [], "authority": [], "additional": []}


# ------------------------------------------------------------ wire probes

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16,
         "AAAA": 28, "SRV": 33, "OPT": 41, "IXFR": 251, "AXFR": 252, "ANY": 255}
TYPENAMES = {v: k for k, v in TYPES.items()}
RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
          "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"]
OPCODES = {0: "QUERY", 1: "IQUERY", 2: "STATUS", 4: "NOTIFY", 5: "UPDATE"}


def wire_name(name):
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def build(qid, flags, questions, opcode=0, qdcount=None, opt=None, extra_ar=b"", arcount_extra=0,
          nscount=0, authority=b""):
    """Build a query. questions: list of (name, type, class)."""
    hdr_flags = (opcode << 11) | flags
    body = b"".join(wire_name(n) + struct.pack("!HH", t, c) for n, t, c in questions)
    ar = 0
    tail = b""
    if opt is not None:
        udp, ttl, rdata = opt
        tail = b"\0" + struct.pack("!HHIH", 41, udp, ttl, len(rdata)) + rdata
        ar = 1
    qd = len(questions) if qdcount is None else qdcount
    return (struct.pack("!HHHHHH", qid, hdr_flags, qd, 0, nscount, ar + arcount_extra)
            + body + authority + tail + extra_ar)


def ecs_opt(family, src, scope, addr):
    nbytes = (src + 7) // 8
    data = struct.pack("!HBB", family, src, scope) + addr[:nbytes]
    return struct.pack("!HH", 8, len(data)) + data


RD = 0x0100
QR = 0x8000
Z = 0x0040
TCF = 0x0200
ZONE = "example.test"


def raw_probes():
    """name -> (transport, packet bytes). IDs are fixed per probe."""
    return {
        "axfr": ("tcp", build(0x1001, 0, [(ZONE, 252, 1)])),
        "ixfr": ("tcp", build(0x1002, 0, [(ZONE, 251, 1)], nscount=1,
                              authority=wire_name(ZONE) + struct.pack("!HHIH", 6, 1, 0, 22)
                              + b"\0\0" + struct.pack("!IIIII", 0, 0, 0, 0, 0))),
        "axfr-udp": ("udp", build(0x1003, 0, [(ZONE, 252, 1)])),
        "opcode-iquery": ("udp", build(0x1004, RD, [(ZONE, 1, 1)], opcode=1)),
        "opcode-status": ("udp", build(0x1005, RD, [(ZONE, 1, 1)], opcode=2)),
        "opcode-notify": ("udp", build(0x1006, 0, [(ZONE, 6, 1)], opcode=4)),
        "opcode-update": ("udp", build(0x1007, 0, [(ZONE, 6, 1)], opcode=5)),
        "opcode-15": ("udp", build(0x1008, 0, [(ZONE, 1, 1)], opcode=15)),
        "qdcount-0": ("udp", build(0x1009, RD, [])),
        "qdcount-2": ("udp", build(0x100a, RD, [("www." + ZONE, 1, 1), ("mail." + ZONE, 1, 1)])),
        "class-any": ("udp", build(0x100b, 0, [("www." + ZONE, 1, 255)])),
        "class-none": ("udp", build(0x100c, 0, [("www." + ZONE, 1, 254)])),
        "class-hs": ("udp", build(0x100d, 0, [("www." + ZONE, 1, 4)])),
        "z-bit-set": ("udp", build(0x100e, Z, [("www." + ZONE, 1, 1)])),
        "tc-bit-in-query": ("udp", build(0x100f, TCF, [("www." + ZONE, 1, 1)])),
        "edns-unknown-option": ("udp", build(0x1010, 0, [("www." + ZONE, 1, 1)],
                                             opt=(1232, 0, struct.pack("!HH", 65001, 4) + b"abcd"))),
        "edns-udp-100": ("udp", build(0x1011, 0, [("www." + ZONE, 1, 1)], opt=(100, 0, b""))),
        "edns-two-opt": ("udp", build(0x1012, 0, [("www." + ZONE, 1, 1)], opt=(1232, 0, b""),
                                      extra_ar=b"\0" + struct.pack("!HHIH", 41, 1232, 0, 0),
                                      arcount_extra=1)),
        "edns-ecs-bad-scope": ("udp", build(0x1013, 0, [("www." + ZONE, 1, 1)],
                                            opt=(1232, 0, ecs_opt(1, 24, 8, bytes([192, 0, 2]))))),
        "edns-ecs-bad-family": ("udp", build(0x1014, 0, [("www." + ZONE, 1, 1)],
                                             opt=(1232, 0, ecs_opt(7, 24, 0, bytes([192, 0, 2]))))),
        "edns-ecs-src-33": ("udp", build(0x1015, 0, [("www." + ZONE, 1, 1)],
                                         opt=(1232, 0, ecs_opt(1, 33, 0, bytes([192, 0, 2, 1, 0]))))),
        "edns-ecs-v6": ("udp", build(0x1016, 0, [("www." + ZONE, 1, 1)],
                                     opt=(1232, 0, ecs_opt(2, 56, 0, bytes.fromhex("20010db8000000"))))),
        "edns-ecs-dirty-bits": ("udp", build(0x1017, 0, [("www." + ZONE, 1, 1)],
                                             opt=(1232, 0, ecs_opt(1, 20, 0, bytes([192, 0, 255]))))),
        "edns-do-ext-flags": ("udp", build(0x1018, 0, [("www." + ZONE, 1, 1)], opt=(1232, 0x0000ffff, b""))),
        "tcp-pipelined-3": ("tcp3", [build(0x1020 + i, 0, [(n + "." + ZONE, 1, 1)])
                                     for i, n in enumerate(("www", "mail", "ns1"))]),
        "root-soa": ("udp", build(0x1030, 0, [(".", 6, 1)])),
        "name-max-len": ("udp", build(0x1031, 0, [(".".join(["a" * 63] * 3 + ["a" * 45]) + "." + ZONE, 1, 1)])),
    }


def read_name(pkt, off, depth=0):
    labels = []
    jumped = False
    end = off
    hops = 0
    while True:
        if off >= len(pkt):
            raise ValueError("name past end")
        ln = pkt[off]
        if ln & 0xC0 == 0xC0:
            if off + 1 >= len(pkt):
                raise ValueError("pointer past end")
            ptr = ((ln & 0x3F) << 8) | pkt[off + 1]
            if not jumped:
                end = off + 2
            jumped = True
            hops += 1
            if hops > 64:
                raise ValueError("pointer loop")
            off = ptr
            continue
        if ln & 0xC0:
            raise ValueError("bad label type")
        off += 1
        if ln == 0:
            break
        labels.append(pkt[off:off + ln].decode("ascii", "backslashreplace"))
        off += ln
    if not jumped:
        end = off
    return (".".join(labels) + ".") if labels else ".", end


def parse_wire(pkt):
    """Parse a response into the same dict shape as the text parsers."""
    m = new_msg()
    qid, fl, qd, an, ns, ar = struct.unpack("!HHHHHH", pkt[:12])
    m["opcode"] = OPCODES.get((fl >> 11) & 0xF, "OPCODE%d" % ((fl >> 11) & 0xF))
    rcode = fl & 0xF
    names = []
    for bit, nm in ((0x8000, "qr"), (0x0400, "aa"), (0x0200, "tc"), (0x0100, "rd"),
                    (0x0080, "ra"), (0x0040, "z"), (0x0020, "ad"), (0x0010, "cd")):
        if fl & bit:
            names.append(nm)
    m["flags"] = " ".join(sorted(names))
    m["id"] = qid
    off = 12
    for _ in range(qd):
        name, off = read_name(pkt, off)
        t, c = struct.unpack("!HH", pkt[off:off + 4])
        off += 4
        m["question"].append("%s CLASS%d %s" % (name, c, TYPENAMES.get(t, "TYPE%d" % t)))
    ext = 0
    for sec, cnt in (("answer", an), ("authority", ns), ("additional", ar)):
        for _ in range(cnt):
            name, off = read_name(pkt, off)
            t, c, ttl, rdl = struct.unpack("!HHIH", pkt[off:off + 10])
            off += 10
            rdata = pkt[off:off + rdl]
            off += rdl
            if t == 41:
                m["edns"] = {"version": str((ttl >> 16) & 0xFF),
                             "flags": "do" if ttl & 0x8000 else "",
                             "udp": str(c), "ext-rcode": str(ttl >> 24)}
                ext = ttl >> 24
                opts = {}
                o = 0
                while o + 4 <= len(rdata):
                    code, ol = struct.unpack("!HH", rdata[o:o + 4])
                    opts["OPT%d" % code] = rdata[o + 4:o + 4 + ol].hex()
                    o += 4 + ol
                if opts:
                    m["edns"]["opts"] = opts
                continue
            m[sec].append("%s %d CLASS%d %s %s" % (name, ttl, c, TYPENAMES.get(t, "TYPE%d" % t),
                                                  rdata.hex()))
    full = (ext << 4) | rcode
    m["rcode"] = RCODES[full] if full < len(RCODES) else ("BADVERS" if full == 16 else "RCODE%d" % full)
    return m


def send_raw(server, port, transport, pkt, timeout):
    fam = socket.AF_INET6 if ":" in server else socket.AF_INET
    if transport == "udp":
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.settimeout(timeout)
        try:
            s.sendto(pkt, (server, port))
            data, _ = s.recvfrom(65535)
            return [parse_wire(data)]
        except socket.timeout:
            return []
        finally:
            s.close()
    pkts = pkt if isinstance(pkt, list) else [pkt]
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    out = []
    try:
        s.connect((server, port))
        s.sendall(b"".join(struct.pack("!H", len(p)) + p for p in pkts))
        buf = b""
        while len(out) < len(pkts):
            while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                chunk = s.recv(65535)
                if not chunk:
                    raise EOFError
                buf += chunk
            n = struct.unpack("!H", buf[:2])[0]
            out.append(parse_wire(buf[2:2 + n]))
            buf = buf[2 + n:]
    except (socket.timeout, EOFError, ConnectionError):
        pass
    finally:
        s.close()
    # pipelined answers may come in any order: sort by ID
    out.sort(key=lambda x: x.get("id", 0))
    return out


# ------------------------------------------------------------ comparison

SECTIONS = ("question", "answer", "authority", "additional")


def msg_fields(m):
    """Flatten a message into (field, value) pairs to compare."""
    f = {"opcode": m["opcode"], "rcode": m["rcode"], "flags": m["flags"]}
    e = m["edns"]
    if e is None:
        f["edns"] = "absent"
    else:
        f["edns"] = "present"
        for k in ("version", "flags", "udp", "ext-rcode"):
            f["edns." + k] = e.get(k, "?")
        for k, v in (e.get("opts") or {}).items():
            f["edns.opt." + k] = v
    return f


def qname_owners(m):
    """Distinct spellings of the answer owners equal to the query name."""
    if not m["question"]:
        return []
    q = m["question"][0].split()[0]
    return sorted(set(r.split()[0] for r in m["answer"] if r.split()[0].lower() == q.lower()))


def compare(knot, fg):
    """Yield (field, knot_value, fg_value) for each difference."""
    if len(knot) != len(fg):
        yield ("response", "%d message(s)" % len(knot), "%d message(s)" % len(fg))
    for i, (a, b) in enumerate(zip(knot, fg)):
        pre = "" if len(knot) == 1 else "msg%d." % i
        fa, fb = msg_fields(a), msg_fields(b)
        for k in sorted(set(fa) | set(fb)):
            va, vb = fa.get(k, "absent"), fb.get(k, "absent")
            if va != vb:
                yield (pre + k, va, vb)
        # The answer records owned by the query name must carry it exactly
        # as asked (0x20 resolvers rely on it): checked on its own, so that
        # case-only differences elsewhere (<section>.case) can be allowed.
        oa, ob = qname_owners(a), qname_owners(b)
        if oa and ob and oa != ob:
            yield (pre + "answer.qname-case", " | ".join(oa) or "-", " | ".join(ob) or "-")
        for sec in SECTIONS:
            sa, sb = sorted(a[sec]), sorted(b[sec])
            if sa == sb:
                continue
            la = sorted(x.lower() for x in sa)
            lb = sorted(x.lower() for x in sb)
            if la == lb:
                yield (pre + sec + ".case", " | ".join(sa), " | ".join(sb))
            else:
                onlya = [x for x in sa if x not in sb]
                onlyb = [x for x in sb if x not in sa]
                yield (pre + sec, " | ".join(onlya) or "-", " | ".join(onlyb) or "-")


def load_allow(path):
    rules = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 2)
            if len(parts) < 3:
                print("%s:%d: need: LABEL-GLOB FIELD-GLOB REASON" % (path, n), file=sys.stderr)
                sys.exit(2)
            rules.append({"label": parts[0], "field": parts[1], "reason": parts[2],
                          "line": n, "used": 0})
    return rules


def allowed(rules, label, field):
    for r in rules:
        if fnmatch.fnmatchcase(label, r["label"]) and fnmatch.fnmatchcase(field, r["field"]):
            r["used"] += 1
            return r
    return None


def run_tool(tool, server, port, args, timeout):
    if tool == "kdig":
        cmd = ["kdig", "@" + server, "-p", str(port), "+retry=0", "+timeout=%d" % timeout] + args
        parse = parse_kdig
    else:
        cmd = ["dig", "@" + server, "-p", str(port), "+tries=1", "+time=%d" % timeout] + args
        parse = parse_dig
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout * 4 + 5)
        text = p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        text = ""
    return parse(text), " ".join(cmd), text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--knot", required=True, help="Knot address")
    ap.add_argument("--fg", required=True, help="fluxgated address")
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--allow", required=True)
    ap.add_argument("--outdir", help="write each side's raw output here")
    ap.add_argument("--timeout", type=int, default=2)
    a = ap.parse_args()

    rules = load_allow(a.allow)
    probes = raw_probes()
    nq = nsame = nallowed = nbad = 0
    for n, line in enumerate(open(a.queries), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            label, tool, args = [x.strip() for x in line.split("|", 2)]
        except ValueError:
            print("%s:%d: need: LABEL | TOOL | ARGS" % (a.queries, n), file=sys.stderr)
            return 2
        nq += 1
        res = {}
        for side, srv in (("knot", a.knot), ("fluxgated", a.fg)):
            if tool == "raw":
                if args not in probes:
                    print("%s:%d: unknown raw probe %s" % (a.queries, n, args), file=sys.stderr)
                    return 2
                transport, pkt = probes[args]
                msgs = send_raw(srv, a.port, transport, pkt, a.timeout)
                cmd, text = "raw %s %s" % (transport, args), "\n".join(map(repr, msgs))
            elif tool in ("kdig", "dig"):
                msgs, cmd, text = run_tool(tool, srv, a.port, args.split(), a.timeout)
            else:
                print("%s:%d: unknown tool %s" % (a.queries, n, tool), file=sys.stderr)
                return 2
            res[side] = msgs
            if a.outdir:
                with open(os.path.join(a.outdir, "%s.%s.txt" % (label, side)), "w") as f:
                    f.write("$ %s\n%s\n" % (cmd, text))
        diffs = list(compare(res["knot"], res["fluxgated"]))
        if not diffs:
            nsame += 1
            print("SAME %s%s" % (label, "" if res["knot"] else " (neither answered)"))
            continue
        for field, va, vb in diffs:
            r = allowed(rules, label, field)
            tag = "ALLOWED (%s:%d)" % (os.path.basename(a.allow), r["line"]) if r else "NOT ALLOWED"
            if r:
                nallowed += 1
            else:
                nbad += 1
            print("DIFF %s %s: knot=[%s] fluxgated=[%s] -> %s" % (label, field, va, vb, tag))
    for r in rules:
        if not r["used"]:
            print("note: allowlist line %d (%s %s) matched nothing" % (r["line"], r["label"], r["field"]))
    print("knot_diff: %d queries, %d identical, %d allowed differences, %d unexpected differences"
          % (nq, nsame, nallowed, nbad))
    return 1 if nbad else 0


if __name__ == "__main__":
    sys.exit(main())
