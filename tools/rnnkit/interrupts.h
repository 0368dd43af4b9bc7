// Ctrl-C for the rnnkit command, taken by one thread that does nothing else.
//
// A signal handler runs on whichever thread the kernel picks, on that thread's stack, in the
// middle of whatever it computes; while rnnkit train was in oneDNN's or OpenBLAS's GEMM, a
// handler frame landing there corrupted the heap now and then. So SIGINT is blocked in the
// main thread before anything else happens, and every thread created later (OpenMP's, MPI's,
// oneDNN's) inherits the block; one watcher thread takes it with sigwait. The only threads
// that can still receive it are those libraries start before main (OpenBLAS's idle server
// threads); for them the same action runs as a handler, which only stores a flag.
//
// What a SIGINT does:
//   by default          ends the process as the signal does (exit by SIGINT);
//   while deferred      the first sets interrupt_requested() (train checkpoints after the
//                       current step and exits 130); a second ends the process at once.
#pragma once

namespace rnnkit::cli {

// First thing in main, before any thread is started.
void start_interrupt_watcher();
// The first SIGINT from now on only requests a stop.
void defer_interrupts();
// Back to the default: a SIGINT ends the process.
void end_deferring_interrupts();
bool interrupt_requested();

}  // namespace rnnkit::cli
