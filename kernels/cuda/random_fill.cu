#include "kernels/cuda/map.cuh"
#include "kernels/random_fill.h"
#include "kernels/random_fill_math.h"

namespace scn::cuda {

namespace {

template <bool kNormal>
struct RandomOp {
  float* t;
  RngKey key;
  float a, b;  // lo, hi (uniform) or mean, std (normal)
  __device__ float value(int64_t i) const {
    const uint64_t k = static_cast<uint64_t>(i);
    return kNormal ? random_normal_value(key, k, a, b) : random_uniform_value(key, k, a, b);
  }
  __device__ void at(int64_t i) const { t[i] = value(i); }
  __device__ void at4(int64_t i) const {
    store4(t, i, make_float4(value(4 * i), value(4 * i + 1), value(4 * i + 2), value(4 * i + 3)));
  }
};

}  // namespace

void fill_uniform(Context& ctx, const Tensor& t, float lo, float hi, const RngKey& key) {
  NvtxRange range("fill_uniform");
  require_cuda_f32("fill_uniform", t);
  float* p = t.data<float>();
  launch_map(ctx, RandomOp<false>{p, key, lo, hi}, t.numel(), aligned16(p));
}

void fill_normal(Context& ctx, const Tensor& t, float mean, float std, const RngKey& key) {
  NvtxRange range("fill_normal");
  require_cuda_f32("fill_normal", t);
  float* p = t.data<float>();
  launch_map(ctx, RandomOp<true>{p, key, mean, std}, t.numel(), aligned16(p));
}

}  // namespace scn::cuda
