// SIGINT (Ctrl-C) and SIGTERM (what schedulers and `kill` send) both ask the training loop to stop after its
// current step and save; a second signal exits at once without saving.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>

#include "core/temporary_files.h"
#include "models/trainer.h"

namespace scn {

namespace {
std::atomic<int> interrupts{0};
std::atomic<int> first_signal{0};

void on_signal(int sig) {
  int none = 0;
  first_signal.compare_exchange_strong(none, sig);
  if (interrupts.fetch_add(1) >= 1) {
    const char msg[] = "\nscn: interrupted again, exiting without saving\n";
    (void)!write(2, msg, sizeof msg - 1);
    remove_temporary_files(true);  // a checkpoint being written: the previous one stays, its temporary goes
    std::_Exit(128 + sig);
  }
}
}  // namespace

void install_interrupt_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void request_interrupt() { interrupts.fetch_add(1); }
bool interrupt_requested() { return interrupts.load() > 0; }
int interrupt_signal() { return first_signal.load() ? first_signal.load() : SIGINT; }
void clear_interrupt() {
  interrupts.store(0);
  first_signal.store(0);
}

}  // namespace scn
