// Dataset helpers: subset, prefix, the stratified train/val split, channel statistics and inspect.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "core/data/dataset.h"
#include "core/data/inspect.h"
#include "data_files.h"

namespace scn {
namespace {

using testing::expect_error;

// Classes of 50, 30, 20 and 3 records, interleaved; record i stores i in its first two pixels (base 256) so
// that copies can be traced back.
Dataset make_dataset() {
  std::vector<int> labels;
  for (int c = 0, sizes[] = {50, 30, 20, 3}; c < 4; ++c)
    for (int k = 0; k < sizes[c]; ++k) labels.push_back(c);
  std::vector<int> shuffled;
  for (size_t k = 0; k < labels.size(); ++k) shuffled.push_back(labels[(k * 37) % labels.size()]);  // 37 ⊥ 103
  const int64_t n = static_cast<int64_t>(shuffled.size());
  Dataset d;
  d.images = Tensor::zeros({n, 2, 3, 3}, DType::u8);
  d.labels = Tensor::empty({n}, DType::i32);
  for (int64_t i = 0; i < n; ++i) {
    d.images.data<uint8_t>()[i * 18] = static_cast<uint8_t>(i % 256);
    d.images.data<uint8_t>()[i * 18 + 1] = static_cast<uint8_t>(i / 256);
    d.images.data<uint8_t>()[i * 18 + 17] = static_cast<uint8_t>(3 * i);
    d.labels.data<int32_t>()[i] = shuffled[i];
  }
  d.classes = 4;
  d.class_names = {"a", "b", "c", "d"};
  d.source = "synthetic";
  return d;
}

int64_t id_of(const Dataset& d, int64_t i) {
  const uint8_t* x = d.images.data<uint8_t>() + i * 18;
  return x[0] + 256 * x[1];
}

std::vector<int64_t> ids(const Dataset& d) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < d.size(); ++i) out.push_back(id_of(d, i));
  return out;
}

TEST(DataDataset, SubsetCopiesAndPrefixShares) {
  const Dataset d = make_dataset();
  ASSERT_EQ(d.size(), 103);
  EXPECT_EQ(class_histogram(d), (std::vector<int64_t>{50, 30, 20, 3}));
  const Dataset s = subset(d, {7, 2, 7, 100});
  EXPECT_EQ(ids(s), (std::vector<int64_t>{7, 2, 7, 100}));
  for (int64_t i = 0; i < 4; ++i) {
    EXPECT_EQ(s.labels.data<int32_t>()[i], d.labels.data<int32_t>()[id_of(s, i)]);
    EXPECT_EQ(s.images.data<uint8_t>()[i * 18 + 17], static_cast<uint8_t>(3 * id_of(s, i)));
  }
  EXPECT_EQ(s.class_names, d.class_names);
  s.images.data<uint8_t>()[17] = 255;  // a copy: the original is untouched
  EXPECT_EQ(d.images.data<uint8_t>()[7 * 18 + 17], 21);
  expect_error([&] { subset(d, {103}); }, {"index 103 out of range"});

  const Dataset p = prefix(d, 10);
  EXPECT_EQ(ids(p), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(p.images.raw(), d.images.raw());
  EXPECT_EQ(prefix(d, 1000).size(), 103);
  EXPECT_EQ(prefix(d, 0).size(), 0);
  EXPECT_NO_THROW(check_dataset(p));
}

TEST(DataSplit, StratifiedSplitIsDeterministicDisjointAndCovering) {
  const Dataset d = make_dataset();
  const TrainValSplit a = split_train_val(d, 20, 7), b = split_train_val(d, 20, 7), c = split_train_val(d, 20, 8);
  EXPECT_EQ(ids(a.val), ids(b.val));
  EXPECT_EQ(ids(a.train), ids(b.train));
  EXPECT_NE(ids(a.val), ids(c.val));
  ASSERT_EQ(a.val.size(), 20);
  ASSERT_EQ(a.train.size(), 83);
  // Disjoint, covering, each in the original order, labels carried along.
  std::set<int64_t> all;
  for (const Dataset* part : {&a.train, &a.val}) {
    const std::vector<int64_t> v = ids(*part);
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
    for (int64_t i = 0; i < part->size(); ++i) {
      EXPECT_TRUE(all.insert(v[i]).second) << "record " << v[i] << " in both parts";
      EXPECT_EQ(part->labels.data<int32_t>()[i], d.labels.data<int32_t>()[v[i]]);
    }
  }
  EXPECT_EQ(all.size(), 103u);
  // Proportions: 20·(50, 30, 20, 3)/103 = (9.71, 5.83, 3.88, 0.58): floors 9, 5, 3, 0 and the three records
  // left go to the largest remainders (classes 2, 1, 0).
  EXPECT_EQ(class_histogram(a.val), (std::vector<int64_t>{10, 6, 4, 0}));
  for (int64_t val : {1, 13, 50, 102}) {
    const std::vector<int64_t> h = class_histogram(split_train_val(d, val, 3).val);
    const std::vector<int64_t> n = class_histogram(d);
    for (int k = 0; k < 4; ++k) EXPECT_LT(std::abs(h[k] - static_cast<double>(val) * n[k] / 103.0), 1.0) << val;
  }
}

TEST(DataSplit, EdgesAndErrors) {
  const Dataset d = make_dataset();
  EXPECT_EQ(split_train_val(d, 0, 1).val.size(), 0);
  EXPECT_EQ(split_train_val(d, 0, 1).train.size(), 103);
  EXPECT_EQ(split_train_val(d, 103, 1).train.size(), 0);
  expect_error([&] { split_train_val(d, 104, 1); }, {"val_split 104", "103 records"});
  expect_error([&] { split_train_val(d, -1, 1); }, {"val_split -1"});
  // The hold-out depends on the labels and the seed only: the same labels give the same mask.
  std::vector<int32_t> labels(d.labels.data<int32_t>(), d.labels.data<int32_t>() + 103);
  EXPECT_EQ(stratified_holdout(labels, 4, 30, 5), stratified_holdout(labels, 4, 30, 5));
  labels[0] = 9;
  expect_error([&] { stratified_holdout(labels, 4, 30, 5); }, {"label 9"});
}

TEST(DataDataset, ChannelStatsOfKnownPixels) {
  Dataset d;
  d.images = Tensor::zeros({2, 3, 1, 2}, DType::u8);
  d.labels = Tensor::zeros({2}, DType::i32);
  d.classes = 1;
  d.class_names = {"only"};
  uint8_t* x = d.images.data<uint8_t>();
  // Channel 0 all 255; channel 1 half 0, half 255; channel 2 the values 0, 51, 102, 153.
  const uint8_t values[2][3][2] = {{{255, 255}, {0, 255}, {0, 51}}, {{255, 255}, {255, 0}, {102, 153}}};
  std::memcpy(x, values, sizeof values);
  const ChannelStats s = channel_stats(d);
  EXPECT_DOUBLE_EQ(s.mean[0], 1.0);
  EXPECT_NEAR(s.std[0], 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(s.mean[1], 0.5);
  EXPECT_NEAR(s.std[1], 0.5, 1e-12);
  EXPECT_NEAR(s.mean[2], 0.3, 1e-12);             // (0 + 0.2 + 0.4 + 0.6) / 4
  EXPECT_NEAR(s.std[2], std::sqrt(0.05), 1e-12);  // population variance of {0, .2, .4, .6}
}

TEST(DataInspect, SummaryHistogramTextAndJson) {
  const Dataset d = make_dataset();
  const DatasetSummary s = inspect_dataset(d);
  EXPECT_EQ(s.count, 103);
  EXPECT_EQ(s.channels, 2);
  EXPECT_EQ(s.height, 3);
  EXPECT_EQ(s.width, 3);
  EXPECT_EQ(s.histogram, (std::vector<int64_t>{50, 30, 20, 3}));
  EXPECT_EQ(s.stats.mean.size(), 2u);
  const std::string text = format_summary(s);
  for (const char* part : {"synthetic", "103 of 2×3×3", "classes: 4", "50", "48.5%", "mean:", "std:"})
    EXPECT_NE(text.find(part), std::string::npos) << part << " not in\n" << text;
  const nlohmann::json j = summary_json(s);
  EXPECT_EQ(j["count"], 103);
  EXPECT_EQ(j["histogram"][3], 3);
  EXPECT_EQ(j["shape"], (nlohmann::json{2, 3, 3}));
  EXPECT_EQ(j["class_names"][1], "b");
}

}  // namespace
}  // namespace scn
