#!/usr/bin/env python3
"""Summarizes an experiment grid (grid.sh): a table, plots and facts.

Reads OUT/runs.tsv (name, model, T, seed) and each run's OUT/runs/NAME/metrics.jsonl.
Writes OUT/results.md (per model and T: the final held-out value, median [min, max] over
seeds; how many seeds solved the task, i.e. reached an evaluation below the threshold, and
the median step at which they did), OUT/results.json, and OUT/T{T}.svg (held-out value
against training step, median over seeds, log scale). With --expect-solved MODEL:T
(every seed solves) or --expect-unsolved MODEL:T (no seed does), exits 1 naming the
first fact that does not hold. Standard library only.
"""
import argparse
import json
import math
import os
import statistics
import sys

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
BASELINES = {"adding": 1.0 / 6.0, "copy_memory": None}


def read_runs(out):
    runs = []
    with open(os.path.join(out, "runs.tsv")) as f:
        for line in f:
            name, model, steps, seed = line.rstrip("\n").split("\t")
            evals = []
            with open(os.path.join(out, "runs", name, "metrics.jsonl")) as m:
                for record in m:
                    r = json.loads(record)
                    if r.get("kind") == "eval":
                        evals.append((r["step"], r["metric"]))
            if not evals:
                sys.exit(f"summarize: run {name} has no evaluation in its metrics.jsonl")
            runs.append({"name": name, "model": model, "T": int(steps), "seed": int(seed), "evals": evals})
    return runs


def summarize(runs, threshold):
    groups = {}
    for r in runs:
        groups.setdefault((r["model"], r["T"]), []).append(r)
    cells = {}
    for key, rs in groups.items():
        finals = [r["evals"][-1][1] for r in rs]
        solved_at = []
        for r in rs:
            hit = next((step for step, v in r["evals"] if v < threshold), None)
            if hit is not None:
                solved_at.append(hit)
        steps = sorted({s for r in rs for s, _ in r["evals"]})
        curve = [statistics.median([dict(r["evals"])[s] for r in rs if s in dict(r["evals"])]) for s in steps]
        cells[key] = {"final_median": statistics.median(finals), "final_min": min(finals), "final_max": max(finals),
                      "seeds": len(rs), "solved": len(solved_at),
                      "solved_step_median": statistics.median(solved_at) if solved_at else None,
                      "curve_steps": steps, "curve_median": curve}
    return cells


def fmt(v):
    return f"{v:.2g}" if v < 0.01 else f"{v:.3f}"


def table(cells, models, lengths, budget, metric):
    head = "| model | " + " | ".join(f"T = {t}: final {metric}, solved" for t in lengths) + " |"
    lines = [head, "|---" * (len(lengths) + 1) + "|"]
    for m in models:
        row = [m]
        for t in lengths:
            c = cells.get((m, t))
            if c is None:
                row.append("-")
                continue
            text = f"{fmt(c['final_median'])} [{fmt(c['final_min'])}, {fmt(c['final_max'])}], {c['solved']}/{c['seeds']}"
            if c["solved"]:
                text += f" at {int(c['solved_step_median'])}"
            row.append(text)
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def svg_plot(cells, models, t, baseline, threshold, budget, metric):
    W, H, L, R, T, B = 560, 330, 60, 170, 14, 40
    series = [(m, cells[(m, t)]) for m in models if (m, t) in cells]
    values = [v for _, c in series for v in c["curve_median"] if v > 0] + [threshold] + ([baseline] if baseline else [])
    y0, y1 = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    if y1 == y0:
        y1 += 1
    px = lambda s: L + s / budget * (W - L - R)
    py = lambda v: T + (1 - (math.log10(max(v, 10.0 ** y0)) - y0) / (y1 - y0)) * (H - T - B)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
           f'<rect x="{L}" y="{T}" width="{W - L - R}" height="{H - T - B}" fill="white" stroke="#ccc"/>']
    for e in range(y0, y1 + 1):
        out.append(f'<line x1="{L}" x2="{W - R}" y1="{py(10.0 ** e):.1f}" y2="{py(10.0 ** e):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{L - 4}" y="{py(10.0 ** e) + 4:.1f}" text-anchor="end">1e{e}</text>')
    for k in range(5):
        s = budget * k / 4
        out.append(f'<text x="{px(s):.1f}" y="{H - B + 15}" text-anchor="middle">{int(s)}</text>')
    out.append(f'<text x="{(L + W - R) / 2:.0f}" y="{H - 6}" text-anchor="middle">training step</text>')
    out.append(f'<text x="14" y="{(T + H - B) / 2:.0f}" transform="rotate(-90 14 {(T + H - B) / 2:.0f})" '
               f'text-anchor="middle">held-out {metric} (median over seeds)</text>')
    for value, label, dash in ((baseline, "baseline", "6 3"), (threshold, "solved", "2 3")):
        if value:
            out.append(f'<line x1="{L}" x2="{W - R}" y1="{py(value):.1f}" y2="{py(value):.1f}" stroke="#555" '
                       f'stroke-dasharray="{dash}"/>')
            out.append(f'<text x="{W - R - 4}" y="{py(value) - 3:.1f}" text-anchor="end" fill="#555">{label}</text>')
    for k, (m, c) in enumerate(series):
        color = COLORS[k % len(COLORS)]
        d = "".join(("M" if i == 0 else "L") + f"{px(s):.1f} {py(v):.1f}"
                    for i, (s, v) in enumerate(zip(c["curve_steps"], c["curve_median"])))
        out.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="1.6"/>')
        out.append(f'<text x="{W - R + 8}" y="{T + 14 + 16 * k}" fill="{color}">&#9644; {m}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--task", required=True, choices=sorted(BASELINES))
    p.add_argument("--threshold", type=float, required=True)
    p.add_argument("--budget", type=int, required=True)
    p.add_argument("--expect-solved", action="append", default=[], metavar="MODEL:T")
    p.add_argument("--expect-unsolved", action="append", default=[], metavar="MODEL:T")
    a = p.parse_args()
    runs = read_runs(a.out)
    cells = summarize(runs, a.threshold)
    models = list(dict.fromkeys(r["model"] for r in runs))
    lengths = sorted({r["T"] for r in runs})
    metric = "MSE" if a.task == "adding" else "nats/step"
    baseline = BASELINES[a.task]
    text = table(cells, models, lengths, a.budget, metric)
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write(text)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump({f"{m}:T{t}": c for (m, t), c in cells.items()}, f, indent=1)
    for t in lengths:
        b = baseline if baseline else 10 * math.log(8) / t
        with open(os.path.join(a.out, f"T{t}.svg"), "w") as f:
            f.write(svg_plot(cells, models, t, b, a.threshold, a.budget, metric))
    print(text, end="")
    for facts, want in ((a.expect_solved, True), (a.expect_unsolved, False)):
        for fact in facts:
            model, t = fact.rsplit(":", 1)
            c = cells.get((model, int(t)))
            if c is None:
                sys.exit(f"fact {fact}: no runs of model {model} at T = {t}")
            ok = c["solved"] == c["seeds"] if want else c["solved"] == 0
            if not ok:
                sys.exit(f"fact {fact} does not hold: {c['solved']} of {c['seeds']} seeds reached {metric} < "
                         f"{a.threshold} within {a.budget} steps (expected {'all' if want else 'none'})")
            print(f"fact holds: {model} at T = {t} {'solved by every' if want else 'solved by no'} seed")


if __name__ == "__main__":
    main()
