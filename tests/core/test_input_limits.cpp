// Sizes claimed by untrusted input are checked against one budget before anything that large is allocated:
// gzip streams, image headers, config files (config files: tests/models/test_config_errors.cpp).
#include <gtest/gtest.h>

#include "core/data/cifar.h"
#include "core/data/gzip_file.h"
#include "core/data/image.h"
#include "core/input_limits.h"
#include "data_files.h"
#include "image_files.h"

namespace scn {
namespace {

using testing::expect_error;
using testing::TempDir;

// Lowers one limit for the test and restores it afterwards.
class ScopedLimits {
 public:
  ScopedLimits() : saved_(input_limits()) {}
  ~ScopedLimits() { input_limits() = saved_; }

 private:
  InputLimits saved_;
};

TEST(InputLimits, AGzipBombIsRefusedAtTheBudget) {
  ScopedLimits restore;
  input_limits().data_file_bytes = 1 << 20;
  TempDir dir;
  testing::write_gz(dir / "data_batch_1.bin.gz", std::vector<uint8_t>(3 << 20, 0));  // 3 MiB of zeros, ~3 KiB packed
  expect_error([&] { read_data_file(dir / "data_batch_1.bin.gz"); },
               {"data_batch_1.bin.gz: the decompressed data exceeds the limit of 1.0 MiB", "SCN_MAX_DATA_FILE_BYTES"});
  expect_error([&] { read_cifar10(dir.str(), "train"); }, {"exceeds the limit of 1.0 MiB"});
  // Within the budget the same stream reads whole.
  input_limits().data_file_bytes = 4 << 20;
  EXPECT_EQ(read_data_file(dir / "data_batch_1.bin.gz").size(), size_t{3} << 20);
}

TEST(InputLimits, PlainFilesLargerThanTheBudgetAreRefused) {
  ScopedLimits restore;
  input_limits().data_file_bytes = 1000;
  TempDir dir;
  testing::write_bytes(dir / "big.bin", std::vector<uint8_t>(1001, 1));
  expect_error([&] { read_data_file(dir / "big.bin"); }, {"big.bin: the file is 1001 B, more than the limit of 1000 B"});
}

TEST(InputLimits, BothPlainAndGzipCopiesAreRefusedByName) {
  TempDir dir;
  testing::write_bytes(dir / "test_batch.bin", std::vector<uint8_t>(3073, 0));
  testing::write_gz(dir / "test_batch.bin.gz", std::vector<uint8_t>(3073, 1));
  expect_error([&] { read_cifar10(dir.str(), "test"); },
               {"test_batch.bin and " + (dir / "test_batch.bin.gz") + " both exist"});
}

// Rewrites the width and height of a JPEG's SOF0 frame header.
std::vector<uint8_t> with_jpeg_size(std::vector<uint8_t> jpeg, int width, int height) {
  for (size_t i = 2; i + 9 < jpeg.size(); ++i) {
    if (jpeg[i] == 0xFF && (jpeg[i + 1] == 0xC0 || jpeg[i + 1] == 0xC2)) {
      jpeg[i + 5] = static_cast<uint8_t>(height >> 8), jpeg[i + 6] = static_cast<uint8_t>(height);
      jpeg[i + 7] = static_cast<uint8_t>(width >> 8), jpeg[i + 8] = static_cast<uint8_t>(width);
      return jpeg;
    }
  }
  ADD_FAILURE() << "no SOF marker";
  return jpeg;
}

TEST(InputLimits, AnImageHeaderClaimingTooManyPixelsIsRefused) {
  TempDir dir;
  testing::write_jpeg(dir / "small.jpg", 16, 16, 3, testing::solid_rgb(16, 16, 90, 20, 200));
  const std::vector<uint8_t> jpeg = testing::read_bytes(dir / "small.jpg");
  for (int side : {20000, 65500}) {
    const std::vector<uint8_t> claim = with_jpeg_size(jpeg, side, side);
    expect_error([&] { decode_image_bytes(claim.data(), claim.size(), "claim.jpg"); },
                 {"claim.jpg: the JPEG's image is " + std::to_string(int64_t{side} * side) + " pixels, more than the limit"});
  }
  // Within the budget, a header promising far more data than the file holds is a truncated file, not a grey
  // image.
  const std::vector<uint8_t> claim = with_jpeg_size(jpeg, 4000, 4000);
  expect_error([&] { decode_image_bytes(claim.data(), claim.size(), "grey.jpg"); }, {"grey.jpg: "});

  ScopedLimits restore;
  input_limits().image_pixels = 100;
  testing::write_png(dir / "p.png", 11, 10, 3, testing::solid_rgb(11, 10, 1, 2, 3));
  expect_error([&] { decode_image(dir / "p.png"); }, {"p.png: the PNG's image is 110 pixels, more than the limit of 100 pixels"});
}

}  // namespace
}  // namespace scn
