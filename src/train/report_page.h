// The report page's HTML, style and drawing script (train/report.h). The data replaces
// the /*DATA*/ marker. Plots are SVG built by the script: line charts with labelled axes
// for the curves, overlaid step histograms (start, end) per variable.
#pragma once

namespace rnnkit {

inline constexpr const char* kReportPage = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>rnnkit training report</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1200px; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
.grid { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; } figcaption { font-size: 12px; color: #555; }
table { border-collapse: collapse; font-size: 12px; }
td, th { padding: 2px 8px; text-align: right; border-bottom: 1px solid #eee; }
td:first-child, th:first-child { text-align: left; }
.var { border-top: 1px solid #ddd; padding-top: 8px; margin-top: 12px; }
.legend span { margin-right: 12px; } .start { color: #1f77b4; } .end { color: #d62728; }
pre { background: #f6f6f6; padding: 8px; font-size: 12px; }
</style>
</head>
<body>
<h1>rnnkit training report</h1>
<p id="summary"></p>
<h2>Curves</h2>
<div class="grid" id="curves"></div>
<h2>Variables: initialization (<span class="start">blue</span>) and end (<span class="end">red</span>)</h2>
<div id="variables"></div>
<h2>Configuration</h2>
<pre id="config"></pre>
<script id="data" type="application/json">/*DATA*/</script>
<script>
"use strict";
const data = JSON.parse(document.getElementById("data").textContent);
const NS = "http://www.w3.org/2000/svg";
let plots = 0;

function el(name, attrs, parent) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}
function fmt(v) {
  if (!isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : Number(v.toPrecision(4)).toString();
}
function text(parent, x, y, s, anchor) {
  const t = el("text", {x, y, "font-size": 10, "text-anchor": anchor || "start", fill: "#444"}, parent);
  t.textContent = s;
  return t;
}
function figure(parent, caption) {
  const f = document.createElement("figure");
  parent.appendChild(f);
  const c = document.createElement("figcaption");
  c.textContent = caption;
  f.appendChild(c);
  return f;
}
// series: [{x: [...], y: [...], color, label}], hline: optional {y, label}
function lineChart(parent, caption, series, hline, logY) {
  const W = 380, H = 220, L = 52, R = 10, T = 10, B = 28;
  const f = figure(parent, caption);
  const svg = el("svg", {width: W, height: H, class: "plot"}, f);
  const tr = v => logY ? Math.log10(Math.max(v, 1e-12)) : v;
  let xs = [], ys = [];
  for (const s of series) { xs = xs.concat(s.x); ys = ys.concat(s.y.map(tr)); }
  if (hline) ys.push(tr(hline.y));
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  let y0 = Math.min(...ys), y1 = Math.max(...ys);
  if (y1 === y0) { const pad = Math.abs(y0) > 0 ? Math.abs(y0) * 0.5 : 1; y1 += pad; y0 -= pad; }
  const px = x => L + (x - x0) / (x1 - x0) * (W - L - R);
  const py = y => T + (1 - (tr(y) - y0) / (y1 - y0)) * (H - T - B);
  el("rect", {x: L, y: T, width: W - L - R, height: H - T - B, fill: "none", stroke: "#ccc"}, svg);
  for (let i = 0; i <= 4; ++i) {
    const yv = y0 + (y1 - y0) * i / 4, y = T + (1 - i / 4) * (H - T - B);
    el("line", {x1: L, x2: W - R, y1: y, y2: y, stroke: "#eee"}, svg);
    text(svg, L - 4, y + 3, fmt(logY ? Math.pow(10, yv) : yv), "end");
  }
  for (let i = 0; i <= 4; ++i) {
    const xv = x0 + (x1 - x0) * i / 4;
    text(svg, px(xv), H - B + 14, fmt(Math.round(xv)), "middle");
  }
  text(svg, W - R, H - 2, "step", "end");
  if (hline) {
    el("line", {x1: L, x2: W - R, y1: py(hline.y), y2: py(hline.y), stroke: "#888", "stroke-dasharray": "4 3"}, svg);
    text(svg, W - R - 2, py(hline.y) - 3, hline.label, "end");
  }
  for (const s of series) {
    if (s.x.length === 0) continue;
    const d = s.x.map((x, i) => (i ? "L" : "M") + px(x).toFixed(1) + " " + py(s.y[i]).toFixed(1)).join("");
    el("path", {d, fill: "none", stroke: s.color, "stroke-width": 1.3, class: "series"}, svg);
  }
  const legend = document.createElement("div");
  legend.className = "legend";
  legend.innerHTML = series.map(s => `<span style="color:${s.color}">&#9644; ${s.label}</span>`).join("");
  f.appendChild(legend);
  ++plots;
}
function histogram(parent, caption, v) {
  const W = 300, H = 120, L = 8, R = 8, T = 6, B = 18;
  const f = figure(parent, caption);
  const svg = el("svg", {width: W, height: H, class: "plot"}, f);
  const hists = [v.start_hist, v.end_hist].filter(h => h);
  const top = Math.max(1, ...hists.flat());
  const n = v.end_hist.length;
  const bx = i => L + i / n * (W - L - R), by = c => T + (1 - c / top) * (H - T - B);
  const colors = v.start_hist ? ["#1f77b4", "#d62728"] : ["#d62728"];
  hists.forEach((h, k) => {
    let d = "M" + bx(0) + " " + by(0);
    h.forEach((c, i) => { d += "L" + bx(i).toFixed(1) + " " + by(c).toFixed(1) + "L" + bx(i + 1).toFixed(1) + " " + by(c).toFixed(1); });
    d += "L" + bx(n) + " " + by(0);
    el("path", {d, fill: "none", stroke: colors[k], "stroke-width": 1.2, class: "series"}, svg);
  });
  el("line", {x1: L, x2: W - R, y1: by(0), y2: by(0), stroke: "#999"}, svg);
  text(svg, L, H - 4, fmt(v.range[0]));
  text(svg, W - R, H - 4, fmt(v.range[1]), "end");
  ++plots;
}
function statsTable(v) {
  const rows = [["", "mean", "std", "min", "max", "σmax"]];
  const row = (label, s) => [label, s.mean, s.std, s.min, s.max, s.sigma_max].map((x, i) =>
      i === 0 ? x : (x === undefined ? "-" : fmt(x)));
  if (v.start) rows.push(row("start", v.start));
  rows.push(row("end", v.end));
  for (const g of v.gates) {
    if (g.start_sigma !== undefined || g.end_sigma !== undefined) {
      rows.push(["σmax [" + g.gate + "]", "", "", "", "", (g.start_sigma !== undefined ? fmt(g.start_sigma) + " → " : "") +
                 (g.end_sigma !== undefined ? fmt(g.end_sigma) : "-")]);
    }
  }
  return "<table>" + rows.map((r, i) => "<tr>" + r.map(c => i ? `<td>${c}</td>` : `<th>${c}</th>`).join("") + "</tr>").join("") + "</table>";
}

const c = data.curves;
const lastEval = c.eval.metric.length ? c.eval.metric[c.eval.metric.length - 1] : null;
document.getElementById("summary").textContent =
    `Run ${data.run}: task ${data.task}, ${data.final_step} steps. ` +
    (lastEval !== null ? `Last evaluation ${fmt(lastEval)} ${data.metric}; ` : "") +
    `baseline ${fmt(data.baseline)} ${data.metric}.`;
const curves = document.getElementById("curves");
lineChart(curves, `${data.metric}: training batches and held-out evaluations`,
          [{x: c.train.step, y: c.train.metric, color: "#1f77b4", label: "train"},
           {x: c.eval.step, y: c.eval.metric, color: "#d62728", label: "eval"}],
          {y: data.baseline, label: "baseline"});
lineChart(curves, "loss (training batches)", [{x: c.train.step, y: c.train.loss, color: "#1f77b4", label: "loss"}]);
lineChart(curves, "global gradient norm before clipping (log scale)",
          [{x: c.train.step, y: c.train.grad_norm, color: "#2ca02c", label: "|g|"}], null, true);
lineChart(curves, "learning rate", [{x: c.train.step, y: c.train.lr, color: "#9467bd", label: "lr"}]);
const vars = document.getElementById("variables");
for (const v of data.variables) {
  const box = document.createElement("div");
  box.className = "var";
  const head = document.createElement("div");
  head.innerHTML = `<b></b> [${v.shape.join(",")}] init <code></code>${v.frozen ? " · frozen" : ""}<br><small></small>`;
  head.querySelector("b").textContent = v.name;
  head.querySelector("code").textContent = v.init || "-";
  head.querySelector("small").textContent = v.source ? "value from " + v.source : "";
  box.appendChild(head);
  const grid = document.createElement("div");
  grid.className = "grid";
  histogram(grid, "histogram", v);
  const table = document.createElement("div");
  table.innerHTML = statsTable(v);
  grid.appendChild(table);
  box.appendChild(grid);
  vars.appendChild(box);
}
document.getElementById("config").textContent = data.config;
document.body.dataset.rendered = String(plots);
</script>
</body>
</html>
)html";

}  // namespace rnnkit
