#include "models/data_parallel.h"

#include <cstring>
#include <vector>

#include "core/error.h"

namespace scn {

BatchShare batch_share(int64_t batch_begin, int64_t batch, int rank, int ranks) {
  SCN_CHECK(ranks >= 1 && rank >= 0 && rank < ranks, "rank ", rank, " of ", ranks);
  SCN_CHECK(batch >= ranks, "a batch of ", batch, " images cannot give each of ", ranks, " ranks one");
  const int64_t base = batch / ranks, extra = batch % ranks;
  BatchShare s;
  s.count = base + (rank < extra ? 1 : 0);
  s.begin = batch_begin + rank * base + std::min<int64_t>(rank, extra);
  s.loss_scale = static_cast<double>(ranks) * static_cast<double>(s.count) / static_cast<double>(batch);
  return s;
}

int64_t steps_per_epoch(int64_t n, int64_t batch, int ranks) {
  const int64_t full = n / batch, rest = n % batch;
  return full + (rest >= 2 * ranks || (rest > 0 && full == 0) ? 1 : 0);
}

void average_running_statistics(Context& ctx, Net& net, Communicator& comm) {
  ParamArena& arena = net.params();
  for (int i = 0; i < arena.count(); ++i)
    if (arena.spec(i).kind == "statistics")
      comm.all_reduce(ctx, arena.value(i), Reduce::average, "average of the batch-norm running statistics");
}

namespace {

// FNV-1a over the bytes of a tensor's values.
uint64_t fingerprint(const Tensor& t) {
  const Tensor host = t.to(Device::cpu());
  const unsigned char* p = static_cast<const unsigned char*>(host.raw());
  const size_t bytes = static_cast<size_t>(host.numel()) * dtype_size(host.dtype());
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

}  // namespace

void check_ranks_agree(Net& net, Communicator& comm, int64_t step) {
  const ParamArena& arena = net.params();
  std::vector<uint64_t> mine, root;
  std::vector<int> which;
  for (int i = 0; i < arena.count(); ++i) {
    if (arena.spec(i).kind == "statistics") continue;
    mine.push_back(fingerprint(arena.value(i)));
    which.push_back(i);
  }
  root = mine;
  comm.broadcast_host(std::as_writable_bytes(std::span(root)), 0, "broadcast of the parameter fingerprints");
  int first_different = -1;
  for (size_t k = 0; k < mine.size() && first_different < 0; ++k)
    if (mine[k] != root[k]) first_different = which[k];
  const bool differs = any_rank(comm, first_different >= 0, "check that the ranks agree");
  if (!differs) return;
  SCN_CHECK(first_different < 0, "--check-ranks: after step ", step, " rank ", comm.rank(), "'s ",
            arena.spec(first_different).name, " differs from rank 0's: the ranks no longer train one model");
  SCN_FAIL("--check-ranks: after step ", step, " another rank's parameters differ from rank 0's");
}

}  // namespace scn
