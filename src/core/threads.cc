// Thread count: one number for rnnkit and its BLAS.
#include "rnnkit/core/threads.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>

#include "rnnkit/core/error.h"

#if RNNKIT_HAVE_OPENBLAS_THREADS
#include <cblas.h>
#endif

// oneDNN (float GEMMs) runs on the OpenMP runtime (GNU libgomp) and takes its thread
// count from it. Declared here rather than through <omp.h>, which only GCC ships: the
// clang build links the same libgomp that oneDNN does.
extern "C" void omp_set_num_threads(int n);

namespace rnnkit {
namespace {

std::atomic<int> g_threads{0};  // 0: not resolved yet
// OpenMP's thread count is per calling thread: what this thread last told it.
thread_local int t_openmp_threads = 0;

void apply_to_openmp(int n) {
  if (t_openmp_threads != n) {
    omp_set_num_threads(n);
    t_openmp_threads = n;
  }
}

void apply_to_blas(int n) {
#if RNNKIT_HAVE_OPENBLAS_THREADS
  openblas_set_num_threads(n);
#endif
  apply_to_openmp(n);
}

}  // namespace

int default_threads() {
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n > 0 && n <= 4096) return static_cast<int>(n);
  }
  return available_cpus();
}

int available_cpus() {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(0, sizeof mask, &mask) == 0 && CPU_COUNT(&mask) > 0) return CPU_COUNT(&mask);
  const unsigned cores = std::thread::hardware_concurrency();
  return cores > 0 ? static_cast<int>(cores) : 1;
}

int set_threads(int n) {
  if (n < 1) throw Error("set_threads: thread count must be at least 1, got " + std::to_string(n));
  n = std::min(n, available_cpus());
  g_threads.store(n);
  apply_to_blas(n);
  return n;
}

int get_threads() {
  int n = g_threads.load();
  if (n == 0) {
    n = default_threads();
    set_threads(n);
  }
  apply_to_openmp(n);  // a thread computing for the first time follows the global count
  return n;
}

}  // namespace rnnkit
