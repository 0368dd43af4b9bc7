// The probe's results as JSON (every number) and as a self-contained HTML page.
//
// JSON: {"model": spec, "steps", "batch", "jacobian_sequences", "loss",
//        "sets": [{"init": label, "seeds": [{"seed", "norm_by_distance": [T+1],
//                  "decay_per_step", "jacobian_norm_by_step": [T][sequences],
//                  "layers": [{"state_mean": [T], "state_std": [T],
//                              "saturation": [{"name", "rule", "fraction": [T]}]}],
//                  "spectra": [{"layer", "direction", "gate", "sigma_max", "sigma_min"}]}]}]}
// Non-finite numbers (an exploding gradient) are written as null.
// The page draws, per initializer set, the median over seeds with the min and max dotted:
// gradient norm against distance (log), step-Jacobian norm along the sequence (log), the
// last layer's state mean and std, and each gate's saturated fraction; then tables of the
// gradient at chosen distances and of the recurrent spectra. When drawn, the body gets
// data-rendered="N" (N charts), which the tests check in headless Chromium.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rnnkit/analysis/probe.h"

namespace rnnkit {

// One initializer set (or model) probed over several seeds.
struct ProbeSeries {
  std::string label;
  std::vector<uint64_t> seeds;
  std::vector<ProbeResult> results;  // one per seed
};

std::string probe_report_json(const RecurrentSpec& spec, const ProbeOptions& options,
                              const std::vector<ProbeSeries>& series);

// The page for probe_report_json's text. Throws Error if it is not JSON.
std::string probe_report_html(const std::string& report_json);

}  // namespace rnnkit
