// CIFAR-10 / CIFAR-100 readers on small files written here in the exact release layouts.
#include <gtest/gtest.h>

#include "core/data/cifar.h"
#include "core/data/class_names.h"
#include "core/data/load.h"
#include "data_files.h"

namespace scn {
namespace {

using testing::expect_error;
using testing::TempDir;
using testing::write_bytes;
using testing::write_gz;

constexpr int kPixels = 3072;  // R, G, B planes of 32×32

uint8_t pixel(int record, int j) { return static_cast<uint8_t>((record * 31 + j * 7 + j / 1024) % 256); }

// `labels.size()` records; record i has label bytes labels[i] and pixels pixel(first + i, ·).
std::vector<uint8_t> records(const std::vector<std::vector<uint8_t>>& labels, int first = 0) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < labels.size(); ++i) {
    out.insert(out.end(), labels[i].begin(), labels[i].end());
    for (int j = 0; j < kPixels; ++j) out.push_back(pixel(first + static_cast<int>(i), j));
  }
  return out;
}

std::vector<uint8_t> cifar10_records(const std::vector<int>& labels, int first = 0) {
  std::vector<std::vector<uint8_t>> l;
  for (int y : labels) l.push_back({static_cast<uint8_t>(y)});
  return records(l, first);
}

void expect_records(const Dataset& d, const std::vector<int>& labels, int first = 0) {
  ASSERT_EQ(d.images.shape(), Shape({static_cast<int64_t>(labels.size()), 3, 32, 32}));
  ASSERT_EQ(d.labels.shape(), Shape({static_cast<int64_t>(labels.size())}));
  for (size_t i = 0; i < labels.size(); ++i) {
    EXPECT_EQ(d.labels.data<int32_t>()[i], labels[i]) << "record " << i;
    const uint8_t* x = d.images.data<uint8_t>() + i * kPixels;
    int wrong = 0;
    for (int j = 0; j < kPixels; ++j) wrong += x[j] != pixel(first + static_cast<int>(i), j);
    EXPECT_EQ(wrong, 0) << "record " << i;
  }
}

TEST(DataCifar10, ReadsTheReleaseLayout) {
  TempDir dir;
  const std::vector<int> train = {3, 0, 7, 1, 9, 3, 5}, test = {2, 8, 4};
  write_bytes(dir / "data_batch_1.bin", cifar10_records(train));
  write_bytes(dir / "test_batch.bin", cifar10_records(test, 100));
  const Dataset d = read_cifar10(dir.str(), "train");
  expect_records(d, train);
  EXPECT_EQ(d.classes, 10);
  EXPECT_EQ(d.class_names, cifar10_class_names());
  EXPECT_EQ(d.class_names.front(), "airplane");
  EXPECT_EQ(d.class_names.back(), "truck");
  // Pixel j of a record is plane j / 1024 (R, G, B), row (j % 1024) / 32, column j % 32.
  EXPECT_EQ(d.images.data<uint8_t>()[2 * kPixels + 1 * 1024 + 5 * 32 + 6], pixel(2, 1024 + 5 * 32 + 6));
  expect_records(read_cifar10(dir.str(), "test"), test, 100);
}

TEST(DataCifar10, ConcatenatesBatchesPlainAndGzip) {
  TempDir dir;
  write_bytes(dir / "data_batch_1.bin", cifar10_records({1, 2, 3, 4}));
  write_gz(dir / "data_batch_2.bin.gz", cifar10_records({5, 6, 7}, 4));
  write_gz(dir / "test_batch.bin.gz", cifar10_records({9, 0}, 50));
  expect_records(read_cifar10(dir.str(), "train"), {1, 2, 3, 4, 5, 6, 7});
  expect_records(load_dataset("cifar10", dir.str(), "test"), {9, 0}, 50);
}

TEST(DataCifar10, ClassNamesFromBatchesMetaSetTheClassCount) {
  TempDir dir;
  write_bytes(dir / "data_batch_1.bin", cifar10_records({0, 2, 1}));
  const std::string meta = "ant\r\nbee\n  cow \n\n\n";
  write_bytes(dir / "batches.meta.txt", std::vector<uint8_t>(meta.begin(), meta.end()));
  const Dataset d = read_cifar10(dir.str(), "train");
  EXPECT_EQ(d.classes, 3);
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"ant", "bee", "cow"}));
  write_bytes(dir / "data_batch_1.bin", cifar10_records({0, 2, 3}));
  expect_error([&] { read_cifar10(dir.str(), "train"); }, {"data_batch_1.bin", "record 2 has label 3, expected < 3"});
}

TEST(DataCifar10, RefusesASizeThatIsNotAMultipleOfTheRecord) {
  TempDir dir;
  write_bytes(dir / "data_batch_1.bin", cifar10_records({1}));
  write_bytes(dir / "data_batch_2.bin", cifar10_records({2}));
  std::vector<uint8_t> bad = cifar10_records({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  bad.pop_back();  // 30729 bytes
  write_bytes(dir / "data_batch_3.bin", bad);
  expect_error([&] { read_cifar10(dir.str(), "train"); },
               {"data_batch_3.bin: size 30729 is not a multiple of the 3073-byte CIFAR-10 record"});
  write_bytes(dir / "data_batch_3.bin", {});
  expect_error([&] { read_cifar10(dir.str(), "train"); }, {"data_batch_3.bin: empty file", "3073-byte"});
  write_gz(dir / "test_batch.bin.gz", std::vector<uint8_t>(3074, 1));
  expect_error([&] { read_cifar10(dir.str(), "test"); }, {"test_batch.bin.gz: size 3074 (decompressed)"});
}

TEST(DataCifar10, RefusesALabelOutOfRange) {
  TempDir dir;
  write_bytes(dir / "data_batch_1.bin", cifar10_records({1, 2, 3, 4, 10, 5}));
  expect_error([&] { read_cifar10(dir.str(), "train"); }, {"data_batch_1.bin", "record 4 has label 10, expected < 10"});
}

TEST(DataCifar10, RefusesMissingFilesAndGaps) {
  TempDir dir;
  expect_error([&] { read_cifar10(dir.str(), "train"); }, {"data_batch_1.bin: no such file", ".gz"});
  expect_error([&] { read_cifar10(dir.str(), "test"); }, {"test_batch.bin: no such file"});
  write_bytes(dir / "data_batch_1.bin", cifar10_records({1}));
  // Training batches without a test split (data convert --test-fraction 0): the error says what to do.
  expect_error([&] { read_cifar10(dir.str(), "test"); }, {"test_batch.bin: no such file", "data.val_split=N"});
  write_bytes(dir / "data_batch_3.bin", cifar10_records({2}));
  expect_error([&] { read_cifar10(dir.str(), "train"); }, {"data_batch_3.bin", "data_batch_2.bin", "missing"});
  expect_error([&] { read_cifar10(dir.str(), "validation"); }, {"split must be train or test", "validation"});
}

TEST(DataCifar10, RefusesTruncatedAndCorruptGzip) {
  TempDir dir;
  write_gz(dir / "full.gz", cifar10_records({1, 2, 3}));
  std::vector<uint8_t> gz = testing::read_bytes(dir / "full.gz");
  ASSERT_GT(gz.size(), 100u);
  std::vector<uint8_t> truncated(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(gz.size() / 2));
  write_bytes(dir / "data_batch_1.bin.gz", truncated);
  expect_error([&] { read_cifar10(dir.str(), "train"); }, {"data_batch_1.bin.gz", "truncated or corrupt gzip"});
  // Only the 8-byte trailer (CRC-32, length) missing.
  write_bytes(dir / "data_batch_1.bin.gz", std::vector<uint8_t>(gz.begin(), gz.end() - 8));
  expect_error([&] { read_cifar10(dir.str(), "train"); }, {"data_batch_1.bin.gz", "truncated or corrupt gzip"});
  // A wrong CRC-32.
  gz[gz.size() - 8] ^= 0xff;
  write_bytes(dir / "data_batch_1.bin.gz", gz);
  expect_error([&] { read_cifar10(dir.str(), "train"); }, {"data_batch_1.bin.gz", "truncated or corrupt gzip"});
}

TEST(DataCifar100, ReadsFineAndCoarseLabels) {
  TempDir dir;
  // Records: coarse label byte, then fine label byte.
  const std::vector<std::vector<uint8_t>> labels = {{4, 0}, {19, 99}, {0, 57}, {11, 3}, {7, 42}};
  write_gz(dir / "train.bin.gz", records(labels));
  write_bytes(dir / "test.bin", records({{1, 1}}, 9));
  const Dataset fine = read_cifar100(dir.str(), "train", Cifar100Label::fine);
  expect_records(fine, {0, 99, 57, 3, 42});
  EXPECT_EQ(fine.classes, 100);
  EXPECT_EQ(fine.class_names.size(), 100u);
  EXPECT_EQ(fine.class_names[0], "apple");
  EXPECT_EQ(fine.class_names[99], "worm");
  const Dataset coarse = load_dataset("cifar100", dir.str(), "train", {.label = "coarse"});
  expect_records(coarse, {4, 19, 0, 11, 7});
  EXPECT_EQ(coarse.classes, 20);
  EXPECT_EQ(coarse.class_names, cifar100_coarse_class_names());
  EXPECT_EQ(coarse.class_names[19], "vehicles_2");
  expect_records(read_cifar100(dir.str(), "test", Cifar100Label::coarse), {1}, 9);

  std::string names;
  for (int c = 0; c < 20; ++c) names += "group" + std::to_string(c) + "\n";
  write_bytes(dir / "coarse_label_names.txt", std::vector<uint8_t>(names.begin(), names.end()));
  EXPECT_EQ(read_cifar100(dir.str(), "train", Cifar100Label::coarse).class_names[7], "group7");
  write_bytes(dir / "fine_label_names.txt", std::vector<uint8_t>(names.begin(), names.end()));
  expect_error([&] { read_cifar100(dir.str(), "train", Cifar100Label::fine); },
               {"fine_label_names.txt: 20 class names, expected 100"});
}

TEST(DataCifar100, RefusesBadLabelsAndSizes) {
  TempDir dir;
  write_bytes(dir / "train.bin", records({{1, 2}, {3, 100}}));
  expect_error([&] { read_cifar100(dir.str(), "train", Cifar100Label::coarse); },
               {"train.bin", "record 1 has fine label 100, expected < 100"});
  write_bytes(dir / "train.bin", records({{20, 2}}));
  expect_error([&] { read_cifar100(dir.str(), "train", Cifar100Label::fine); },
               {"record 0 has coarse label 20, expected < 20"});
  std::vector<uint8_t> bytes = records({{1, 2}, {3, 4}});
  bytes.push_back(0);
  write_bytes(dir / "train.bin", bytes);
  expect_error([&] { read_cifar100(dir.str(), "train", Cifar100Label::fine); },
               {"train.bin: size 6149 is not a multiple of the 3074-byte CIFAR-100 record"});
  expect_error([&] { read_cifar100(dir.str(), "test", Cifar100Label::fine); }, {"test.bin: no such file"});
}

TEST(DataLoad, DispatchesLimitsAndRefusesUnknownNames) {
  TempDir dir;
  write_bytes(dir / "data_batch_1.bin", cifar10_records({1, 2, 3, 4, 5}));
  const Dataset d = load_dataset("cifar10", dir.str(), "train", {.limit = 3});
  expect_records(d, {1, 2, 3});
  EXPECT_EQ(load_dataset("cifar10", dir.str(), "train", {.limit = 0}).size(), 0);
  EXPECT_EQ(load_dataset("cifar10", dir.str(), "train", {.limit = 99}).size(), 5);
  expect_error([&] { load_dataset("svhn", dir.str(), "train"); }, {"unknown data format 'svhn'", "cifar10"});
  expect_error([&] { load_dataset("cifar100", dir.str(), "train", {.label = "medium"}); }, {"fine or coarse"});
  expect_error([&] { load_dataset("cifar10", dir.str(), "train", {.limit = -2}); }, {"limit"});
  EXPECT_EQ(dataset_formats().size(), 4u);
}

}  // namespace
}  // namespace scn
