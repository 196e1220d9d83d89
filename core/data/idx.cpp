#include "core/data/idx.h"

#include <cstring>

#include "core/data/class_names.h"
#include "core/data/gzip_file.h"

namespace scn {

namespace {

constexpr uint32_t kImagesMagic = 2051;  // 0x00000803
constexpr uint32_t kLabelsMagic = 2049;  // 0x00000801

uint32_t big_endian_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Checks the magic and the header length; returns the header's dimensions.
std::vector<int64_t> read_header(const std::string& path, const std::vector<uint8_t>& bytes, uint32_t magic, int dims,
                                 const char* what) {
  const size_t header = 4 + 4 * static_cast<size_t>(dims);
  SCN_CHECK(bytes.size() >= header, path, ": size ", bytes.size(), " bytes is shorter than the ", header, "-byte IDX ",
            what, " header");
  const uint32_t found = big_endian_u32(bytes.data());
  SCN_CHECK(found == magic, path, ": magic number ", found, ", expected ", magic, " (IDX ", what, ")");
  std::vector<int64_t> shape;
  for (int k = 0; k < dims; ++k) shape.push_back(big_endian_u32(bytes.data() + 4 + 4 * k));
  return shape;
}

}  // namespace

Dataset read_idx_pair(const std::string& images_path, const std::string& labels_path,
                      std::vector<std::string> class_names) {
  const std::vector<uint8_t> images = read_data_file(images_path);
  const std::vector<int64_t> dims = read_header(images_path, images, kImagesMagic, 3, "images");
  const int64_t n = dims[0], rows = dims[1], cols = dims[2];
  SCN_CHECK(n >= 1 && rows >= 1 && cols >= 1, images_path, ": header says ", n, " images of ", rows, "×", cols,
            ", expected at least one non-empty image");
  // The header is untrusted: bound it before multiplying (each dimension is < 2^32).
  SCN_CHECK(rows <= 65536 && cols <= 65536 && n <= static_cast<int64_t>(images.size()) / (rows * cols), images_path,
            ": header says ", n, " images of ", rows, "×", cols, ", more than the file's ", images.size(),
            " bytes can hold");
  const int64_t expected = 16 + n * rows * cols;
  SCN_CHECK(static_cast<int64_t>(images.size()) == expected, images_path, ": size ", images.size(),
            " bytes, expected 16 + ", n, "×", rows, "×", cols, " = ", expected, " for the header's ", n, " images of ",
            rows, "×", cols);

  const std::vector<uint8_t> labels = read_data_file(labels_path);
  const int64_t count = read_header(labels_path, labels, kLabelsMagic, 1, "labels")[0];
  SCN_CHECK(count == n, labels_path, ": header says ", count, " labels, expected ", n, " (the number of images in ",
            images_path, ")");
  SCN_CHECK(static_cast<int64_t>(labels.size()) == 8 + n, labels_path, ": size ", labels.size(),
            " bytes, expected 8 + ", n, " = ", 8 + n, " for the header's ", n, " labels");

  const int classes = static_cast<int>(class_names.size());
  Dataset d;
  d.images = Tensor::empty({n, 1, rows, cols}, DType::u8);
  d.labels = Tensor::empty({n}, DType::i32);
  std::memcpy(d.images.data<uint8_t>(), images.data() + 16, static_cast<size_t>(n * rows * cols));
  int32_t* y = d.labels.data<int32_t>();
  for (int64_t i = 0; i < n; ++i) {
    y[i] = labels[8 + i];
    SCN_CHECK(y[i] < classes, labels_path, ": label ", i, " is ", y[i], ", expected < ", classes);
  }
  d.classes = classes;
  d.class_names = std::move(class_names);
  d.source = images_path;
  check_dataset(d);
  return d;
}

Dataset read_mnist(const std::string& dir, const std::string& split, bool fashion) {
  const char* format = fashion ? "fashion_mnist" : "mnist";
  SCN_CHECK(split == "train" || split == "test", format, ": split must be train or test, got '", split, "'");
  const std::string stem = split == "train" ? "train" : "t10k";
  const std::string images = require_data_file(dir, stem + "-images-idx3-ubyte");
  const std::string labels = require_data_file(dir, stem + "-labels-idx1-ubyte");
  Dataset d = read_idx_pair(images, labels, fashion ? fashion_mnist_class_names() : digit_class_names());
  d.source = std::string(format) + " " + split + " (" + dir + ")";
  return d;
}

}  // namespace scn
