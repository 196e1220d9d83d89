#pragma once
// Shared pieces of the neural-network op cases (cases_nn*.cpp): the case groups and small tensor helpers.
#include <vector>

#include "kernels/op_case.h"

namespace scn::test {

std::vector<OpCase> nn_pool_cases();  // cases_nn_pool.cpp: max/avg pooling, global average pooling
std::vector<OpCase> nn_head_cases();  // cases_nn_head.cpp: linear, softmax cross-entropy, accuracy

// An uninitialised tensor of `shape` with t's dtype (or `dtype`) on t's device.
inline Tensor empty_like_shape(const Tensor& t, const Shape& shape) {
  return Tensor::empty(shape, t.dtype(), t.device());
}
inline Tensor empty_like(const Tensor& t) { return Tensor::empty(t.shape(), t.dtype(), t.device()); }

// Random labels in [0, classes) as i32 (conversion to i32 truncates, so uniform [0, K) gives floor).
inline Tensor random_labels(int64_t batch, int64_t classes, uint64_t seed, int stream) {
  return random_uniform({batch}, DType::i32, seed, stream, 0.0, static_cast<double>(classes));
}

}  // namespace scn::test
