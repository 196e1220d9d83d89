#include "core/temporary_files.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>

namespace scn {

namespace {

constexpr int kSlots = 64;
constexpr size_t kPathBytes = 4096;

// A slot is free (0), being filled or emptied (1), or holds a path the handler may remove (2).
std::atomic<int> slot_state[kSlots];
char slot_path[kSlots][kPathBytes];

void say(const char* text) { (void)!::write(2, text, std::strlen(text)); }

std::atomic<int> defer_depth{0}, pending_signal{0};

void on_signal(int sig) {
  if (defer_depth.load() > 0) {
    pending_signal.store(sig);
    return;
  }
  const int removed = remove_temporary_files(true);
  say(sig == SIGINT ? "scn: interrupted (SIGINT)" : sig == SIGTERM ? "scn: terminated (SIGTERM)" : "scn: stopped by a signal");
  say(removed ? "; the files it was writing are left as they were\n" : "\n");
  ::_exit(128 + sig);
}

}  // namespace

TemporaryFile::TemporaryFile(const std::string& path) {
  if (path.size() >= kPathBytes) return;
  for (int i = 0; i < kSlots; ++i) {
    int expected = 0;
    if (!slot_state[i].compare_exchange_strong(expected, 1)) continue;
    std::memcpy(slot_path[i], path.c_str(), path.size() + 1);
    slot_state[i].store(2);
    slot_ = i;
    return;
  }
}

TemporaryFile::~TemporaryFile() { release(); }

void TemporaryFile::release() {
  if (slot_ < 0) return;
  int expected = 2;
  // The handler may have taken the slot; it exits the process, so nothing is left to do either way.
  if (slot_state[slot_].compare_exchange_strong(expected, 1)) slot_state[slot_].store(0);
  slot_ = -1;
}

int remove_temporary_files(bool tell) {
  int removed = 0;
  for (int i = 0; i < kSlots; ++i) {
    int expected = 2;
    if (!slot_state[i].compare_exchange_strong(expected, 1)) continue;
    if (::unlink(slot_path[i]) == 0) {
      ++removed;
      if (tell) {
        say("scn: removed the unfinished temporary file ");
        say(slot_path[i]);
        say("\n");
      }
    }
    slot_state[i].store(0);
  }
  return removed;
}

DeferSignals::DeferSignals() { defer_depth.fetch_add(1); }

DeferSignals::~DeferSignals() {
  if (defer_depth.fetch_sub(1) == 1)
    if (const int sig = pending_signal.exchange(0)) on_signal(sig);
}

void install_signal_cleanup() {
  std::signal(SIGXFSZ, SIG_IGN);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  // A SIGINT ignored when scn started (a background job of a script, nohup-like wrappers) stays ignored: the
  // terminal's Ctrl-C is for the foreground job.
  struct sigaction old {};
  if (sigaction(SIGINT, nullptr, &old) == 0 && old.sa_handler != SIG_IGN) sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

}  // namespace scn
