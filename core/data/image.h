#pragma once
// Decoding JPEG/PNG files into 8-bit RGB, and resampling them to a fixed size; the image-folder converter's
// building blocks.
#include <cstdint>
#include <string>
#include <vector>

namespace scn {

// An 8-bit RGB image, pixels interleaved row by row: pixels[(y·width + x)·3 + c].
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;
};

// Decodes a JPEG (libjpeg) or PNG (libpng) file, told apart by its magic bytes, into RGB: grey is
// replicated, alpha is dropped (as PIL's convert("RGB") does), CMYK JPEGs are converted, 16-bit PNGs are
// reduced to 8 bits. A corrupt or truncated file throws scn::Error naming `path` and the library's message;
// libjpeg's default error handler (which calls exit()) is never used.
RgbImage decode_image(const std::string& path);
// The same for bytes already in memory; `name` is only used in messages.
RgbImage decode_image_bytes(const uint8_t* data, size_t size, const std::string& name);

// Resamples to width × height, each axis on its own: an area average (box filter over the exact source
// footprint) where the axis shrinks, bilinear with pixel centres at +0.5 and clamped edges where it grows
// or keeps its length (then it is an exact copy).
RgbImage resize_image(const RgbImage& image, int width, int height);

}  // namespace scn
