// The probe's results as JSON (every number) and as a self-contained HTML page.
//
// JSON: {"model": spec, "steps", "batch", "jacobian_sequences", "loss", "gradient_norms": {name: meaning},
//        "sets": [{"init": label, "seeds": [{"seed",
//                  "state_space_norm_by_distance": [T+1], "state_space_decay_per_step",
//                  "state_space_layer_norm_by_distance": [L][T+1], "state_space_layer_decay_per_step": [L],
//                  "total_derivative_norm_by_distance": [L][T+1], "total_derivative_decay_per_step": [L],
//                  "jacobian_norm_by_step": [T][sequences],
//                  "layers": [{"state_mean": [T], "state_std": [T],
//                              "saturation": [{"name", "rule", "fraction": [T]}]}],
//                  "spectra": [{"layer", "direction", "gate", "sigma_max", "sigma_min"}]}]}]}
// The gradient norms are GradientFlow's (gradient_flow.h, which defines them): state_space_*
// the gradient with respect to the stacked state, every layer's state an independent variable
// (all layers' h blocks together, then each layer's block), total_derivative_* each layer's
// total derivative dL/dh^k_{T-d}; index [k-1] is layer k (variables l{k-1}), index d distance d.
// Non-finite numbers (an exploding gradient) are written as null.
// The page draws, per initializer set, the median over seeds with the min and max dotted:
// the state-space gradient norm against distance (log), for a stacked model also each layer's
// total derivative against distance (log), step-Jacobian norm along the sequence (log), the
// last layer's state mean and std, and each gate's saturated fraction; then tables of the
// gradient at chosen distances (for a stacked model both derivatives per layer) and of the
// recurrent spectra. When drawn, the body gets
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
