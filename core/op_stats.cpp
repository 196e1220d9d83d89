#include "core/op_stats.h"

#include <algorithm>
#include <mutex>
#include <vector>

#include "core/error.h"

namespace scn {

namespace {
struct Recording {
  std::mutex mutex;
  std::map<std::string, int64_t> counts;
  std::atomic<bool> active{false};
};
Recording& recording() {
  static Recording r;
  return r;
}
}  // namespace

OpStats& op_stats() {
  static OpStats stats;
  return stats;
}

void count_op(const char* name) {
  op_stats().ops.fetch_add(1, std::memory_order_relaxed);
  Recording& r = recording();
  if (!r.active.load(std::memory_order_relaxed)) return;
  std::lock_guard<std::mutex> lock(r.mutex);
  ++r.counts[name];
}

void count_flops(double flops) { op_stats().flops.fetch_add(flops, std::memory_order_relaxed); }

OpRecorder::OpRecorder() {
  Recording& r = recording();
  std::lock_guard<std::mutex> lock(r.mutex);
  SCN_CHECK(!r.active, "OpRecorder: one recorder at a time");
  r.counts.clear();
  r.active = true;
}

OpRecorder::~OpRecorder() {
  Recording& r = recording();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.active = false;
}

std::map<std::string, int64_t> OpRecorder::by_name() const {
  Recording& r = recording();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.counts;
}

std::string OpRecorder::summary() const {
  const std::map<std::string, int64_t> counts = by_name();
  std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string s;
  for (const auto& [name, n] : sorted) s += (s.empty() ? "" : ", ") + name + " ×" + std::to_string(n);
  return s;
}

OpCounts OpCounts::now() {
  const OpStats& s = op_stats();
  return OpCounts{s.ops.load(), s.host_reads.load(), s.host_writes.load(), s.flops.load()};
}

OpCounts OpCounts::operator-(const OpCounts& e) const {
  return OpCounts{ops - e.ops, host_reads - e.host_reads, host_writes - e.host_writes, flops - e.flops};
}

}  // namespace scn
