#include "analysis/local_sparsity.h"

#include <algorithm>

#include "core/error.h"
#include "kernels/reduce.h"

namespace scn {

int stripe_width(int kernel, int stride) { return 2 * (kernel - 1) / stride + 1; }

std::vector<int64_t> local_sparsity(const Tensor& counts, int window) {
  SCN_CHECK(counts.rank() == 3, "local_sparsity: counts must be (N, H, W), got ", counts.shape().str());
  SCN_CHECK(window >= 1, "local_sparsity: window must be at least 1, got ", window);
  const int64_t N = counts.size(0), H = counts.size(1), W = counts.size(2);
  const std::vector<double> c = counts.to_vector();
  // A window clipped to the code holds no more than a full one that contains it: the maximum is over the
  // full windows, of size min(window, H) × min(window, W). Summed-area table per image.
  const int64_t wh = std::min<int64_t>(window, H), ww = std::min<int64_t>(window, W);
  std::vector<int64_t> result(static_cast<size_t>(N), 0);
  std::vector<int64_t> table(static_cast<size_t>((H + 1) * (W + 1)));
  for (int64_t n = 0; n < N; ++n) {
    std::fill(table.begin(), table.end(), 0);
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x)
        table[static_cast<size_t>((y + 1) * (W + 1) + x + 1)] =
            static_cast<int64_t>(c[static_cast<size_t>((n * H + y) * W + x)]) + table[static_cast<size_t>(y * (W + 1) + x + 1)] +
            table[static_cast<size_t>((y + 1) * (W + 1) + x)] - table[static_cast<size_t>(y * (W + 1) + x)];
    int64_t best = 0;
    for (int64_t y = 0; y + wh <= H; ++y)
      for (int64_t x = 0; x + ww <= W; ++x) {
        auto t = [&](int64_t yy, int64_t xx) { return table[static_cast<size_t>(yy * (W + 1) + xx)]; };
        best = std::max(best, t(y + wh, x + ww) - t(y, x + ww) - t(y + wh, x) + t(y, x));
      }
    result[static_cast<size_t>(n)] = best;
  }
  return result;
}

std::vector<int64_t> code_local_sparsity(Context& ctx, const Tensor& code, int window) {
  SCN_CHECK(code.rank() == 4, "local sparsity: the code must be (N, C, H, W), got ", code.shape().str());
  Tensor counts = Tensor::empty({code.size(0), code.size(2), code.size(3)}, code.dtype(), code.device());
  nnz_per_position(ctx, counts, code);
  return local_sparsity(counts, window);
}

}  // namespace scn
