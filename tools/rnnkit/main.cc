// rnnkit: one binary with subcommands. Turns library errors into messages and exit codes:
//   0 success, 1 an error in the input or the work (message on stderr), 2 a usage error.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <new>

#include "commands.h"
#include "interrupts.h"
#include "rnnkit/core/error.h"
#include "rnnkit/core/threads.h"
#include "rnnkit/core/version.h"

namespace rnnkit::cli {

void add_threads_option(CLI::App& command, int& threads) {
  command.add_option("--threads", threads, "Threads to compute with (default: OMP_NUM_THREADS, else all cores)")
      ->check(CLI::Range(1, 4096));
}

const CLI::Validator kFiniteNumber(
    [](const std::string& text) -> std::string {
      double value = 0.0;
      if (!CLI::detail::lexical_cast(text, value)) return "'" + text + "' is not a number";
      if (!std::isfinite(value)) return "'" + text + "' is not a finite number";
      return "";
    },
    "FINITE");

void apply_threads(int threads) {
  const int requested = threads > 0 ? threads : default_threads();
  const int used = set_threads(requested);
  if (used < requested) {
    std::cerr << "note: " << (threads > 0 ? "--threads " : "OMP_NUM_THREADS=") << requested << " is more than the "
              << used << " CPU(s) this process may use; computing with " << used << " threads\n";
  }
}

std::string significant(double value, int digits) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%.*g", digits, value);
  return buffer;
}

}  // namespace rnnkit::cli

int main(int argc, char** argv) {
  rnnkit::cli::start_interrupt_watcher();  // before any thread starts: see interrupts.h
  CLI::App app{"rnnkit: recurrent networks whose every weight is named, initialized on purpose, inspected and moved"};
  app.set_version_flag("--version", std::string("rnnkit ") + rnnkit::kVersion);
  app.require_subcommand(1);
  rnnkit::cli::add_init_command(app);
  rnnkit::cli::add_inspect_command(app);
  rnnkit::cli::add_forward_command(app);
  rnnkit::cli::add_import_command(app);
  rnnkit::cli::add_export_command(app);
  rnnkit::cli::add_train_command(app);
  rnnkit::cli::add_evaluate_command(app);
  rnnkit::cli::add_sample_command(app);
  rnnkit::cli::add_report_command(app);
  rnnkit::cli::add_probe_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const rnnkit::cli::ExitStatus& e) {
    return e.code;
  } catch (const rnnkit::Error& e) {
    std::cerr << "rnnkit: error: " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {  // an allocation the library does not name (those it names are Errors)
    std::cerr << "rnnkit: error: out of memory: the work needs more memory than this process may use (RAM, "
                 "ulimit -v or its cgroup); smaller sizes need less\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "rnnkit: internal error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
