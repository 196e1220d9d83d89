// Sizes claimed by untrusted input are checked against one budget before anything that large is allocated:
// gzip streams, image headers, config files (config files: tests/models/test_config_errors.cpp).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <zlib.h>

#include <fstream>

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


// SCN_MAX_* set to something that is not a positive whole number is an error naming the variable; "-1" used
// to mean 2^64 − 1 and "lots" or "0" were ignored.
TEST(InputLimits, ALimitVariableMustBeAPositiveWholeNumber) {
  EXPECT_EQ(parse_limit_variable("SCN_MAX_IMAGE_PIXELS", nullptr, 7), 7u);
  EXPECT_EQ(parse_limit_variable("SCN_MAX_IMAGE_PIXELS", "", 7), 7u);
  EXPECT_EQ(parse_limit_variable("SCN_MAX_IMAGE_PIXELS", "1000", 7), 1000u);
  for (const char* bad : {"lots", "-1", "0", "1e9", " 5", "99999999999999999999"})
    expect_error([&] { parse_limit_variable("SCN_MAX_DATA_FILE_BYTES", bad, 7); },
                 {std::string("SCN_MAX_DATA_FILE_BYTES=") + bad, "expected a positive whole number"});
}

// A gzip data file over 2 GiB reads whole under the documented 4 GiB limit. It failed at 2 GiB with
// "truncated or corrupt gzip data after 2147483648 decompressed bytes (… request does not fit in an int)":
// one gzread asked for more than an int. Two files of 2049 MiB of zeros, each a few MiB on disk: one gzip
// member (its size field exact, so the reader allocates it whole and asks for it in one go), built from one
// compressed MiB repeated (after a full flush a deflate block refers to nothing before it), and 2049 members
// of 1 MiB (the size field says 1 MiB: the buffer grows). Each takes a few seconds and 2 GiB of memory.
TEST(InputLimits, AGzipFileOverTwoGibibytesReadsWhole) {
  TempDir dir;
  const size_t mib = 1 << 20, count = 2049;
  const std::vector<uint8_t> zeros(mib, 0);
  z_stream z{};
  ASSERT_EQ(deflateInit2(&z, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::vector<uint8_t> block(2 * mib), tail(64);
  z.next_in = const_cast<Bytef*>(zeros.data());
  z.avail_in = static_cast<uInt>(mib);
  z.next_out = block.data();
  z.avail_out = static_cast<uInt>(block.size());
  ASSERT_EQ(deflate(&z, Z_FULL_FLUSH), Z_OK);
  block.resize(block.size() - z.avail_out);
  z.next_out = tail.data();
  z.avail_out = static_cast<uInt>(tail.size());
  ASSERT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  tail.resize(tail.size() - z.avail_out);
  deflateEnd(&z);
  const uLong crc_mib = crc32(0, zeros.data(), static_cast<uInt>(mib));
  uLong crc = crc_mib;
  for (size_t i = 1; i < count; ++i) crc = crc32_combine(crc, crc_mib, static_cast<z_off_t>(mib));
  const uint32_t size = static_cast<uint32_t>(count * mib);  // ISIZE: the size mod 2^32 (here exact)
  {
    std::ofstream out(dir / "one.bin.gz", std::ios::binary);
    const uint8_t header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    out.write(reinterpret_cast<const char*>(header), 10);
    for (size_t i = 0; i < count; ++i) out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(block.size()));
    out.write(reinterpret_cast<const char*>(tail.data()), static_cast<std::streamsize>(tail.size()));
    const uint32_t trailer[2] = {static_cast<uint32_t>(crc), size};  // little-endian, as x86 stores them
    out.write(reinterpret_cast<const char*>(trailer), 8);
    ASSERT_TRUE(out.good());
  }
  EXPECT_EQ(read_data_file(dir / "one.bin.gz").size(), count * mib);

  testing::write_gz(dir / "member.gz", zeros);
  const std::vector<uint8_t> member = testing::read_bytes(dir / "member.gz");
  {
    std::ofstream out(dir / "many.bin.gz", std::ios::binary);
    for (size_t i = 0; i < count; ++i) out.write(reinterpret_cast<const char*>(member.data()), static_cast<std::streamsize>(member.size()));
    ASSERT_TRUE(out.good());
  }
  EXPECT_EQ(read_data_file(dir / "many.bin.gz").size(), count * mib);
}

// Data and images are read from regular files only: /dev/zero never ends, and a FIFO blocks a plain open.
// Both used to read "no such file".
TEST(InputLimits, DevicesAndFifosAreRefusedByWhatTheyAre) {
  TempDir dir;
  expect_error([&] { read_data_file("/dev/zero"); }, {"/dev/zero: is a character device, not a file scn can read"});
  ASSERT_EQ(::mkfifo((dir / "pipe").c_str(), 0644), 0);
  expect_error([&] { read_data_file(dir / "pipe"); }, {"pipe: is a FIFO (named pipe)"});
  expect_error([&] { decode_image(dir / "pipe"); }, {"pipe: is a FIFO (named pipe)"});
  expect_error([&] { read_data_file(dir / "absent"); }, {"absent: no such file"});
}

}  // namespace
}  // namespace scn
