#!/usr/bin/env python3
"""Turns a bench/run output folder into results.json, report.md and chart.svg."""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--attempts", type=int, required=True)
ap.add_argument("--load-seconds", default="")
ap.add_argument("--duration", type=float, required=True)
ap.add_argument("--connections", type=int, required=True)
a = ap.parse_args()
raw = os.path.join(a.out, "raw")


def jsonl(name):
    path = os.path.join(raw, name)
    return [json.loads(l) for l in open(path) if l.strip()] if os.path.exists(path) else []


scenarios = jsonl("scenarios.jsonl")
writers = jsonl("writers.jsonl")
mixed_tps_path = os.path.join(raw, "mixed-writer-tps.txt")
mixed_writer_tps = None
if os.path.exists(mixed_tps_path) and open(mixed_tps_path).read().strip():
    mixed_writer_tps = float(open(mixed_tps_path).read().split()[0])
totals = jsonl("totals.jsonl")
http_ceiling_path = os.path.join(raw, "http_ceiling.json")
http_ceiling = json.load(open(http_ceiling_path)) if os.path.exists(http_ceiling_path) else None  # not in --only runs
pooler_pgbench = jsonl("pooler.jsonl")
wrk_rps = None
wrk_text = open(os.path.join(raw, "wrk.txt")).read() if os.path.exists(os.path.join(raw, "wrk.txt")) else ""
m = re.search(r"Requests/sec:\s+([\d.]+)", wrk_text)
if m:
    wrk_rps = float(m.group(1))
write_cost = open(os.path.join(raw, "write_cost.txt")).read() if os.path.exists(os.path.join(raw, "write_cost.txt")) else ""
with_ms = [float(x) for x in re.findall(r"^with ([\d.]+)", write_cost, re.M)]
without_ms = [float(x) for x in re.findall(r"^without ([\d.]+)", write_cost, re.M)]


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


machine = {
    "cpu": cpu_model(),
    "cores": os.cpu_count(),
    "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
    "os": platform.platform(),
    "postgres": subprocess.run(["/usr/lib/postgresql/15/bin/postgres", "--version"], capture_output=True, text=True).stdout.strip(),
}
settings_path = os.path.join(raw, "pg-settings.txt")
if os.path.exists(settings_path):  # name and value per line; not in runs before it was written
    machine["postgres_settings"] = dict(l.split(" ", 1) for l in open(settings_path).read().splitlines() if " " in l)
wakeup_path = os.path.join(raw, "wakeup.json")
if os.path.exists(wakeup_path) and os.path.getsize(wakeup_path):  # hookstream-bench-wakeup --json
    machine["wakeup"] = json.load(open(wakeup_path))
first = next((s for s in scenarios if s["scenario"] == "first_page"), None)
doc = {
    "date": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
    "machine": machine,
    "hot_environment_attempts": a.attempts,
    "load_seconds": float(a.load_seconds) if a.load_seconds else None,
    "duration_s": a.duration,
    "scenarios": scenarios,
    "total_cost": totals,
    "http_ceiling": http_ceiling,
    "wrk_first_page_rps": wrk_rps,
    "single_row_writers": writers,
    "mixed_writer_tps": mixed_writer_tps,
    "pooler_pgbench": pooler_pgbench,
    "bulk_insert_50k_ms": {"with_counters": min(with_ms) if with_ms else None,
                           "without_counters": min(without_ms) if without_ms else None},
}
json.dump(doc, open(os.path.join(a.out, "results.json"), "w"), indent=2)


def fmt(x, nd=2):
    return "" if x is None else (f"{x:,.0f}" if abs(x) >= 100 else f"{x:.{nd}f}")


def wakeup_lines(w):
    """The machine's price of a wake-up (bench/wakeup_bench.cpp), as one paragraph."""
    if not w:
        return []
    two = ("" if w.get("two_cpus_idle_round_trip_us") is None else
           f", on two CPUs {w['two_cpus_idle_round_trip_us']:.1f} µs with the other CPU idle and "
           f"{w['two_cpus_busy_round_trip_us']:.1f} µs with it busy")
    return [f"Wake-ups (hookstream-bench-wakeup, before the scenarios): a ping-pong between two processes "
            f"{w['one_cpu_round_trip_us']:.1f} µs a round trip on one CPU{two}; a system call "
            f"{w['syscall_us']:.2f} µs. A listing request crosses four wake-ups, the bare page two.", ""]


stolen = [s for s in scenarios if s.get("steal_pct")]
steal_note = "" if not stolen else (
    " The hypervisor stole up to " + f"{max(s['steal_pct'] for s in stolen):.1f}% of the CPU in a window ("
    + max(stolen, key=lambda s: s["steal_pct"])["scenario"] + ").")
check_every = next((s.get("check_every") for s in scenarios if s.get("check_every")), 1)
lines = [f"# hookstream bench — {doc['date']}", "",
         f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GiB; {machine['postgres']}"
         + ("" if "postgres_settings" not in machine else
            " (" + ", ".join(f"{k} {v}" for k, v in machine["postgres_settings"].items()) + ")")
         + ". Server, load generator and PostgreSQL share the machine.", "",
         *wakeup_lines(machine.get("wakeup")),
         f"Hot environment: {a.attempts:,} attempts" + (f" (loaded in {float(a.load_seconds):.0f} s)" if a.load_seconds else "") +
         f". Each scenario: {a.duration:g} s measured after a warm-up, {a.connections} keep-alive connections unless "
         f"named otherwise; every response's status and framing checked, every {check_every}th parsed in full "
         "(JSON, row count).", "",
         "| scenario | req/s | p50 ms | p99 ms | p99.9 ms | errors | statement ceiling | ratio | bare page | ratio to bare "
         "| server µs/req | DB µs/req | DB vs bare | load gen µs/req | peak RSS MB |",
         "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
for s in scenarios:
    l = s["latency_ms"]
    lines.append(f"| {s['scenario']} | {fmt(s['rps'])} | {fmt(l['p50'])} | {fmt(l['p99'])} | {fmt(l['p999'])} | "
                 f"{s['errors']} | {fmt(s.get('ceiling_rps'))} | {fmt(s.get('ratio_to_ceiling'))} | "
                 f"{fmt(s.get('bare_rps'))} | {fmt(s.get('ratio_to_bare'))} | {fmt(s.get('server_cpu_us_per_request'))} | "
                 f"{fmt(s.get('db_cpu_us_per_request'))} | {fmt(s.get('db_cost_vs_bare'))} | "
                 f"{fmt(s.get('loadgen_cpu_us_per_request'))} | {s['server_peak_rss_mb']} |")
lines += ["", "Ceilings: `pgbench -M prepared` at the same concurrency, the better of PostgreSQL's default plan "
          "caching and `plan_cache_mode=force_generic_plan`, running (statement ceiling) the server's own statement "
          "(printed by `hookstream-bench-sql`) and (bare page) the page's rows alone, the cheapest statement that "
          "could serve the request (`hookstream-bench-sql --bare`). Server µs/req: the server process's CPU time "
          "(user + system, from /proc) over the requests answered. DB µs/req: the same for the PostgreSQL cluster "
          "(the postmaster and its children); DB vs bare divides it by what the cluster spends per bare page "
          "under pgbench. Load gen µs/req: the load generator's own CPU over its run.", ""]
# Who had the machine during each window (bench/run's scenario: /proc/stat and
# the processes' own counters).
accounted = [s for s in scenarios if "machine_busy_pct" in s]
if accounted:
    lines += ["The machine's CPU in each window, as shares of all cores: busy (/proc/stat); the server, the "
              "PostgreSQL cluster (of it, its background processes: checkpointer, background and WAL writers, "
              "autovacuum) and the load generator; other, the busy time none of them spent (another program "
              "sharing the machine); stolen by the hypervisor." + steal_note, "",
              "| scenario | busy % | server % | DB % | DB background % | load gen % | other % | stolen % |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for s in accounted:
        lines.append(f"| {s['scenario']} | {s['machine_busy_pct']:.1f} | {s['server_share_pct']:.1f} | "
                     f"{s['db_share_pct']:.1f} | {s['db_background_pct']:.1f} | {s['loadgen_share_pct']:.1f} | "
                     f"{s['other_cpu_pct']:.1f} | {s['steal_pct']:.1f} |")
    lines += [""]
# Several values and a time range next to their counterparts (bench/run's filter_ratios).
ratios = os.path.join(a.out, "raw", "filter-ratios.txt")
if os.path.exists(ratios):
    lines += ["Several values and time ranges, same run: " +
              "; ".join(l.strip() for l in open(ratios) if l.strip()) + ".", ""]
# The first page, one connection, the event filter and the cursor walk against
# their bare pages, and 1,024 connections against 16, in alternated rounds
# (bench/run's alternated_ceilings).
alternated = os.path.join(raw, "alternated-ceilings.txt")
if os.path.exists(alternated):
    lines += [l.strip() for l in open(alternated) if l.strip()] + [""]
open_loop = next((s for s in scenarios if s["scenario"].startswith("open_loop_")), None)
if open_loop:
    l = open_loop["latency_ms"]
    rate = os.path.join(raw, "open-loop-rate.txt")
    basis = f" ({open(rate).readline().strip()})" if os.path.exists(rate) else ""
    lines += [f"Open loop at half the first page's throughput{basis}, {open_loop['scenario'][10:]}: "
              f"p99 {fmt(l['p99'])} ms, p99.9 {fmt(l['p999'])} ms.", ""]
    # The same rate against the bare page and the static server (bench/run's open_loop_compared).
    compared = os.path.join(raw, "open-loop-compared.txt")
    if os.path.exists(compared):
        lines += ["```"] + [x.rstrip() for x in open(compared) if x.strip()] + ["```", ""]
c16 = next((s for s in scenarios if s["scenario"] == "concurrency_16"), None)
c1024 = next((s for s in scenarios if s["scenario"] == "concurrency_1024"), None)
if c16 and c1024:
    lines += [f"1,024 keep-alive connections: {fmt(c1024['rps'])} req/s, {c1024['errors']} errors, peak RSS "
              f"{c1024['server_peak_rss_mb']} MB ({c1024['rps'] / c16['rps']:.2f}x the 16-connection throughput).", ""]
profile_path = os.path.join(raw, "profile.txt")
if os.path.exists(profile_path) and open(profile_path).read().strip():
    lines += ["## Where the server's CPU goes (first page)", "",
              "`perf record -F 1999` on the server for 5 s of first-page load; self time per function, the top 15:", "",
              "```"] + [l.rstrip() for l in open(profile_path).read().splitlines()[:15]] + ["```", ""]
bulk = os.path.join(raw, "bulk-backlog.txt")
if os.path.exists(bulk):
    lines += ["## After a bulk write", "",
              "The first page in 1-second slices after one `INSERT` of counted attempts into the hot environment, "
              "then after one `DELETE` of them, with the rows left in the counters' log (bench/run's bulk_backlog):",
              "", "```"] + [l.rstrip() for l in open(bulk) if l.strip()] + ["```", ""]
hc = http_ceiling
if hc:
    lines += [f"HTTP ceiling: the first page's bytes served by the load generator's own static server: "
              f"{fmt(hc['rps'])} req/s, p50 {fmt(hc['latency_ms']['p50'])} ms, p99 {fmt(hc['latency_ms']['p99'])} ms."]
if wrk_rps and first:
    lines += [f"Cross-check: `wrk -t1 -c{a.connections}` on the first page: {fmt(wrk_rps)} req/s vs "
              f"hookstream-bench {fmt(first['rps'])} req/s ({100 * first['rps'] / wrk_rps:.0f}%)."]
pooled = [s for s in scenarios if s["scenario"].startswith("pooler_")]
if pooled:
    lines += ["", "## Behind pgbouncer (transaction mode)", "",
              "The first page, alternated in this run: straight to PostgreSQL with named statements and session "
              "settings; straight with unnamed statements and transaction-local settings (`--prepared-statements "
              "off`); through pgbouncer 1.18 in transaction mode with 8 server connections (the mode detected). "
              "pgbouncer µs/req: pgbouncer's own CPU per request.", "",
              "| run | req/s | p50 ms | p99 ms | errors | server µs/req | DB µs/req | pgbouncer µs/req |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for s in pooled:
        l = s["latency_ms"]
        lines.append(f"| {s['scenario'][7:]} | {fmt(s['rps'])} | {fmt(l['p50'])} | {fmt(l['p99'])} | {s['errors']} | "
                     f"{fmt(s.get('server_cpu_us_per_request'))} | {fmt(s.get('db_cpu_us_per_request'))} | "
                     f"{fmt(s.get('pooler_cpu_us_per_request'))} |")
    best = {}
    for s in pooled:
        kind = s["scenario"][7:].rsplit("_r", 1)[0]
        best[kind] = max(best.get(kind, 0), s["rps"])
    if best.get("direct_named"):
        lines += ["", "Best of each against straight with named statements: " + ", ".join(
            f"{k} {v / best['direct_named']:.2f}x" for k, v in best.items() if k != "direct_named") + "."]
if pooler_pgbench:
    lines += ["", "The first page's statement under pgbench (tps), with the server's settings: unnamed statements "
              "(`-M extended`, planned at every execution) with PostgreSQL's default plan caching and with "
              "`force_generic_plan`, and named ones (`-M prepared`, generic plan) for reference.", "",
              "| round | protocol | plan_cache_mode | tps |", "|---:|---|---|---:|"]
    for p in pooler_pgbench:
        lines.append(f"| {p['round']} | {p['protocol']} | {p['plan_cache_mode']} | {fmt(p['tps'])} |")
lines += ["", "## The price of the exact total", "",
          "The listing statement with its total against the same statement without it (pgbench, best of "
          "alternating runs).", "",
          "| filter | with total (tps) | without total (tps) | ratio |", "|---|---:|---:|---:|"]
for t in totals:
    ratio = t["with_total_tps"] / t["without_total_tps"] if t["without_total_tps"] else 0
    lines.append(f"| {t['filter']} | {fmt(t['with_total_tps'])} | {fmt(t['without_total_tps'])} | {ratio:.2f} |")
bc = doc["bulk_insert_50k_ms"]
if bc["with_counters"] and bc["without_counters"]:
    lines += ["", f"Write side: inserting 50,000 attempts in one statement takes {bc['with_counters']:.0f} ms with the "
              f"counter triggers and {bc['without_counters']:.0f} ms without ({bc['with_counters'] / bc['without_counters']:.2f}x)."]
if writers:
    lines += ["", "## Single-row writers", "",
              f"{a.connections} pgbench clients, one-row INSERTs of pending attempts into the hot environment (1) or "
              "spread over 100 new ones, alternated in each round: with every trigger, without the counting trigger "
              "only (ALTER TABLE ... DISABLE TRIGGER delivery_attempts_count_insert: the live tail's trigger still "
              "runs), and with no trigger at all (session_replication_role = replica). ratio = with / without "
              "counters of the same round.", "",
              "| environments | round | with counters (tps) | without counters (tps) | ratio | no triggers (tps) |",
              "|---:|---:|---:|---:|---:|---:|"]
    for w in writers:
        ratio = w["with_counters_tps"] / w["without_counters_tps"] if w["without_counters_tps"] else 0
        lines.append(f"| {w['environments']} | {w['round']} | {fmt(w['with_counters_tps'])} | "
                     f"{fmt(w['without_counters_tps'])} | {ratio:.2f} | {fmt(w.get('no_triggers_tps', 0))} |")
    for envs in sorted({w["environments"] for w in writers}):
        ratios = sorted(w["with_counters_tps"] / w["without_counters_tps"] for w in writers
                        if w["environments"] == envs and w["without_counters_tps"])
        if ratios:
            lines.append(f"\n{envs} environment(s): ratio median {statistics.median(ratios):.2f} "
                         f"(range {ratios[0]:.2f}-{ratios[-1]:.2f}, {len(ratios)} rounds).")
mixed = next((s for s in scenarios if s["scenario"] == "mixed_first_page"), None)
if mixed:
    lines += ["", f"Mixed load: the first page at {fmt(mixed['rps'])} req/s (p99 {fmt(mixed['latency_ms']['p99'])} ms) "
              f"while {a.connections} writers inserted and settled attempts in the same environment at "
              f"{fmt(mixed_writer_tps)} tps" + (f"; alone: {fmt(first['rps'])} req/s (p99 {fmt(first['latency_ms']['p99'])} ms)." if first else ".")]
open(os.path.join(a.out, "report.md"), "w").write("\n".join(lines) + "\n")

# chart.svg: latency percentiles per scenario (left), throughput by concurrency (right).
W, H = 1200, 580
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       '<text x="20" y="24" font-size="15" font-weight="bold">hookstream bench: latency by scenario (ms, log scale)</text>']
main = [s for s in scenarios if not s["scenario"].startswith("concurrency_")]
import math
maxv = max([s["latency_ms"]["p999"] for s in main] + [1])
x0, y0, ph, pw = 60, 460, 400, 700
def ly(v):
    v = max(v, 0.01)
    return y0 - ph * (math.log10(v) - math.log10(0.01)) / (math.log10(maxv * 1.5) - math.log10(0.01))
for tick in [0.01, 0.1, 1, 10, 100, 1000]:
    if tick <= maxv * 1.5:
        svg.append(f'<line x1="{x0}" x2="{x0 + pw}" y1="{ly(tick):.1f}" y2="{ly(tick):.1f}" stroke="#ddd"/>'
                   f'<text x="{x0 - 6}" y="{ly(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>')
colors = {"p50": "#4c78a8", "p99": "#f58518", "p999": "#e45756"}
bw = pw / max(len(main), 1)
for i, s in enumerate(main):
    for j, (k, c) in enumerate(colors.items()):
        v = s["latency_ms"][k]
        x = x0 + i * bw + 2 + j * (bw - 4) / 3
        svg.append(f'<rect x="{x:.1f}" y="{ly(v):.1f}" width="{(bw - 4) / 3:.1f}" height="{y0 - ly(v):.1f}" fill="{c}"/>')
    svg.append(f'<text transform="translate({x0 + i * bw + bw / 2:.1f},{y0 + 8}) rotate(45)" font-size="9">{s["scenario"]}</text>')
for j, (k, c) in enumerate(colors.items()):
    svg.append(f'<rect x="{x0 + 10 + j * 70}" y="40" width="10" height="10" fill="{c}"/><text x="{x0 + 24 + j * 70}" y="49">{k}</text>')
conc = sorted([s for s in scenarios if s["scenario"].startswith("concurrency_")], key=lambda s: s["connections"])
cx0, cw = 840, 320
svg.append(f'<text x="{cx0}" y="24" font-size="15" font-weight="bold">throughput by concurrency (req/s)</text>')
if conc:
    maxr = max(s["rps"] for s in conc + [dict(rps=s.get("ceiling_rps") or 0) for s in conc]) * 1.15 or 1
    def ry(v): return y0 - ph * v / maxr
    def rx(i): return cx0 + 20 + i * (cw - 40) / max(len(conc) - 1, 1)
    for frac in [0, 0.25, 0.5, 0.75, 1]:
        v = maxr * frac
        svg.append(f'<line x1="{cx0}" x2="{cx0 + cw}" y1="{ry(v):.1f}" y2="{ry(v):.1f}" stroke="#ddd"/>'
                   f'<text x="{cx0 - 4}" y="{ry(v) + 4:.1f}" text-anchor="end">{v:,.0f}</text>')
    pts = " ".join(f"{rx(i):.1f},{ry(s['rps']):.1f}" for i, s in enumerate(conc))
    svg.append(f'<polyline points="{pts}" fill="none" stroke="#4c78a8" stroke-width="2"/>')
    if all(s.get("ceiling_rps") for s in conc):
        pts = " ".join(f"{rx(i):.1f},{ry(s['ceiling_rps']):.1f}" for i, s in enumerate(conc))
        svg.append(f'<polyline points="{pts}" fill="none" stroke="#999" stroke-dasharray="4 3" stroke-width="2"/>')
    for i, s in enumerate(conc):
        svg.append(f'<circle cx="{rx(i):.1f}" cy="{ry(s["rps"]):.1f}" r="3" fill="#4c78a8"/>'
                   f'<text x="{rx(i):.1f}" y="{y0 + 16}" text-anchor="middle">{s["connections"]}</text>')
    svg.append(f'<text x="{cx0 + 10}" y="49" fill="#4c78a8">server</text><text x="{cx0 + 70}" y="49" fill="#999">pgbench ceiling</text>')
    svg.append(f'<text x="{cx0 + cw / 2}" y="{y0 + 34}" text-anchor="middle">connections</text>')
svg.append("</svg>")
open(os.path.join(a.out, "chart.svg"), "w").write("\n".join(svg))
print(open(os.path.join(a.out, "report.md")).read())
