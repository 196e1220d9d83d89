#include "kernels/random_fill.h"

#include "core/dispatch.h"
#include "kernels/random_fill_math.h"

namespace scn {

namespace {

void check_fill(const char* op, const Tensor& t) {
  check_defined(op, "t", t);
  SCN_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64, op, ": t is ", dtype_name(t.dtype()),
            ", expected f32 or f64");
}

template <class T, bool kNormal>
void fill_cpu(const Tensor& t, float a, float b, const RngKey& key) {
  T* p = t.data<T>();
  const int64_t n = t.numel();
  // Each element depends on its index only, so the split among threads does not matter.
#pragma omp parallel for schedule(static) if (n > 16384)
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t k = static_cast<uint64_t>(i);
    p[i] = static_cast<T>(kNormal ? random_normal_value(key, k, a, b) : random_uniform_value(key, k, a, b));
  }
}

}  // namespace

void fill_uniform(Context& ctx, const Tensor& t, float lo, float hi, const RngKey& key) {
  check_fill("fill_uniform", t);
  SCN_CHECK(lo <= hi, "fill_uniform: lo (", lo, ") > hi (", hi, ")");
  SCN_DISPATCH_CUDA(t, cuda::fill_uniform(ctx, t, lo, hi, key));
  if (t.dtype() == DType::f64) return fill_cpu<double, false>(t, lo, hi, key);
  fill_cpu<float, false>(t, lo, hi, key);
}

void fill_normal(Context& ctx, const Tensor& t, float mean, float std, const RngKey& key) {
  check_fill("fill_normal", t);
  SCN_CHECK(std >= 0, "fill_normal: std (", std, ") is negative");
  SCN_DISPATCH_CUDA(t, cuda::fill_normal(ctx, t, mean, std, key));
  if (t.dtype() == DType::f64) return fill_cpu<double, true>(t, mean, std, key);
  fill_cpu<float, true>(t, mean, std, key);
}

}  // namespace scn
