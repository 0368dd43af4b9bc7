// How many threads rnnkit computes with.
//
// Without a call to set_threads, rnnkit follows OMP_NUM_THREADS (a positive
// integer) and otherwise uses all cores. BLAS is set to the same count, so
// threads are never stacked (rnnkit's own loops and BLAS do not both fan out).
#pragma once

namespace rnnkit {

// Sets the thread count for rnnkit and its BLAS, at most available_cpus() (more threads
// than CPUs only contend, and thousands exhaust the address space inside the BLAS); returns
// the count in force. Throws Error if n < 1.
int set_threads(int n);

// The CPUs this process may run on (its affinity mask; all cores if that is unknown).
int available_cpus();

// The thread count in force (resolving the default on first use).
int get_threads();

// The default: OMP_NUM_THREADS if it is a positive integer, else all cores (set_threads caps
// it at available_cpus()).
int default_threads();

}  // namespace rnnkit
