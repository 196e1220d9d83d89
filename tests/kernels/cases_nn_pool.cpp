// Conformance cases of max and average pooling (kernel 2/3, stride 2, padding 0/1) and global average pooling.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels/global_avg_pool.h"
#include "kernels/pool2d.h"
#include "nn_cases.h"

namespace scn::test {

namespace {

// Distinct values spaced `gap` apart in a random order: max pooling has no ties, and every window's maximum
// beats the runner-up by at least `gap`, far more than the finite-difference step (the kink rule).
Tensor distinct_values(const Shape& shape, DType dtype, uint64_t seed, int stream, double gap) {
  std::vector<double> u = random_uniform(shape, DType::f64, seed, stream).to_vector();
  std::vector<size_t> order(u.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return u[a] < u[b]; });
  std::vector<double> v(u.size());
  const double mid = static_cast<double>(u.size()) / 2;
  for (size_t r = 0; r < order.size(); ++r) v[order[r]] = (static_cast<double>(r) - mid) * gap;
  return Tensor::from_vector(v, shape, dtype);
}

int64_t out_size(int64_t in, const Pool2d& p) { return (in + 2 * p.pad - p.kernel) / p.stride + 1; }

// Naive pooling of one output position: max (value and flat argmax, padding ignored) or sum (padding = 0).
struct Window {
  double max = -std::numeric_limits<double>::infinity();
  int64_t argmax = -1;
  double sum = 0;
};
Window naive_window(const std::vector<double>& x, int64_t plane, int64_t h, int64_t w, int64_t oh, int64_t ow,
                    const Pool2d& p) {
  Window r;
  for (int64_t kh = 0; kh < p.kernel; ++kh)
    for (int64_t kw = 0; kw < p.kernel; ++kw) {
      const int64_t ih = oh * p.stride - p.pad + kh, iw = ow * p.stride - p.pad + kw;
      if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;  // padding: never the max, adds 0 to the sum
      const double v = x[plane * h * w + ih * w + iw];
      r.sum += v;
      if (v > r.max) {
        r.max = v;
        r.argmax = ih * w + iw;
      }
    }
  return r;
}

OpCase pool_case(const std::string& name, Shape shape, Pool2d p, bool max) {
  OpCase c;
  c.name = name;
  const double gap = 2e-3;
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    return Tensors{max ? distinct_values(shape, dtype, seed, 0, gap) : random_uniform(shape, dtype, seed, 0)};
  };
  const Shape out{shape[0], shape[1], out_size(shape[2], p), out_size(shape[3], p)};
  c.forward = [=](Context& ctx, const Tensors& in) {
    Tensor y = empty_like_shape(in[0], out);
    if (!max) {
      avg_pool2d_forward(ctx, y, in[0], p);
      return Tensors{y};
    }
    Tensor idx = Tensor::empty(out, DType::i32, in[0].device());
    max_pool2d_forward(ctx, y, idx, in[0], p);
    return Tensors{y, idx};
  };
  c.reference = [=](const Tensors& in) {
    std::vector<double> x = in[0].to_vector(), y(out.numel()), idx(out.numel());
    for (int64_t pl = 0; pl < shape[0] * shape[1]; ++pl)
      for (int64_t oh = 0; oh < out[2]; ++oh)
        for (int64_t ow = 0; ow < out[3]; ++ow) {
          const Window r = naive_window(x, pl, shape[2], shape[3], oh, ow, p);
          const int64_t o = (pl * out[2] + oh) * out[3] + ow;
          y[o] = max ? r.max : r.sum / (p.kernel * p.kernel);
          idx[o] = static_cast<double>(r.argmax);
        }
    Tensors res{Tensor::from_vector(y, out, DType::f64)};
    if (max) res.push_back(Tensor::from_vector(idx, out, DType::i32));
    return res;
  };
  c.backward = [=](Context& ctx, const Tensors& in, const Tensors& g) {
    Tensor dx = empty_like(in[0]);
    if (!max) {
      avg_pool2d_backward(ctx, dx, g[0], p);
      return Tensors{dx};
    }
    Tensor y = empty_like_shape(in[0], out), idx = Tensor::empty(out, DType::i32, in[0].device());
    max_pool2d_forward(ctx, y, idx, in[0], p);
    max_pool2d_backward(ctx, dx, g[0], idx, p);  // g[1], the "gradient" of the indices, has no meaning
    return Tensors{dx};
  };
  if (max) c.kink_margin = gap / 2;
  return c;
}

OpCase global_pool_case(const std::string& name, Shape shape) {
  OpCase c;
  c.name = name;
  c.make_inputs = [=](DType dtype, uint64_t seed) { return Tensors{random_uniform(shape, dtype, seed, 0)}; };
  c.forward = [=](Context& ctx, const Tensors& in) {
    Tensor y = empty_like_shape(in[0], {shape[0], shape[1]});
    global_avg_pool_forward(ctx, y, in[0]);
    return Tensors{y};
  };
  c.reference = [=](const Tensors& in) {
    std::vector<double> x = in[0].to_vector(), y(shape[0] * shape[1], 0.0);
    const int64_t area = shape[2] * shape[3];
    for (size_t i = 0; i < x.size(); ++i) y[i / area] += x[i] / area;
    return Tensors{Tensor::from_vector(y, {shape[0], shape[1]}, DType::f64)};
  };
  c.backward = [](Context& ctx, const Tensors& in, const Tensors& g) {
    Tensor dx = empty_like(in[0]);
    global_avg_pool_backward(ctx, dx, g[0]);
    return Tensors{dx};
  };
  return c;
}

}  // namespace

std::vector<OpCase> nn_pool_cases() {
  std::vector<OpCase> cases;
  cases.push_back(pool_case("max_pool_k2_s2_p0", {3, 5, 7, 9}, {2, 2, 0}, true));
  cases.push_back(pool_case("max_pool_k2_s2_p1", {1, 3, 7, 9}, {2, 2, 1}, true));
  cases.push_back(pool_case("max_pool_k3_s2_p0", {1, 17, 7, 9}, {3, 2, 0}, true));
  cases.push_back(pool_case("max_pool_k3_s2_p1", {3, 5, 7, 9}, {3, 2, 1}, true));
  cases.push_back(pool_case("avg_pool_k2_s2_p0", {1, 5, 7, 9}, {2, 2, 0}, false));
  cases.push_back(pool_case("avg_pool_k2_s2_p1", {3, 3, 7, 9}, {2, 2, 1}, false));
  cases.push_back(pool_case("avg_pool_k3_s2_p0", {3, 17, 7, 9}, {3, 2, 0}, false));
  cases.push_back(pool_case("avg_pool_k3_s2_p1", {1, 5, 7, 9}, {3, 2, 1}, false));
  cases.push_back(global_pool_case("global_avg_pool", {3, 17, 7, 9}));
  cases.push_back(global_pool_case("global_avg_pool_vec4_planes", {1, 5, 4, 8}));
  return cases;
}

}  // namespace scn::test
