// The probe's report; see analysis/probe_report.h.
#include "rnnkit/analysis/probe_report.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "html_plots.h"
#include "probe_page.h"
#include "rnnkit/core/error.h"

namespace rnnkit {
namespace {

using Json = nlohmann::ordered_json;

// JSON has no infinity or NaN: they become null.
Json number(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

Json numbers(const std::vector<double>& values) {
  Json out = Json::array();
  for (const double v : values) out.push_back(number(v));
  return out;
}

Json seed_json(uint64_t seed, const ProbeResult& r) {
  Json s;
  s["seed"] = seed;
  const GradientFlow& flow = r.gradient_flow;
  s["state_space_norm_by_distance"] = numbers(flow.state_space_norm);
  s["state_space_decay_per_step"] = number(flow.state_space_decay_per_step);
  s["state_space_layer_norm_by_distance"] = Json::array();
  for (const std::vector<double>& layer : flow.state_space_layer_norm) {
    s["state_space_layer_norm_by_distance"].push_back(numbers(layer));
  }
  s["state_space_layer_decay_per_step"] = numbers(flow.state_space_layer_decay_per_step);
  s["total_derivative_norm_by_distance"] = Json::array();
  for (const std::vector<double>& layer : flow.total_norm)
    s["total_derivative_norm_by_distance"].push_back(numbers(layer));
  s["total_derivative_decay_per_step"] = numbers(flow.total_decay_per_step);
  s["jacobian_norm_by_step"] = Json::array();
  for (const std::vector<double>& step : r.jacobian_norms) s["jacobian_norm_by_step"].push_back(numbers(step));
  s["layers"] = Json::array();
  for (const LayerHealth& layer : r.health.layers) {
    Json l{{"state_mean", numbers(layer.state_mean)},
           {"state_std", numbers(layer.state_std)},
           {"saturation", Json::array()}};
    for (const Saturation& g : layer.saturation) {
      l["saturation"].push_back({{"name", g.name}, {"rule", g.rule}, {"fraction", numbers(g.fraction)}});
    }
    s["layers"].push_back(l);
  }
  s["spectra"] = Json::array();
  for (const BlockSpectrum& b : r.spectra) {
    s["spectra"].push_back({{"layer", b.layer},
                            {"direction", b.reverse ? 1 : 0},
                            {"gate", std::string(1, b.gate)},
                            {"sigma_max", number(b.sigma_max)},
                            {"sigma_min", number(b.sigma_min)}});
  }
  return s;
}

}  // namespace

std::string probe_report_json(const RecurrentSpec& spec, const ProbeOptions& options,
                              const std::vector<ProbeSeries>& series) {
  Json out;
  out["model"] = Json::parse(spec.to_json());
  out["steps"] = options.steps;
  out["batch"] = options.batch;
  out["jacobian_sequences"] = std::min(options.jacobian_sequences, options.batch);
  out["loss"] = "L = sum over the batch of <u_b, h^L_T[b]> (the last layer's state at step T), u_b unit vectors";
  out["gradient_norms"] = {
      {"state_space_norm_by_distance",
       "‖∂L/∂s_{T−d}‖ over the h blocks of all layers: the gradient with respect to the stacked state s_{T−d} = "
       "(h^1, c^1, ..., h^L, c^L), every component an independent variable (the step Jacobian's view)"},
      {"state_space_layer_norm_by_distance",
       "[k−1]: ‖∂L/∂h^k_{T−d}‖, layer k's h block of that gradient: h^{k+1..L}_{T−d} held fixed, so h^k's path "
       "through the upper layers within step T−d is left out"},
      {"total_derivative_norm_by_distance",
       "[k−1]: ‖dL/dh^k_{T−d}‖, the total derivative: h^k_{T−d} an intermediate whose change propagates through "
       "everything downstream, layers k+1..L at step T−d included (the same as the state-space block for k = L, "
       "and at d = T)"},
      {"norm", "Frobenius, over the batch"}};
  out["sets"] = Json::array();
  for (const ProbeSeries& s : series) {
    Json set{{"init", s.label}, {"seeds", Json::array()}};
    for (std::size_t k = 0; k < s.results.size(); ++k) set["seeds"].push_back(seed_json(s.seeds.at(k), s.results[k]));
    out["sets"].push_back(set);
  }
  return out.dump(1);
}

std::string probe_report_html(const std::string& report_json) {
  if (!Json::accept(report_json)) throw Error("probe report: the report data is not valid JSON");
  return self_contained_page("rnnkit probe", "", kProbeBody, report_json, kProbeScript);
}

}  // namespace rnnkit
