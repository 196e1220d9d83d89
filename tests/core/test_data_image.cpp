// JPEG/PNG decoding and resampling.
#include <gtest/gtest.h>

#include "core/data/image.h"
#include "data_files.h"
#include "image_files.h"

namespace scn {
namespace {

using testing::expect_error;
using testing::TempDir;

TEST(DataImage, DecodesPngRgbGreyAndAlpha) {
  TempDir dir;
  std::vector<uint8_t> rgb;
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 7; ++x) rgb.insert(rgb.end(), {uint8_t(x * 30), uint8_t(y * 50), uint8_t(x + y)});
  testing::write_png(dir / "rgb.png", 7, 5, 3, rgb);
  RgbImage image = decode_image(dir / "rgb.png");
  EXPECT_EQ(image.width, 7);
  EXPECT_EQ(image.height, 5);
  EXPECT_EQ(image.pixels, rgb);

  testing::write_png(dir / "grey.png", 2, 1, 1, {10, 200});
  image = decode_image(dir / "grey.png");
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{10, 10, 10, 200, 200, 200}));

  // Alpha is dropped, as PIL's convert("RGB") does.
  testing::write_png(dir / "rgba.png", 2, 1, 4, {1, 2, 3, 0, 40, 50, 60, 128});
  image = decode_image(dir / "rgba.png");
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{1, 2, 3, 40, 50, 60}));
  testing::write_png(dir / "ga.png", 1, 1, 2, {90, 7});
  EXPECT_EQ(decode_image(dir / "ga.png").pixels, (std::vector<uint8_t>{90, 90, 90}));
}

TEST(DataImage, DecodesJpegRgbAndGreyApproximately) {
  TempDir dir;
  std::vector<uint8_t> rgb;
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 24; ++x) rgb.insert(rgb.end(), {uint8_t(40 + x * 5), uint8_t(60 + y * 6), uint8_t(120)});
  testing::write_jpeg(dir / "rgb.jpg", 24, 16, 3, rgb, 98);
  const RgbImage image = decode_image(dir / "rgb.jpg");
  ASSERT_EQ(image.width, 24);
  ASSERT_EQ(image.height, 16);
  int worst = 0;
  for (size_t i = 0; i < rgb.size(); ++i) worst = std::max(worst, std::abs(int{image.pixels[i]} - int{rgb[i]}));
  EXPECT_LE(worst, 6);

  testing::write_jpeg(dir / "grey.jpeg", 8, 8, 1, std::vector<uint8_t>(64, 77), 98);
  const RgbImage grey = decode_image(dir / "grey.jpeg");
  for (uint8_t v : grey.pixels) EXPECT_NEAR(v, 77, 1);
  EXPECT_EQ(grey.pixels.size(), 8u * 8 * 3);
}

TEST(DataImage, CorruptFilesAreErrorsNamingTheFile) {
  TempDir dir;
  std::vector<uint8_t> noise;
  for (int i = 0; i < 64 * 64 * 3; ++i) noise.push_back(static_cast<uint8_t>((i * 7919) % 251));
  testing::write_jpeg(dir / "ok.jpg", 64, 64, 3, noise);  // mostly entropy-coded data, little header
  const std::vector<uint8_t> jpeg = testing::read_bytes(dir / "ok.jpg");
  EXPECT_NO_THROW(decode_image(dir / "ok.jpg"));
  testing::write_bytes(dir / "cut.jpg", std::vector<uint8_t>(jpeg.begin(), jpeg.begin() + jpeg.size() * 3 / 4));
  expect_error([&] { decode_image(dir / "cut.jpg"); }, {"cut.jpg: truncated JPEG"});
  testing::write_bytes(dir / "header.jpg", std::vector<uint8_t>(jpeg.begin(), jpeg.begin() + 40));
  expect_error([&] { decode_image(dir / "header.jpg"); }, {"header.jpg: corrupt JPEG (libjpeg:"});
  std::vector<uint8_t> garbage = {0xff, 0xd8, 0xff};
  for (int i = 0; i < 300; ++i) garbage.push_back(static_cast<uint8_t>(i * 13));
  testing::write_bytes(dir / "garbage.jpg", garbage);
  expect_error([&] { decode_image(dir / "garbage.jpg"); }, {"garbage.jpg: corrupt JPEG"});

  testing::write_png(dir / "ok.png", 16, 16, 3, testing::solid_rgb(16, 16, 1, 2, 3));
  const std::vector<uint8_t> png = testing::read_bytes(dir / "ok.png");
  testing::write_bytes(dir / "cut.png", std::vector<uint8_t>(png.begin(), png.end() - 20));
  expect_error([&] { decode_image(dir / "cut.png"); }, {"cut.png: corrupt PNG (libpng:"});
  testing::write_bytes(dir / "text.png", {'h', 'e', 'l', 'l', 'o'});
  expect_error([&] { decode_image(dir / "text.png"); }, {"text.png: not a JPEG or PNG file"});
  expect_error([&] { decode_image(dir / "absent.png"); }, {"absent.png: no such file"});
}

TEST(DataImage, ResizeIsAreaWhenShrinkingAndBilinearWhenGrowing) {
  RgbImage image{4, 2, {}};
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 4; ++x) image.pixels.insert(image.pixels.end(), {uint8_t(x * 40 + y * 100), 7, 250});
  // 4×2 → 2×1: each output pixel averages a 2×2 block.
  const RgbImage half = resize_image(image, 2, 1);
  EXPECT_EQ(half.pixels, (std::vector<uint8_t>{70, 7, 250, 150, 7, 250}));  // (0+40+100+140)/4, (80+120+180+220)/4
  // 4 → 3 along x: output 0 covers input [0, 4/3): (0·1 + 40·1/3) / (4/3) = 10; output 1 covers [4/3, 8/3):
  // (40·2/3 + 80·2/3) / (4/3) = 60.
  const RgbImage odd = resize_image(image, 3, 2);
  EXPECT_EQ(odd.pixels[0], 10);
  EXPECT_EQ(odd.pixels[3], 60);
  EXPECT_EQ(odd.pixels.size(), 3u * 2 * 3);
  // 4 → 8 along x, bilinear with half-pixel centres: input positions −0.25 (clamped), 0.25, 0.75, 1.25, …
  const RgbImage wide = resize_image(image, 8, 2);
  const std::vector<int> expected = {0, 10, 30, 50, 70, 90, 110, 120};
  for (int x = 0; x < 8; ++x) EXPECT_EQ(wide.pixels[3 * x], expected[x]) << x;
  for (int x = 0; x < 8; ++x) EXPECT_EQ(wide.pixels[3 * x + 2], 250) << x;
  // The same size is a copy; constants stay constant under any resampling.
  EXPECT_EQ(resize_image(image, 4, 2).pixels, image.pixels);
  const RgbImage big = resize_image(RgbImage{3, 5, testing::solid_rgb(3, 5, 33, 66, 99)}, 32, 7);
  EXPECT_EQ(big.pixels, testing::solid_rgb(32, 7, 33, 66, 99));
  expect_error([&] { resize_image(image, 0, 3); }, {"must be positive"});
}

}  // namespace
}  // namespace scn
