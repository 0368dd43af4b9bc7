// SIGINT taken by a watcher thread; see interrupts.h.
#include "interrupts.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <thread>

namespace rnnkit::cli {
namespace {

std::atomic<bool> g_deferring{false};
std::atomic<bool> g_requested{false};

// Async-signal-safe: atomics, signal, pthread_sigmask and raise only.
void take_interrupt(int signal_number) {
  if (g_deferring.load() && !g_requested.exchange(true)) return;
  ::signal(signal_number, SIG_DFL);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, signal_number);
  pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  ::raise(signal_number);  // the default action: the process ends by the signal
}

extern "C" void on_interrupt_in_another_thread(int signal_number) { take_interrupt(signal_number); }

}  // namespace

void start_interrupt_watcher() {
  sigset_t interrupts;
  sigemptyset(&interrupts);
  sigaddset(&interrupts, SIGINT);
  pthread_sigmask(SIG_BLOCK, &interrupts, nullptr);
  struct sigaction action {};
  action.sa_handler = on_interrupt_in_another_thread;
  action.sa_flags = SA_RESTART;
  sigfillset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  std::thread([interrupts] {
    while (true) {
      int signal_number = 0;
      if (sigwait(&interrupts, &signal_number) == 0) take_interrupt(signal_number);
    }
  }).detach();
}

void defer_interrupts() {
  g_requested.store(false);
  g_deferring.store(true);
}

void end_deferring_interrupts() { g_deferring.store(false); }

bool interrupt_requested() { return g_requested.load(); }

}  // namespace rnnkit::cli
