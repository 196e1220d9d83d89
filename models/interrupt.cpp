#include <csignal>
#include <cstdlib>
#include <unistd.h>

#include <atomic>

#include "models/trainer.h"

namespace scn {

namespace {
std::atomic<int> interrupts{0};

void on_sigint(int) {
  if (interrupts.fetch_add(1) >= 1) {
    const char msg[] = "\nscn: interrupted again, exiting without saving\n";
    (void)!write(2, msg, sizeof msg - 1);
    std::_Exit(130);
  }
}
}  // namespace

void install_interrupt_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
}

void request_interrupt() { interrupts.fetch_add(1); }
bool interrupt_requested() { return interrupts.load() > 0; }
void clear_interrupt() { interrupts.store(0); }

}  // namespace scn
