// The probe report page's body and drawing script (analysis/probe_report.h), on the shared
// page frame and plotting helpers (html_plots.h).
#pragma once

#include <string_view>

namespace rnnkit {

inline constexpr std::string_view kProbeBody =
    R"html(<h1>rnnkit probe: gradient flow, step Jacobians, saturation and spectra</h1>
<p id="summary"></p>
<h2>Gradient flow and the step Jacobian</h2>
<div class="grid" id="flow"></div>
<h2>Forward health (last layer)</h2>
<div class="grid" id="health"></div>
<h2>Summary (median over seeds)</h2>
<div id="table"></div>
<div id="layers"></div>
<h2>Recurrent matrix spectra (median over seeds)</h2>
<div id="spectra"></div>
)html";

inline constexpr std::string_view kProbeScript = R"js(
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];
const sets = data.sets;
const T = data.steps;
const range = (a, b) => Array.from({length: b - a + 1}, (_, i) => a + i);
// Median over seeds at each index, with the min and max dotted when there are several seeds.
function bandSeries(x, perSeed, color, label) {
  const at = i => perSeed.map(a => a[i]).filter(Number.isFinite);
  const out = [{x, y: x.map((_, i) => median(at(i))), color, label}];
  if (perSeed.length > 1) {
    out.push({x, y: x.map((_, i) => Math.min(...at(i))), color, dash: "2 2"});
    out.push({x, y: x.map((_, i) => Math.max(...at(i))), color, dash: "2 2"});
  }
  return out;
}
function chart(parent, caption, x, pick, options) {
  const series = sets.flatMap((set, k) => bandSeries(x, set.seeds.map(pick), COLORS[k % COLORS.length], set.init));
  lineChart(parent, caption, series, options);
}
const m = data.model;
const lastLayer = m.num_layers - 1;
document.getElementById("summary").textContent =
    `${m.cell}, input ${m.input_size}, hidden ${m.hidden_size}, ${m.num_layers} layer(s); ` +
    `T = ${T} steps of N(0, 1) inputs, B = ${data.batch} sequences, ${sets[0].seeds.length} seed(s) per set. ` +
    `Loss: ${data.loss}. Solid: median over seeds; dotted: min and max.`;
const flow = document.getElementById("flow");
const stacked = m.num_layers > 1;
chart(flow, stacked ? "state-space ‖∂L/∂s_{T−d}‖ (h blocks of all layers, each layer's state held as an independent " +
                      "variable) against distance d (log scale)"
                    : "‖∂L/∂h_{T−d}‖ against distance d (one layer: the state-space gradient and the total derivative " +
                      "are the same; log scale)",
      range(0, T), s => s.state_space_norm_by_distance, {logY: true, xlabel: "distance d"});
if (stacked) {
  for (let k = 0; k < m.num_layers; ++k) {
    chart(flow, `total derivative ‖dL/dh_{T−d}‖ of layer l${k} (through the layers above at step T−d too) ` +
                "against distance d (log scale)",
          range(0, T), s => s.total_derivative_norm_by_distance[k], {logY: true, xlabel: "distance d"});
  }
}
chart(flow, `‖∂s_t/∂s_{t−1}‖₂ along the sequence (median of ${data.jacobian_sequences} sequences; log scale)`,
      range(1, T), s => s.jacobian_norm_by_step.map(median), {logY: true, hline: {y: 1, label: "1"}});
const health = document.getElementById("health");
chart(health, "state std per step", range(1, T), s => s.layers[lastLayer].state_std);
chart(health, "state mean per step", range(1, T), s => s.layers[lastLayer].state_mean);
const saturation = sets[0].seeds[0].layers[lastLayer].saturation;
saturation.forEach((g, k) => chart(health, `saturated fraction: ${g.name} (${g.rule})`, range(1, T),
                                   s => s.layers[lastLayer].saturation[k].fraction));
const distances = [...new Set([1, 10, Math.floor(T / 4), Math.floor(T / 2), T])].filter(d => d >= 1 && d <= T);
const geoMean = v => Math.exp(v.reduce((a, x) => a + Math.log(x), 0) / v.length);
const gradientName = stacked ? "‖∂L/∂s‖ (h blocks)" : "‖∂L/∂h‖";
const rows = [["init set", ...distances.map(d => `${gradientName} d=${d}`), "decay/step", "‖J‖ geo-mean", "state std at T"]];
for (const set of sets) {
  const med = f => fmt(median(set.seeds.map(f)));
  rows.push([set.init, ...distances.map(d => med(s => s.state_space_norm_by_distance[d])), med(s => s.state_space_decay_per_step),
             med(s => geoMean(s.jacobian_norm_by_step.map(median))), med(s => s.layers[lastLayer].state_std[T - 1])]);
}
document.getElementById("table").innerHTML = htmlTable(rows);
if (stacked) {  // both derivatives per layer: the state-space block and the total derivative
  const layerDistances = [0, ...distances];
  const layerRows = [["init set", "layer", "derivative", ...layerDistances.map(d => `d=${d}`), "decay/step"]];
  for (const set of sets) {
    const med = f => fmt(median(set.seeds.map(f)));
    for (let k = 0; k < m.num_layers; ++k) {
      layerRows.push([set.init, `l${k}`, "state-space ∂L/∂h (layers above held)",
                      ...layerDistances.map(d => med(s => s.state_space_layer_norm_by_distance[k][d])),
                      med(s => s.state_space_layer_decay_per_step[k])]);
      layerRows.push([set.init, `l${k}`, "total dL/dh",
                      ...layerDistances.map(d => med(s => s.total_derivative_norm_by_distance[k][d])),
                      med(s => s.total_derivative_decay_per_step[k])]);
    }
  }
  document.getElementById("layers").innerHTML =
      "<h3>Per layer: the state-space block ∂L/∂h_{T−d} (the layers above held fixed at T−d) and the total " +
      "derivative dL/dh_{T−d} (through the layers above at step T−d too)</h3>" + htmlTable(layerRows);
}
const spectra = [["init set", "layer", "gate block", "σmax", "σmin"]];
for (const set of sets) {
  set.seeds[0].spectra.forEach((b, k) => spectra.push([
      set.init, b.layer + (b.direction ? " bw" : ""), b.gate,
      fmt(median(set.seeds.map(s => s.spectra[k].sigma_max))), fmt(median(set.seeds.map(s => s.spectra[k].sigma_min)))]));
}
document.getElementById("spectra").innerHTML = htmlTable(spectra);
document.body.dataset.rendered = String(plots);
)js";

}  // namespace rnnkit
