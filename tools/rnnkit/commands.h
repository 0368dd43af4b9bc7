// The rnnkit subcommands: each adds itself to the application and runs from its callback.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace rnnkit::cli {

void add_init_command(CLI::App& app);
void add_inspect_command(CLI::App& app);
void add_forward_command(CLI::App& app);
void add_import_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_evaluate_command(CLI::App& app);
void add_sample_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_probe_command(CLI::App& app);

// Thrown by a command to end with a status other than 0 after it has said why (e.g. 130
// after Ctrl-C stopped a training run and its checkpoint was saved).
struct ExitStatus {
  int code;
};

// Adds --threads N to a compute command; the value is applied before the command runs.
void add_threads_option(CLI::App& command, int& threads);
// Refuses nan, inf and anything else that is not a finite number ("--forget-bias nan" would
// write NaN weights).
extern const CLI::Validator kFiniteNumber;
void apply_threads(int threads);

// A number in `digits` significant digits (printf's %g), for tables.
std::string significant(double value, int digits);

}  // namespace rnnkit::cli
