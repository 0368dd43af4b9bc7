// How many threads rnnkit computes with.
//
// Without a call to set_threads, rnnkit follows OMP_NUM_THREADS (a positive
// integer) and otherwise uses all cores. BLAS is set to the same count, so
// threads are never stacked (rnnkit's own loops and BLAS do not both fan out).
#pragma once

namespace rnnkit {

// Sets the thread count for rnnkit and its BLAS. Throws Error if n < 1.
void set_threads(int n);

// The thread count in force (resolving the default on first use).
int get_threads();

// The default: OMP_NUM_THREADS if it is a positive integer, else all cores.
int default_threads();

}  // namespace rnnkit
