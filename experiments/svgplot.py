"""Line plots as standalone SVG files, for the experiments' figures in docs/ (no plotting
library needed: the standard library only)."""
import math

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def _ticks(lo, hi, n=4):
    return [lo + (hi - lo) * k / n for k in range(n + 1)]


def line_plot(series, xlabel, ylabel, x_max, log_y=True, hlines=(), width=700, height=330):
    """series: [(label, xs, ys)]; hlines: [(y, label)]. Returns the SVG text."""
    W, H, L, R, T, B = width, height, 64, 300, 14, 40
    ys_all = [y for _, _, ys in series for y in ys if y is not None and (y > 0 or not log_y)]
    ys_all += [y for y, _ in hlines]
    if log_y:
        y0 = math.floor(math.log10(min(ys_all)))
        y1 = math.ceil(math.log10(max(ys_all)))
        if y1 == y0:
            y1 += 1
        tr = lambda v: math.log10(max(v, 10.0 ** y0))
    else:
        y0, y1 = min(ys_all), max(ys_all)
        if y1 == y0:
            y1 = y0 + 1
        tr = lambda v: v
    px = lambda x: L + x / x_max * (W - L - R)
    py = lambda v: T + (1 - (min(max(tr(v), y0), y1) - y0) / (y1 - y0)) * (H - T - B)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
           f'<rect x="{L}" y="{T}" width="{W - L - R}" height="{H - T - B}" fill="white" stroke="#ccc"/>']
    if log_y:
        step = max(1, math.ceil((y1 - y0) / 8))
        levels = [(10.0 ** e, f"1e{e}") for e in range(y0, y1 + 1, step)]
    else:
        levels = [(v, f"{v:.3g}") for v in _ticks(y0, y1)]
    for v, label in levels:
        out.append(f'<line x1="{L}" x2="{W - R}" y1="{py(v):.1f}" y2="{py(v):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{L - 4}" y="{py(v) + 4:.1f}" text-anchor="end">{label}</text>')
    for x in _ticks(0, x_max):
        out.append(f'<text x="{px(x):.1f}" y="{H - B + 15}" text-anchor="middle">{int(round(x))}</text>')
    out.append(f'<text x="{(L + W - R) / 2:.0f}" y="{H - 6}" text-anchor="middle">{xlabel}</text>')
    mid = (T + H - B) / 2
    out.append(f'<text x="14" y="{mid:.0f}" transform="rotate(-90 14 {mid:.0f})" text-anchor="middle">{ylabel}</text>')
    for y, label in hlines:
        out.append(f'<line x1="{L}" x2="{W - R}" y1="{py(y):.1f}" y2="{py(y):.1f}" stroke="#555" stroke-dasharray="4 3"/>')
        out.append(f'<text x="{W - R - 4}" y="{py(y) - 3:.1f}" text-anchor="end" fill="#555">{label}</text>')
    for k, (label, xs, ys) in enumerate(series):
        color = COLORS[k % len(COLORS)]
        points = [(x, y) for x, y in zip(xs, ys) if y is not None and (y > 0 or not log_y)]
        d = "".join(("M" if i == 0 else "L") + f"{px(x):.1f} {py(y):.1f}" for i, (x, y) in enumerate(points))
        if d:
            out.append(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="1.6"/>')
        out.append(f'<text x="{W - R + 8}" y="{T + 14 + 16 * k}" fill="{color}">&#9644; {label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
