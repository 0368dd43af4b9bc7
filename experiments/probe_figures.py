#!/usr/bin/env python3
"""Figures and a table from probe.sh's pages: for each OUT/CELL/probe.json, the gradient norm
against distance (median over seeds) as OUT/gradient-flow-CELL.svg, and OUT/probe.md, a
table per cell and initializer set: |dL/dh| at distances 10, 50 and T, the decay per step,
the step Jacobian's norm (geometric mean over steps), the largest saturated fraction at step
T and the recurrent blocks' sigma max and min (medians over seeds). Standard library only.
|dL/dh| is probe's state_space_norm_by_distance (all layers' h blocks of the state-space
gradient); for the experiments' one-layer models it is also the total derivative.
"""
import json
import math
import os
import statistics
import sys

from svgplot import line_plot


def median(values):
    v = [x for x in values if x is not None and math.isfinite(x)]
    return statistics.median(v) if v else None


def fmt(v):
    return "-" if v is None else f"{v:.3g}"


def main():
    out = sys.argv[1]
    lines = ["| cell | init set | \\|dL/dh\\| d=10 | d=50 | d=T | decay/step | \\|J\\| geo-mean | most saturated at T | "
             "W_hh sigma max / min |", "|---" * 9 + "|"]
    for cell in ("rnn_tanh", "rnn_relu", "lstm", "gru"):
        path = os.path.join(out, cell, "probe.json")
        if not os.path.exists(path):
            continue
        data = json.load(open(path))
        steps = data["steps"]
        series = []
        for s in data["sets"]:
            seeds = s["seeds"]
            curve = [median([x["state_space_norm_by_distance"][d] for x in seeds]) for d in range(steps + 1)]
            series.append((s["init"], list(range(steps + 1)), curve))
            at = lambda d: median([x["state_space_norm_by_distance"][d] for x in seeds])
            decay = median([x["state_space_decay_per_step"] for x in seeds])
            geo = median([math.exp(statistics.fmean(math.log(statistics.median(j)) for j in x["jacobian_norm_by_step"]))
                          for x in seeds])
            last = [layer["saturation"] for layer in seeds[0]["layers"]][-1]
            worst = max(((g["name"], median([x["layers"][-1]["saturation"][k]["fraction"][-1] for x in seeds]))
                         for k, g in enumerate(last)), key=lambda p: p[1])
            blocks = seeds[0]["spectra"]
            sig_max = max(median([x["spectra"][k]["sigma_max"] for x in seeds]) for k in range(len(blocks)))
            sig_min = min(median([x["spectra"][k]["sigma_min"] for x in seeds]) for k in range(len(blocks)))
            lines.append(f"| {cell} | `{s['init']}` | {fmt(at(10))} | {fmt(at(50))} | {fmt(at(steps))} | {fmt(decay)} | "
                         f"{fmt(geo)} | {worst[0]} {100 * worst[1]:.0f}% | {fmt(sig_max)} / {fmt(sig_min)} |")
        with open(os.path.join(out, f"gradient-flow-{cell}.svg"), "w") as f:
            f.write(line_plot(series, "distance d (steps back from the loss at T)", "|dL/dh_{T-d}| (median over seeds)",
                              steps))
    with open(os.path.join(out, "probe.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
