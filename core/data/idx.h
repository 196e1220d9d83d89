#pragma once
// MNIST and Fashion-MNIST in the IDX format (LeCun et al.), each file optionally gzip-compressed:
//   images: magic 2051 (0x00000803: unsigned bytes, 3 dimensions), then N, rows, cols as big-endian
//           int32, then N·rows·cols pixel bytes (row-major);
//   labels: magic 2049 (0x00000801), then N, then N label bytes.
// The file sizes must match the headers exactly, both files must hold the same N, labels must be < 10.
// Files in `dir`: train-images-idx3-ubyte, train-labels-idx1-ubyte (split "train"), t10k-images-idx3-ubyte,
// t10k-labels-idx1-ubyte (split "test"), each with or without ".gz".
#include <string>

#include "core/data/dataset.h"

namespace scn {

// The images come back as u8 (N, 1, rows, cols) with `class_names.size()` classes.
Dataset read_idx_pair(const std::string& images_path, const std::string& labels_path,
                      std::vector<std::string> class_names);

// Fashion-MNIST (`fashion`: its ten class names) or MNIST (digits "0"…"9").
Dataset read_mnist(const std::string& dir, const std::string& split, bool fashion);

}  // namespace scn
