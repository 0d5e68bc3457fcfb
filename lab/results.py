#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make results`: render bench/RESULTS.md's lab tables from fluxlab's JSON.

    lab/results.py [--update FILE.md] DIR_OR_JSON...

Reads every fluxlab result (`fluxlab run --json` files, and the console's
run directories: DIR/ID/result.json), keeps the newest run of each scenario
and renders the tables below as Markdown. With --update, each table
replaces the part of FILE.md between its markers

    <!-- BEGIN fluxlab results: NAME -->
    <!-- END fluxlab results: NAME -->

and the rest of the file is left as it is; without, the tables go to stdout.
Every figure in a table comes from the JSON; the only constants are the
T&E report's published Tables 1 and 2 (seed 000, section 6.3), quoted in
their own columns.
"""
import argparse
import json
import os
import re
import sys

# The Sandia T&E report's Tables 1 (1 CPU) and 2 (16 CPUs): misrouted /
# routed valid requests, by clients and latency. Quoted, not measured here.
TE_TABLES = {
    (50, 20): ("11308/16890 (66%)", "0/32119 (0%)"),
    (50, 200): ("0/7694 (0%)", "0/7510 (0%)"),
    (100, 20): ("22696/23693 (96%)", "0/57961 (0%)"),
    (100, 200): ("10693/15212 (70%)", "0/14930 (0%)"),
    (1000, 20): ("194839/202514 (96%)", "0/159604 (0%)"),
    (1000, 200): ("105789/107733 (98%)", "0/161753 (0%)"),
}

# T&E section 6.3.2: requests/minute at which a /24 (256 addresses) or a
# /64 is entirely open to anyone with a 5 s TTL. Quoted.
TE_FAIL_OPEN = {(4, 24, 5): "3072", (6, 64, 5): "221360928884514619392"}

GRID = re.compile(r"^te-(\d+)-(valid|some|none)-(\d+)ms(?:-(ecs|direct|v6|ecs-v6))?$")


def load_runs(paths):
    """{scenario name: (mtime, json)}, the newest run of each scenario."""
    files = []
    for p in paths:
        if os.path.isdir(p):
            for root, _dirs, names in os.walk(p):
                for n in names:
                    if n.endswith(".json") and n != "meta.json":
                        files.append(os.path.join(root, n))
        elif os.path.exists(p):
            files.append(p)
    runs = {}
    for f in sorted(files):
        try:
            with open(f, encoding="utf-8") as fh:
                j = json.load(fh)
        except (OSError, ValueError):
            continue
        if not isinstance(j, dict) or "scenario" not in j or "legit" not in j:
            continue   # not a fluxlab result
        name = j["scenario"].get("name")
        t = os.path.getmtime(f)
        if name and (name not in runs or runs[name][0] < t):
            runs[name] = (t, j)
    return {k: v[1] for k, v in runs.items()}


def failed(role):
    return sum(role.get("failed", {}).values())


def fnum(x, nd=1):
    return "–" if x is None else f"{x:.{nd}f}"


def gsci(x):
    """a pool size or a rate: exact when small, 3 significant digits else"""
    if x < 1e6:
        return f"{x:.0f}"
    m, e = f"{x:.3e}".split("e")
    return f"{m}·10^{int(e)}"


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def sources(runs, names):
    return "Source: `" + "`, `".join(f"{n}.json" for n in names) + "` (`make lab-runs`)." if names else ""


def t_te_tables(runs):
    rows, used = [], []
    for n in (50, 100, 1000):
        cells = []
        for lat in (20, 200):
            j = runs.get(f"te-{n}-valid-{lat}ms")
            cells.append(j["legit"]["misrouted_text"] if j else "not run")
            if j:
                used.append(f"te-{n}-valid-{lat}ms")
        t1 = TE_TABLES[(n, 20)][0], TE_TABLES[(n, 200)][0]
        t2 = TE_TABLES[(n, 20)][1], TE_TABLES[(n, 200)][1]
        rows.append([n, cells[0], cells[1], t1[0], t1[1], t2[0], t2[1]])
    head = ["clients", "20 ms (fluxgate)", "200 ms (fluxgate)", "T&E Table 1, 20 ms", "T&E Table 1, 200 ms",
            "T&E Table 2, 20 ms", "T&E Table 2, 200 ms"]
    return table(head, rows) + "\n\n" + sources(runs, used)


def t_all_runs(runs):
    rows = []
    for name in sorted(runs):
        j = runs[name]
        L, g = j["legit"], j.get("gateway", {})
        atk = sum(a.get("sessions", 0) for a in j.get("attackers", []))
        lat = L.get("dns_latency_ms", {})
        dns = f"{lat['p50']:.2f}/{lat['p99']:.2f}" if L.get("dns_answers") else "–"
        cpu = g.get("fluxgated_cpu_pct", {})
        rows.append([name, L["sessions"], failed(L), L["misrouted_text"], atk,
                     j["attack"]["reach_sessions"], j["attack"]["reach_syn_at_server"], dns,
                     f"{cpu.get('mean', 0):.1f}/{cpu.get('max', 0):.1f}", g.get("conntrack_max", "–"),
                     f"{g.get('open_fraction', {}).get('max', 0):.3f}",
                     "passed" if j.get("expect", {}).get("passed") else
                     ("FAILED" if "expect" in j else "–")])
    head = ["scenario", "legit sessions", "failed", "misrouted", "attacker sessions", "attacker → real (sessions)",
            "attacker SYNs at real server", "DNS p50/p99 ms", "fluxgated CPU mean/max %", "conntrack max",
            "open fraction max", "expect:"]
    return table(head, rows)


def t_te_grid(runs):
    rows, used = [], []
    for kind in ("none", "some"):
        for n in (50, 100, 1000):
            for lat in (20, 200):
                name = f"te-{n}-{kind}-{lat}ms"
                j = runs.get(name)
                if not j:
                    continue
                used.append(name)
                L = j["legit"]
                inv = sum(a["sessions"] for a in j["attackers"] if a["type"] == "invalid")
                reach = j["attack"]["reach_sessions"]
                fh = [a["probes_to_first_hit"] for a in j["attackers"] if a.get("probes_to_first_hit") is not None]
                of = j["gateway"]["open_fraction"]
                e = j.get("expect", {})
                bound = (f"{e['attack_reach_bound']} (n·p {e['attack_reach_predicted']:.1f})"
                         if e.get("attack_reach_max") == "predicted" else str(e.get("attack_reach_max", "–")))
                rows.append([f"{name}.yaml",
                             L["misrouted_text"] if L["sessions"] else "– (no valid clients)",
                             failed(L) if L["sessions"] else "–", inv,
                             f"{reach} / {j['attack']['reach_syn_at_server']}",
                             f"{100.0 * reach / inv:.2f}%" if inv else "–",
                             min(fh) if fh else "never", f"{of['mean']:.3f}/{of['max']:.3f}", bound,
                             "passed" if e.get("passed") else "FAILED"])
    head = ["command (`lab/scenarios/…`)", "legit misrouted (fluxgate)", "legit failed", "invalid sessions",
            "invalid → real server (sessions / SYNs)", "share", "1st hit at probe", "open fraction mean/max",
            "reach bound (`expect:`)", "expect:"]
    return table(head, rows) + "\n\n" + sources(runs, used)


def t_families(runs):
    rows, used = [], []
    for name in sorted(runs):
        fam = runs[name].get("families", {})
        if "ipv6" not in fam:
            continue
        used.append(name)
        ttl = runs[name]["scenario"].get("ttl_s")
        for key, label in (("ipv4", "IPv4"), ("ipv6", "IPv6")):
            f = fam[key]
            L, A = f["legit"], f["attack"]
            plen = int(f["pool"].split("/")[1])
            te = TE_FAIL_OPEN.get((4 if key == "ipv4" else 6, plen, int(ttl or 0)), "–")
            rows.append([name, f"{label} `{f['pool']}`", gsci(f["pool_size"]),
                         f"{L['real']} / {L['decoy']} / {failed(L)}",
                         f"{f['open_addresses_mean']:.2f} ({f['open_fraction_mean']:.3g})",
                         gsci(f["fail_open_answers_per_min"]), te, A["sessions"],
                         f"{A['reach_predicted']:.3g}", A["reach_bound"] if A["attackers"] else "–",
                         f"{A['reach_sessions']} / {A['reach_syn_at_server']}"])
    head = ["scenario", "family, pool", "pool addresses", "legit real / decoy / failed",
            "open to anyone: mean addresses (fraction)", "answers/min to fail open (usable size·60/TTL)",
            "T&E 6.3.2 (quoted)", "attacker sessions n", "predicted reach n·p", "bound", "reach (sessions / SYNs)"]
    return table(head, rows) + "\n\n" + sources(runs, used)


def t_v6_attackers(runs):
    rows, used = [], []
    for name in sorted(runs):
        j = runs[name]
        if "ipv6" not in j.get("families", {}):
            continue
        for a in j["attackers"]:
            if a.get("family") != 6:
                continue
            if name not in used:
                used.append(name)
            rows.append([name, a["name"], a["type"], a["probes"], a["real"], a["decoy"],
                         a["probes_to_first_hit"] if a["probes_to_first_hit"] is not None else "never",
                         a["syn_at_server"], a["syn_at_decoys"]])
    head = ["scenario", "attacker", "type", "probes", "real", "decoy", "1st hit", "pkts at server",
            "pkts at decoys"]
    return table(head, rows) + "\n\n" + sources(runs, used)


def t_misroutes(runs):
    """Every misroute explained (legit.misrouted_explained, legit.misroutes):
    late (the first SYN after its grant ended; of them, by a retransmitted
    SYN) against product (a grant was live), with the client-side delays."""
    rows = []
    for name in sorted(runs):
        L = runs[name]["legit"]
        if not L.get("sessions"):
            continue
        mx, fx = L.get("misrouted_explained", {}), L.get("failed_explained", {})
        m = L.get("misroutes", {})
        a2s, aft = m.get("answer_to_syn_ms", {}), m.get("after_grant_end_ms", {})
        ms = lambda d, k: "–" if d.get(k) is None else f"{d[k]:.0f}"
        rows.append([name, L["misrouted_text"], mx.get("late", "–"), mx.get("late_retransmitted", "–"),
                     mx.get("product", "–"), f"{fx.get('late', '–')} / {fx.get('product', '–')} / {fx.get('connected', '–')}",
                     f"{ms(a2s, 'p50')} / {ms(a2s, 'p99')} / {ms(a2s, 'max')}",
                     f"{ms(aft, 'p50')} / {ms(aft, 'max')}", L.get("gateway_conntrack_drops", "–"),
                     mx.get("basis", "ttl")])
    head = ["scenario", "misrouted", "late", "of them by a retransmitted SYN", "product",
            "failed after the SYN: late / product / connected", "misrouted: answer → SYN ms p50 / p99 / max",
            "misrouted: SYN after the grant ended ms p50 / max", "gateway conntrack drops", "explained by"]
    return table(head, rows)
def t_distributed(runs):
    rows, used = [], []
    for name in sorted(runs):
        j = runs[name]
        d = j.get("dist")
        if not d:
            continue
        used.append(name)
        topo = f"{d['agents']} agents" + (" (pair)" if d["pair"] else "") + f", {d['on_timeout']}"
        if d.get("external"):
            topo += f", {d['external']['server']}"
        L = j["legit"]
        S = d["shares"]
        killed = [s for s in S if s.get("killed_at_s") is not None]
        kill = "–"
        if killed:
            k = killed[0]
            kill = (f"{k['agent']} at {k['killed_at_s']:.1f} s: {k['answers_before_kill']} answers before, "
                    f"{k['answers_to_queries_after_kill']} after")
        fo = d.get("failover")
        fov, inside, outside = "–", "–", "–"
        if fo:
            fov = f"{fo['time_s']:.2f} s" if fo.get("time_s") is not None else "never"
            fl, i, o = fo["in_flight"], fo["inside"], fo["outside"]
            fov += f"; in flight {fl['real']}/{fl['real'] + fl['decoy'] + fl['failed']} completed"
            inside = (f"{i['misrouted_late'] + i['misrouted_blackout'] + i['misrouted_product']} "
                      f"(late {i['misrouted_late']}, blackout {i['misrouted_blackout']}, "
                      f"product {i['misrouted_product']}); no DNS answer {i['dns_failed']}")
            outside = f"{o['misrouted']} / {o['failed']}"
        x = d.get("external")
        ext = "–"
        if x:
            ext = (f"{x['updates_published']} published, {x['updates_failed']} failed; "
                   f"serial {x['serial_before']} → {x['serial_after']}")
        h = d["healthy"]
        A = j["attack"]
        rows.append([name, topo, f"{L['real']} / {L['misrouted']} / {failed(L)}",
                     f"{h['misrouted']}/{h['routed']}", kill, fov, inside, outside, ext,
                     f"{A['reach_sessions']} / {A['reach_syn_at_server']}",
                     "pass" if j.get("expect", {}).get("passed") else "FAIL"])
    head = ["scenario", "topology", "legit real / decoy / failed", "misrouted on healthy shares",
            "killed agent: answers with its addresses", "failover time", "inside the window: misrouted",
            "outside: misrouted / failed", "external UPDATEs", "reach (sessions / SYNs)", "expect:"]
    return table(head, rows) + "\n\n" + sources(runs, used)


TABLES = {
    "misroutes": t_misroutes,
    "te-tables": t_te_tables,
    "all-runs": t_all_runs,
    "te-grid": t_te_grid,
    "families": t_families,
    "v6-attackers": t_v6_attackers,
    "distributed": t_distributed,
}

MARK = re.compile(r"(<!-- BEGIN fluxlab results: ([a-z0-9-]+) -->\n)(.*?)(<!-- END fluxlab results: \2 -->)",
                  re.S)


def update(path, runs):
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    seen = set()

    def sub(m):
        name = m.group(2)
        if name not in TABLES:
            raise SystemExit(f"{path}: unknown table '{name}' (known: {', '.join(TABLES)})")
        seen.add(name)
        return m.group(1) + TABLES[name](runs) + "\n" + m.group(4)

    new = MARK.sub(sub, text)
    if not seen:
        raise SystemExit(f"{path}: no '<!-- BEGIN fluxlab results: NAME -->' markers")
    if new != text:
        with open(path + ".tmp", "w", encoding="utf-8") as fh:
            fh.write(new)
        os.replace(path + ".tmp", path)
    print(f"{path}: {len(seen)} table(s) from {len(runs)} run(s): {', '.join(sorted(seen))}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--update", metavar="FILE.md")
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()
    runs = load_runs(args.paths)
    if not runs:
        raise SystemExit("no fluxlab results in " + " ".join(args.paths) + " (run: make lab-runs)")
    if args.update:
        update(args.update, runs)
    else:
        for name, fn in TABLES.items():
            print(f"## {name}\n\n{fn(runs)}\n")


if __name__ == "__main__":
    main()
