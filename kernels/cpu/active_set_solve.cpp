#include "kernels/active_set_solve.h"

#include <vector>

#include "core/dispatch.h"
#include "kernels/active_set_math.h"

namespace scn {

namespace {
template <class T>
void solve_cpu(const Tensor& beta, const Tensor& gram, const Tensor& code, const Tensor& g, double ridge) {
  const int64_t n = code.size(0), c = code.size(1), hw = code.numel() / (n * c);
  const T* m = gram.data<T>();
  const T* z = code.data<T>();
  const T* gp = g.data<T>();
  T* bp = beta.data<T>();
#pragma omp parallel
  {
    std::vector<int> index(static_cast<size_t>(c));
    std::vector<double> factor(static_cast<size_t>(c * c)), work(static_cast<size_t>(c));
#pragma omp for schedule(dynamic, 64)
    for (int64_t p = 0; p < n * hw; ++p) {
      const int64_t at = (p / hw) * c * hw + p % hw;  // channel 0 of pixel p
      active_set_solve_pixel<T, double>(bp + at, m, z + at, gp + at, static_cast<int>(c), hw, ridge, index.data(),
                                        factor.data(), work.data());
    }
  }
}
}  // namespace

void active_set_solve(Context& ctx, const Tensor& beta, const Tensor& gram, const Tensor& code, const Tensor& g,
                      double ridge) {
  const char* op = "active_set_solve";
  SCN_CHECK(code.rank() == 4, op, ": code must be (N, C, H, W), got ", code.shape().str());
  const int64_t c = code.size(1);
  SCN_CHECK(gram.numel() == c * c && gram.size(0) == c, op, ": gram must be (C, C) for C = ", c, ", got ",
            gram.shape().str());
  check_shape(op, "g", g, code.shape());
  check_shape(op, "beta", beta, code.shape());
  SCN_CHECK(ridge >= 0, op, ": ridge must be >= 0");
  SCN_CHECK(beta.dtype() == code.dtype() && g.dtype() == code.dtype() && gram.dtype() == code.dtype(), op,
            ": dtypes differ");
  check_same_device(op, {&beta, &gram, &code, &g});
  SCN_DISPATCH_CUDA(code, cuda::active_set_solve(ctx, beta, gram, code, g, ridge));
  if (code.dtype() == DType::f64) return solve_cpu<double>(beta, gram, code, g, ridge);
  SCN_CHECK(code.dtype() == DType::f32, op, ": float tensors only");
  solve_cpu<float>(beta, gram, code, g, ridge);
}

}  // namespace scn
