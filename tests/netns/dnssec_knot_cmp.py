#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Side by side: fluxgated's and Knot mod-onlinesign's signed answers.

Usage: dnssec_knot_cmp.py DIR N   (DIR/1.fluxgated, DIR/1.knot ... N: kdig
+dnssec outputs of the same queries). Each answer is reduced to its rcode,
flags, EDNS flags and sections, records sorted within a section, RRSIG
inception, expiration and signature dropped (ECDSA signatures are
randomised and each server picks its own times). Prints both side by side
where they differ and exits 1 on any difference that DELIBERATE does not
list (each applied to both answers before they are compared).
"""
import re
import sys


def _soa_sig_ttl(ans):
    ans["authority"] = [re.sub(r"^(\S+) \d+ IN RRSIG SOA ", r"\1 <ttl> IN RRSIG SOA ", r)
                        for r in ans["authority"]]


def _nsec_types(ans):
    ans["authority"] = [re.sub(r"^(\S+ \d+ IN NSEC \S+) .*$", r"\1 <types>", r)
                        for r in ans["authority"]]


def _additional_sigs(ans):
    ans["additional"] = [r for r in ans["additional"] if " IN RRSIG " not in r]


# The deliberate differences of fluxgated from Knot 3.2's mod-onlinesign,
# each a normalisation applied to both answers before they are compared
# (so that any other difference in the same section still fails):
DELIBERATE = [
    ("negative answers: the SOA's RRSIG has the TTL of the SOA record sent "
     "(its minimum, 60), as RFC 4035 2.2 wants an RRSIG's TTL to equal its "
     "RRset's; Knot sends the RRSIG with the SOA's own TTL (300)", _soa_sig_ttl),
    ("denial: fluxgated's NSEC is RFC 9824 compact denial, listing exactly "
     "the types that exist at the name (NXNAME, TYPE128, for a name that "
     "does not exist; the exact lists are asserted by netns/dnssec); Knot 3.2, "
     "older than RFC 9824, lists types that do not exist (AAAA, A) and no "
     "NXNAME", _nsec_types),
    ("additional section: addresses of name servers are sent without their "
     "RRSIG (optional by RFC 4035 3.1.1; a validator asks when it needs them, "
     "and answers stay small); Knot signs them", _additional_sigs),
]


def parse(path):
    out = {"rcode": "?", "flags": "?", "edns": "?", "question": [], "answer": [],
           "authority": [], "additional": []}
    sect = None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            m = re.search(r"status: ([A-Z]+)", line)
            if m:
                out["rcode"] = m.group(1)
            m = re.match(r";; Flags: ([a-z ]*);", line)
            if m:
                out["flags"] = " ".join(sorted(m.group(1).split()))
            m = re.match(r";; Version: \d+; flags: ([a-z ]*);", line)
            if m:
                out["edns"] = m.group(1).strip()
            m = re.match(r";; (QUESTION|ANSWER|AUTHORITY|ADDITIONAL) SECTION:", line)
            if m:
                sect = m.group(1).lower()
                continue
            if not line or line.startswith(";; Received") or line.startswith(";; Time") \
                    or line.startswith(";; From"):
                if not line:
                    sect = None
                continue
            if sect and sect != "question" and not line.startswith(";"):
                f_ = line.split()
                if len(f_) < 4:
                    continue
                name, ttl, cls, typ = f_[0].lower(), f_[1], f_[2], f_[3]
                rdata = f_[4:]
                if typ == "RRSIG" and len(rdata) >= 8:
                    rdata = rdata[:4] + ["<exp>", "<inc>"] + rdata[6:8] + ["<sig>"]
                out[sect].append(" ".join([name, ttl, cls, typ] + rdata))
    for s in ("answer", "authority", "additional"):
        out[s].sort()
    return out


def side_by_side(query, aspect, fv, kv):
    print(f"{query}: {aspect}")
    fv = fv if isinstance(fv, list) else [fv]
    kv = kv if isinstance(kv, list) else [kv]
    for k in range(max(len(fv), len(kv))):
        left = fv[k] if k < len(fv) else ""
        right = kv[k] if k < len(kv) else ""
        print(f"    fluxgated: {left}\n    knot:      {right}")


def main():
    d, n = sys.argv[1], int(sys.argv[2])
    bad = 0
    for i in range(1, n + 1):
        fg, kn = parse(f"{d}/{i}.fluxgated"), parse(f"{d}/{i}.knot")
        with open(f"{d}/{i}.fluxgated") as f:
            txt = f.read()
        m = re.search(r";; QUESTION SECTION:\n;; (\S+)\s+IN\s+(\S+)", txt)
        query = f"{m.group(1)} {m.group(2)}" if m else f"#{i}"
        aspects = ("rcode", "flags", "edns", "answer", "authority", "additional")
        if all(fg[a] == kn[a] for a in aspects):
            print(f"{query}: same")
            continue
        for a in aspects:
            if fg[a] != kn[a]:
                side_by_side(query, a, fg[a], kn[a])
        for k_, (why, norm) in enumerate(DELIBERATE):
            before = (dict(fg), dict(kn))
            norm(fg)
            norm(kn)
            if (fg != before[0] or kn != before[1]) and \
                    any(before[0][a] != before[1][a] for a in aspects):
                print(f"{query}: deliberate difference {k_ + 1} applies")
        diffs = [a for a in aspects if fg[a] != kn[a]]
        if not diffs:
            continue
        for a in diffs:
            bad += 1
            print(f"{query}: {a} differs (NOT LISTED)")
    for k_, (why, _) in enumerate(DELIBERATE):
        print(f"deliberate difference {k_ + 1}: {why}")
    print(f"compared {n} queries, {bad} unlisted difference(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
