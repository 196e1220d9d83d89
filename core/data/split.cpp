#include <algorithm>
#include <numeric>

#include "core/data/dataset.h"
#include "core/philox.h"

namespace scn {

std::vector<uint8_t> stratified_holdout(const std::vector<int32_t>& labels, int classes, int64_t holdout,
                                        uint64_t seed) {
  const int64_t n = static_cast<int64_t>(labels.size());
  SCN_CHECK(holdout >= 0 && holdout <= n, "stratified split: cannot hold out ", holdout, " of ", n, " records");
  SCN_CHECK(classes >= 1, "stratified split: ", classes, " classes, expected at least 1");
  std::vector<std::vector<int64_t>> members(classes);
  for (int64_t i = 0; i < n; ++i) {
    SCN_CHECK(labels[i] >= 0 && labels[i] < classes, "stratified split: record ", i, " has label ", labels[i],
              ", expected < ", classes);
    members[labels[i]].push_back(i);
  }
  std::vector<uint8_t> mask(n, 0);
  if (holdout == 0) return mask;

  // Quotas: class c gets floor(holdout·n_c / n); the records left over go to the classes with the largest
  // remainders (ties: lower class). A remainder r_c > 0 means quota_c < n_c, and the leftover count equals
  // Σ r_c / n, at most #{c : r_c > 0}, so every extra record fits.
  std::vector<int64_t> quota(classes), remainder(classes);
  int64_t assigned = 0;
  for (int c = 0; c < classes; ++c) {
    const int64_t nc = static_cast<int64_t>(members[c].size());
    quota[c] = holdout * nc / n;
    remainder[c] = holdout * nc % n;
    assigned += quota[c];
  }
  std::vector<int> order(classes);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return remainder[a] > remainder[b]; });
  for (int k = 0; assigned < holdout; ++k, ++assigned) ++quota[order[k]];

  // Within a class, the records with the smallest 64-bit Philox keys (ties by index) are held out.
  const auto key = [seed](int64_t i) {
    const Philox4 r = philox4x32_10(seed, static_cast<uint32_t>(RngPurpose::split), static_cast<uint64_t>(i));
    return (static_cast<uint64_t>(r.v[0]) << 32) | r.v[1];
  };
  for (int c = 0; c < classes; ++c) {
    std::vector<std::pair<uint64_t, int64_t>> keyed;
    for (int64_t i : members[c]) keyed.emplace_back(key(i), i);
    const int64_t q = quota[c];
    std::partial_sort(keyed.begin(), keyed.begin() + q, keyed.end());
    for (int64_t k = 0; k < q; ++k) mask[keyed[k].second] = 1;
  }
  return mask;
}

TrainValSplit split_train_val(const Dataset& d, int64_t val_count, uint64_t seed) {
  SCN_CHECK(val_count >= 0 && val_count <= d.size(), d.source, ": val_split ", val_count,
            " is out of range, the data set has ", d.size(), " records");
  const int32_t* y = d.labels.data<int32_t>();
  const std::vector<int32_t> labels(y, y + d.size());
  const std::vector<uint8_t> mask = stratified_holdout(labels, d.classes, val_count, seed);
  std::vector<int64_t> train, val;
  for (int64_t i = 0; i < d.size(); ++i) (mask[i] ? val : train).push_back(i);
  TrainValSplit split{subset(d, train), subset(d, val)};
  split.train.source = d.source + " (train part of val_split " + std::to_string(val_count) + ")";
  split.val.source = d.source + " (val part of val_split " + std::to_string(val_count) + ")";
  return split;
}

}  // namespace scn
