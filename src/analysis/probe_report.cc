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
  s["norm_by_distance"] = numbers(r.gradient_flow.norm);
  s["decay_per_step"] = number(r.gradient_flow.decay_per_step);
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
  out["loss"] = "L = sum over the batch of <u_b, h_T[b]>, u_b unit vectors";
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
