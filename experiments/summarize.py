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

from svgplot import line_plot

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
    series = [(m, cells[(m, t)]["curve_steps"], cells[(m, t)]["curve_median"]) for m in models if (m, t) in cells]
    return line_plot(series, "training step", f"held-out {metric} (median over seeds)", budget,
                     hlines=[(baseline, "baseline"), (threshold, "solved")])


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
