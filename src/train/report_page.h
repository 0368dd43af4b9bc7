// The training report page's body, style and drawing script (train/report.h), on the
// shared page frame and plotting helpers (analysis/html_plots.h): line charts for the
// curves, overlaid step histograms (start, end) per variable.
#pragma once

#include <string_view>

namespace rnnkit {

inline constexpr std::string_view kReportStyle = R"css(
.var { border-top: 1px solid #ddd; padding-top: 8px; margin-top: 12px; }
.start { color: #1f77b4; } .end { color: #d62728; }
)css";

inline constexpr std::string_view kReportBody = R"html(<h1>rnnkit training report</h1>
<p id="summary"></p>
<h2>Curves</h2>
<div class="grid" id="curves"></div>
<h2>Variables: initialization (<span class="start">blue</span>) and end (<span class="end">red</span>)</h2>
<div id="variables"></div>
<h2>Configuration</h2>
<pre id="config"></pre>
)html";

inline constexpr std::string_view kReportScript = R"js(
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
          {hline: {y: data.baseline, label: "baseline"}});
lineChart(curves, "loss (training batches)", [{x: c.train.step, y: c.train.loss, color: "#1f77b4", label: "loss"}]);
lineChart(curves, "global gradient norm before clipping (log scale)",
          [{x: c.train.step, y: c.train.grad_norm, color: "#2ca02c", label: "|g|"}], {logY: true});
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
)js";

}  // namespace rnnkit
