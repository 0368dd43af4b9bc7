// What rnnkit's self-contained HTML pages share (the training report, the probe report):
// the page frame, a style, and a small SVG plotting script. No network, no external files:
// the data travels as JSON inside the page and the script draws it.
//
// Script helpers (plain JavaScript, no libraries):
//   data                        the page's JSON
//   el(name, attrs, parent)     an SVG element;  text(svg, x, y, s, anchor)
//   fmt(v)                      a number in 4 significant digits (exponent when tiny or huge)
//   median(values)              of the finite values; null when there are none
//   figure(parent, caption)     a <figure> with its caption
//   lineChart(parent, caption, series, {hline, logY, xlabel})
//       series: [{x: [...], y: [...], color, label, dash}]; hline: {y, label}
//   htmlTable(rows)             rows of cells, the first row the header, as an HTML string
// Each chart drawn increments `plots`; the page script ends with
// document.body.dataset.rendered = String(plots), which the tests check in headless Chromium.
#pragma once

#include <string>
#include <string_view>

namespace rnnkit {

inline constexpr std::string_view kPlotStyle = R"css(
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1200px; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
.grid { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; } figcaption { font-size: 12px; color: #555; }
table { border-collapse: collapse; font-size: 12px; }
td, th { padding: 2px 8px; text-align: right; border-bottom: 1px solid #eee; }
td:first-child, th:first-child { text-align: left; }
.legend span { margin-right: 12px; }
pre { background: #f6f6f6; padding: 8px; font-size: 12px; }
)css";

inline constexpr std::string_view kPlotScript = R"js(
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
  if (v === null || v === undefined) return "-";
  if (!isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : Number(v.toPrecision(4)).toString();
}
function median(values) {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
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
function lineChart(parent, caption, series, options) {
  const {hline, logY, xlabel} = options || {};
  const W = 380, H = 220, L = 52, R = 10, T = 10, B = 28;
  const f = figure(parent, caption);
  const svg = el("svg", {width: W, height: H, class: "plot"}, f);
  const floor = 1e-300;
  const tr = v => logY ? Math.log10(Math.max(v, floor)) : v;
  let xs = [], ys = [];
  for (const s of series) {
    xs = xs.concat(s.x);
    ys = ys.concat(s.y.filter(v => Number.isFinite(v) && (!logY || v > 0)).map(tr));
  }
  if (hline) ys.push(tr(hline.y));
  if (!ys.length) ys = [0, 1];
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  let y0 = Math.min(...ys), y1 = Math.max(...ys);
  if (y1 === y0) { const pad = Math.abs(y0) > 0 ? Math.abs(y0) * 0.5 : 1; y1 += pad; y0 -= pad; }
  const px = x => L + (x - x0) / (x1 - x0) * (W - L - R);
  const py = y => T + (1 - (Math.min(Math.max(tr(y), y0), y1) - y0) / (y1 - y0)) * (H - T - B);
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
  text(svg, W - R, H - 2, xlabel || "step", "end");
  if (hline) {
    el("line", {x1: L, x2: W - R, y1: py(hline.y), y2: py(hline.y), stroke: "#888", "stroke-dasharray": "4 3"}, svg);
    text(svg, W - R - 2, py(hline.y) - 3, hline.label, "end");
  }
  for (const s of series) {
    const points = s.x.map((x, i) => [x, s.y[i]]).filter(([, y]) => Number.isFinite(y) && (!logY || y > 0));
    if (!points.length) continue;
    const d = points.map(([x, y], i) => (i ? "L" : "M") + px(x).toFixed(1) + " " + py(y).toFixed(1)).join("");
    const attrs = {d, fill: "none", stroke: s.color, "stroke-width": s.dash ? 0.8 : 1.4, class: "series"};
    if (s.dash) attrs["stroke-dasharray"] = s.dash;
    el("path", attrs, svg);
  }
  const legend = document.createElement("div");
  legend.className = "legend";
  const labelled = series.filter(s => s.label);
  legend.innerHTML = labelled.map(s => `<span style="color:${s.color}">&#9644; </span>`).join("");
  labelled.forEach((s, i) => legend.children[i].append(s.label));
  f.appendChild(legend);
  ++plots;
}
function htmlTable(rows) {
  const esc = s => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;");
  return "<table>" + rows.map((r, i) => "<tr>" + r.map(c => i ? `<td>${esc(c)}</td>` : `<th>${esc(c)}</th>`).join("") +
                              "</tr>").join("") + "</table>";
}
)js";

// JSON inside <script>: "</" must not appear literally.
inline std::string script_safe(std::string text) {
  for (std::size_t at = text.find("</"); at != std::string::npos; at = text.find("</", at + 3))
    text.replace(at, 2, "<\\/");
  return text;
}

// A whole page: the title, the shared style and `style`, `body`, the data (JSON text) in
// <script id="data">, then the shared script and `script`.
inline std::string self_contained_page(std::string_view title, std::string_view style, std::string_view body,
                                       const std::string& data_json, std::string_view script) {
  std::string page = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>";
  page += title;
  page += "</title>\n<style>";
  page += kPlotStyle;
  page += style;
  page += "</style>\n</head>\n<body>\n";
  page += body;
  page += "\n<script id=\"data\" type=\"application/json\">";
  page += script_safe(data_json);
  page += "</script>\n<script>";
  page += kPlotScript;
  page += script;
  page += "</script>\n</body>\n</html>\n";
  return page;
}

}  // namespace rnnkit
