// rnnkit report RUN_DIR -o report.html: the run's curves and weight statistics as one
// self-contained page.
#include <iostream>

#include "commands.h"
#include "rnnkit/core/atomic_file.h"
#include "rnnkit/train/report.h"

namespace rnnkit::cli {

void add_report_command(CLI::App& app) {
  struct Args {
    std::string run_dir, output;
    int threads = 0;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("report", "Write a training run's report as one HTML page");
  cmd->add_option("run_dir", args->run_dir, "The run directory")->required();
  cmd->add_option("-o,--output", args->output, "The HTML file to write")->required();
  add_threads_option(*cmd, args->threads);
  cmd->callback([args] {
    apply_threads(args->threads);
    const std::string page = training_report_html(args->run_dir);
    write_file_atomically(args->output, {std::as_bytes(std::span<const char>(page.data(), page.size()))});
    std::cout << "wrote " << args->output << " (" << page.size() << " bytes)\n";
  });
}

}  // namespace rnnkit::cli
