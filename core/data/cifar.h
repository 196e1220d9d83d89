#pragma once
// CIFAR-10 and CIFAR-100 in their binary release layouts; every file may be gzip-compressed (`name.gz`).
//
// CIFAR-10, directory `dir`:
//   train: data_batch_1.bin, then data_batch_2..5.bin while they exist (the official release has all five;
//          the image-folder converter writes as many as it needs, at most 10000 records each); a gap (a
//          missing batch followed by a present one) is an error.
//   test:  test_batch.bin.
//   record: 1 label byte + 3·s·s pixel bytes (R, G, B planes of s×s, row-major; s = 32 for the release, else
//          what the folder's scn-data.json records: {"kind": "scn-data", "layout": "cifar10", "image_size": s},
//          written by `scn data convert`).
//   Every file holds a whole number ≥ 1 of records (10000 in the release, any count accepted).
//   batches.meta.txt (optional): class names, one per non-empty line. Its line count (1 to 256) sets the
//   number of classes, so converted image folders with any number of classes read back; without it the
//   10 CIFAR-10 names. Labels must be < the number of classes.
// CIFAR-100, directory `dir`: train.bin / test.bin; record: coarse label byte (< 20), fine label byte
//   (< 100), 3·s·s pixel bytes. `label` selects fine (100 classes) or coarse (20). Optional
//   fine_label_names.txt / coarse_label_names.txt (exactly 100 / 20 names) replace the built-in names.
#include <string>

#include "core/data/dataset.h"

namespace scn {

enum class Cifar100Label { fine, coarse };

inline constexpr const char* kDataLayoutFile = "scn-data.json";

// `split` is "train" or "test". Images come back as u8 (N, 3, s, s). image_size 0: the folder's recorded
// size, else 32; another value must agree with what the folder records.
Dataset read_cifar10(const std::string& dir, const std::string& split, int image_size = 0);
Dataset read_cifar100(const std::string& dir, const std::string& split, Cifar100Label label, int image_size = 0);

// The image side recorded in dir/scn-data.json, or 0 when the folder records none.
int recorded_image_size(const std::string& dir);

}  // namespace scn
