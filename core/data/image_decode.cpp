// JPEG and PNG decoding. libjpeg reports fatal errors through error_exit, which by default prints and calls
// exit(); here it longjmps back into decode_jpeg_unsafe, whose frame holds only trivially destructible
// locals (everything else lives in the caller's JpegJob), so the jump skips no destructor. libpng is used
// through its simplified API, which does its own setjmp and returns an error message instead.
#include <png.h>
#include <setjmp.h>

#include <cstdio>
#include <cstring>
// jpeglib.h needs size_t and FILE declared first.
#include <jerror.h>
#include <jpeglib.h>

#include "core/data/gzip_file.h"
#include "core/data/image.h"
#include "core/error.h"
#include "core/input_limits.h"

namespace scn {

namespace {

struct JpegErrorManager {
  jpeg_error_mgr pub;  // first: libjpeg hands back a jpeg_error_mgr* that we cast to this
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated;
};

struct JpegJob {
  const uint8_t* data;
  size_t size;
  uint64_t claimed_pixels;  // width × height of the header, set when it exceeds the pixel budget
  RgbImage* out;
  jpeg_decompress_struct cinfo;
  JpegErrorManager err;
};

void jpeg_error_exit(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  longjmp(err->jump, 1);
}

// Warnings are silent, except that a premature end of data (libjpeg pads the image with grey and goes on:
// the source's fake EOI, then the entropy decoder hitting that marker) makes the file count as truncated.
void jpeg_emit_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;
  auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  if (cinfo->err->msg_code == JWRN_JPEG_EOF || cinfo->err->msg_code == JWRN_HIT_MARKER) {
    err->truncated = true;
    (*cinfo->err->format_message)(cinfo, err->message);
  }
  cinfo->err->num_warnings++;
}

// Returns false with job->err.message set when libjpeg fails.
bool decode_jpeg_unsafe(JpegJob* job) {
  jpeg_decompress_struct* cinfo = &job->cinfo;
  cinfo->err = jpeg_std_error(&job->err.pub);
  job->err.pub.error_exit = jpeg_error_exit;
  job->err.pub.emit_message = jpeg_emit_message;
  job->err.truncated = false;
  job->err.message[0] = '\0';
  if (setjmp(job->err.jump)) {
    jpeg_destroy_decompress(cinfo);
    return false;
  }
  jpeg_create_decompress(cinfo);
  jpeg_mem_src(cinfo, job->data, static_cast<unsigned long>(job->size));
  jpeg_read_header(cinfo, TRUE);
  // Nothing is allocated for an image larger than the budget (a small file may claim 65500² pixels).
  const uint64_t pixels = static_cast<uint64_t>(cinfo->image_width) * cinfo->image_height;
  if (pixels > input_limit(InputKind::image)) {
    job->claimed_pixels = pixels;
    jpeg_destroy_decompress(cinfo);
    return false;
  }
  const bool cmyk = cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK;
  cinfo->out_color_space = cmyk ? JCS_CMYK : JCS_RGB;  // libjpeg replicates grey into RGB itself
  jpeg_start_decompress(cinfo);
  const int w = static_cast<int>(cinfo->output_width), h = static_cast<int>(cinfo->output_height);
  const int in_channels = cinfo->output_components;
  job->out->width = w;
  job->out->height = h;
  job->out->pixels.resize(static_cast<size_t>(w) * h * 3);
  JSAMPARRAY row = (*cinfo->mem->alloc_sarray)(reinterpret_cast<j_common_ptr>(cinfo), JPOOL_IMAGE,
                                               static_cast<JDIMENSION>(w * in_channels), 1);
  while (cinfo->output_scanline < cinfo->output_height) {
    const int y = static_cast<int>(cinfo->output_scanline);
    jpeg_read_scanlines(cinfo, row, 1);
    uint8_t* dst = job->out->pixels.data() + static_cast<size_t>(y) * w * 3;
    for (int x = 0; x < w; ++x) {
      const uint8_t* p = row[0] + x * in_channels;
      if (!cmyk) {
        dst[3 * x] = p[0], dst[3 * x + 1] = p[1], dst[3 * x + 2] = p[2];
        continue;
      }
      // Adobe writes inverted CMYK: the stored values are already (255 − C) etc.
      const bool inverted = cinfo->saw_Adobe_marker;
      const int k = inverted ? p[3] : 255 - p[3];
      for (int c = 0; c < 3; ++c)
        dst[3 * x + c] = static_cast<uint8_t>(((inverted ? p[c] : 255 - p[c]) * k + 127) / 255);
    }
  }
  jpeg_finish_decompress(cinfo);
  jpeg_destroy_decompress(cinfo);
  return true;
}

RgbImage decode_jpeg(const uint8_t* data, size_t size, const std::string& name) {
  RgbImage image;
  JpegJob job{};
  job.data = data;
  job.size = size;
  job.out = &image;
  const bool ok = decode_jpeg_unsafe(&job);
  if (job.claimed_pixels) check_input_size(name, "the JPEG's image", job.claimed_pixels, InputKind::image);
  SCN_CHECK(ok, name, ": corrupt JPEG (libjpeg: ", job.err.message, ")");
  SCN_CHECK(!job.err.truncated, name, ": truncated JPEG (libjpeg: ", job.err.message, ")");
  return image;
}

RgbImage decode_png(const uint8_t* data, size_t size, const std::string& name) {
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  SCN_CHECK(png_image_begin_read_from_memory(&png, data, size), name, ": corrupt PNG (libpng: ", png.message, ")");
  const uint64_t pixels = static_cast<uint64_t>(png.width) * png.height;
  if (pixels > input_limit(InputKind::image)) {
    png_image_free(&png);
    check_input_size(name, "the PNG's image", pixels, InputKind::image);
  }
  png.format = PNG_FORMAT_RGBA;  // grey is replicated, 16-bit reduced, palettes expanded
  std::vector<uint8_t> rgba(PNG_IMAGE_SIZE(png));
  const int ok = png_image_finish_read(&png, nullptr, rgba.data(), 0, nullptr);
  png_image_free(&png);  // a no-op after finish_read, which frees on success and on failure
  SCN_CHECK(ok, name, ": corrupt PNG (libpng: ", png.message, ")");
  RgbImage image;
  image.width = static_cast<int>(png.width);
  image.height = static_cast<int>(png.height);
  const size_t count = static_cast<size_t>(image.width) * image.height;
  image.pixels.resize(count * 3);
  for (size_t i = 0; i < count; ++i)
    for (int c = 0; c < 3; ++c) image.pixels[3 * i + c] = rgba[4 * i + c];
  return image;
}

}  // namespace

RgbImage decode_image_bytes(const uint8_t* data, size_t size, const std::string& name) {
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff) return decode_jpeg(data, size, name);
  if (size >= 8 && std::memcmp(data, kPng, 8) == 0) return decode_png(data, size, name);
  SCN_FAIL(name, ": not a JPEG or PNG file (unknown magic bytes)");
}

RgbImage decode_image(const std::string& path) {
  const std::vector<uint8_t> bytes = read_data_file(path);
  return decode_image_bytes(bytes.data(), bytes.size(), path);
}

}  // namespace scn
