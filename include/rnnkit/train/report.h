// A training run's report: one self-contained HTML page (no network, no external files)
// with the loss, task-metric, gradient-norm and learning-rate curves from metrics.jsonl,
// and, per variable, statistics at initialization (checkpoint step 0) and at the end (the
// latest checkpoint): mean, std, min, max, overlaid histograms, and the largest singular
// value of each matrix and each gate block of the recurrent matrices.
//
// The page carries its data as JSON and draws SVG with a small script; when done, the
// body gets data-rendered="N" (N plots drawn), which the test checks in headless Chromium.
#pragma once

#include <string>

namespace rnnkit {

// Throws Error naming the run directory and what it lacks (metrics, checkpoints).
std::string training_report_html(const std::string& run_dir);

}  // namespace rnnkit
