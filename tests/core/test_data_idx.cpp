// IDX (MNIST / Fashion-MNIST) readers on small files written here with big-endian headers, and on the real
// Fashion-MNIST test split when it is installed.
#include <gtest/gtest.h>

#include "core/data/class_names.h"
#include "core/data/dataset.h"
#include "core/data/gzip_file.h"
#include "core/data/idx.h"
#include "core/data/load.h"
#include "data_files.h"

namespace scn {
namespace {

using testing::append_be32;
using testing::expect_error;
using testing::TempDir;
using testing::write_bytes;
using testing::write_gz;

constexpr int kRows = 3, kCols = 4;

uint8_t pixel(int image, int r, int c) { return static_cast<uint8_t>(image * 40 + r * 10 + c + 1); }

std::vector<uint8_t> idx_images(int n, int rows = kRows, int cols = kCols, uint32_t magic = 2051) {
  std::vector<uint8_t> out;
  append_be32(out, magic);
  append_be32(out, static_cast<uint32_t>(n));
  append_be32(out, static_cast<uint32_t>(rows));
  append_be32(out, static_cast<uint32_t>(cols));
  for (int i = 0; i < n; ++i)
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) out.push_back(pixel(i, r, c));
  return out;
}

std::vector<uint8_t> idx_labels(const std::vector<uint8_t>& labels, uint32_t magic = 2049) {
  std::vector<uint8_t> out;
  append_be32(out, magic);
  append_be32(out, static_cast<uint32_t>(labels.size()));
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

const std::vector<uint8_t> kLabels = {9, 0, 3, 3, 7};

void expect_pair(const Dataset& d) {
  ASSERT_EQ(d.images.shape(), Shape({5, 1, kRows, kCols}));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(d.labels.data<int32_t>()[i], kLabels[i]);
    for (int r = 0; r < kRows; ++r)
      for (int c = 0; c < kCols; ++c)
        EXPECT_EQ(d.images.data<uint8_t>()[(i * kRows + r) * kCols + c], pixel(i, r, c)) << i << " " << r << " " << c;
  }
}

TEST(DataIdx, ReadsPlainAndGzipPairs) {
  TempDir dir;
  write_bytes(dir / "train-images-idx3-ubyte", idx_images(5));
  write_bytes(dir / "train-labels-idx1-ubyte", idx_labels(kLabels));
  write_gz(dir / "t10k-images-idx3-ubyte.gz", idx_images(5));
  write_gz(dir / "t10k-labels-idx1-ubyte.gz", idx_labels(kLabels));
  const Dataset train = read_mnist(dir.str(), "train", true);
  expect_pair(train);
  EXPECT_EQ(train.classes, 10);
  EXPECT_EQ(train.class_names, fashion_mnist_class_names());
  EXPECT_EQ(train.class_names[0], "T-shirt/top");
  EXPECT_EQ(train.class_names[9], "Ankle boot");
  const Dataset test = load_dataset("mnist", dir.str(), "test");
  expect_pair(test);
  EXPECT_EQ(test.class_names[7], "7");
}

TEST(DataIdx, RefusesWrongMagic) {
  TempDir dir;
  write_bytes(dir / "train-images-idx3-ubyte", idx_images(5, kRows, kCols, 2049));
  write_bytes(dir / "train-labels-idx1-ubyte", idx_labels(kLabels));
  expect_error([&] { read_mnist(dir.str(), "train", false); },
               {"train-images-idx3-ubyte: magic number 2049, expected 2051"});
  write_bytes(dir / "train-images-idx3-ubyte", idx_images(5));
  write_bytes(dir / "train-labels-idx1-ubyte", idx_labels(kLabels, 2051));
  expect_error([&] { read_mnist(dir.str(), "train", false); },
               {"train-labels-idx1-ubyte: magic number 2051, expected 2049"});
  write_bytes(dir / "train-labels-idx1-ubyte", {0, 0, 8});
  expect_error([&] { read_mnist(dir.str(), "train", false); }, {"train-labels-idx1-ubyte: size 3 bytes", "8-byte"});
}

TEST(DataIdx, RefusesCountAndSizeMismatches) {
  TempDir dir;
  write_bytes(dir / "train-images-idx3-ubyte", idx_images(5));
  write_bytes(dir / "train-labels-idx1-ubyte", idx_labels({1, 2, 3, 4}));
  expect_error([&] { read_mnist(dir.str(), "train", true); },
               {"train-labels-idx1-ubyte: header says 4 labels, expected 5", "train-images-idx3-ubyte"});
  std::vector<uint8_t> short_images = idx_images(5);
  short_images.pop_back();
  write_bytes(dir / "train-images-idx3-ubyte", short_images);
  write_bytes(dir / "train-labels-idx1-ubyte", idx_labels(kLabels));
  expect_error([&] { read_mnist(dir.str(), "train", true); },
               {"train-images-idx3-ubyte: size 75 bytes, expected 16 + 5×3×4 = 76"});
  std::vector<uint8_t> labels = idx_labels(kLabels);
  labels.push_back(1);
  write_bytes(dir / "train-images-idx3-ubyte", idx_images(5));
  write_bytes(dir / "train-labels-idx1-ubyte", labels);
  expect_error([&] { read_mnist(dir.str(), "train", true); }, {"size 14 bytes, expected 8 + 5 = 13"});
  // A header claiming far more images than the file holds is refused before anything is multiplied out.
  std::vector<uint8_t> huge = idx_images(1);
  huge[4] = huge[5] = huge[6] = huge[7] = 0xff;
  huge[8] = huge[9] = huge[10] = huge[11] = 0xff;
  write_bytes(dir / "train-images-idx3-ubyte", huge);
  expect_error([&] { read_mnist(dir.str(), "train", true); }, {"train-images-idx3-ubyte: header says 4294967295"});
}

TEST(DataIdx, RefusesBadLabelsTruncatedGzipAndMissingFiles) {
  TempDir dir;
  write_bytes(dir / "t10k-images-idx3-ubyte", idx_images(5));
  write_bytes(dir / "t10k-labels-idx1-ubyte", idx_labels({1, 2, 10, 3, 4}));
  expect_error([&] { read_mnist(dir.str(), "test", true); }, {"t10k-labels-idx1-ubyte: label 2 is 10, expected < 10"});
  std::filesystem::remove(dir / "t10k-images-idx3-ubyte");
  write_gz(dir / "whole.gz", idx_images(5));
  std::vector<uint8_t> gz = testing::read_bytes(dir / "whole.gz");
  write_bytes(dir / "t10k-images-idx3-ubyte.gz", std::vector<uint8_t>(gz.begin(), gz.end() - 5));
  expect_error([&] { read_mnist(dir.str(), "test", true); },
               {"t10k-images-idx3-ubyte.gz", "truncated or corrupt gzip"});
  expect_error([&] { read_mnist(dir.str(), "train", true); }, {"train-images-idx3-ubyte: no such file"});
}

// The quick start's data: Debian's fashion-mnist package.
TEST(DataIdx, ReadsTheRealFashionMnistTestSplit) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!find_data_file(dir, "t10k-images-idx3-ubyte"))
    GTEST_SKIP() << dir << " not present (Debian package fashion-mnist); skipping the real-data test";
  const Dataset d = load_dataset("fashion_mnist", dir, "test");
  EXPECT_EQ(d.images.shape(), Shape({10000, 1, 28, 28}));
  EXPECT_EQ(d.classes, 10);
  EXPECT_EQ(class_histogram(d), std::vector<int64_t>(10, 1000));
  const ChannelStats s = channel_stats(d);
  EXPECT_NEAR(s.mean[0], 0.286, 0.01);  // the published Fashion-MNIST statistics
  EXPECT_NEAR(s.std[0], 0.353, 0.01);
}

}  // namespace
}  // namespace scn
