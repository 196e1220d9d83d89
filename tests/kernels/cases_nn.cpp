// Conformance cases of the neural-network ops other than convolution: the per-channel affine map and batch
// norm here; pooling (cases_nn_pool.cpp); linear, softmax cross-entropy and accuracy (cases_nn_head.cpp).
#include <cmath>

#include "kernels/batch_norm.h"
#include "kernels/channel_affine.h"
#include "nn_cases.h"

namespace scn::test {

namespace {

// Element i of an (N, C, ...) shape is in channel (i / inner) % C.
int64_t channel_of(const Shape& s, int64_t i) {
  const int64_t inner = s.numel() / (s[0] * s[1]);
  return (i / inner) % s[1];
}

OpCase affine_case(const std::string& name, Shape shape, bool with_scale, bool with_bias) {
  OpCase c;
  c.name = name;
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    const Shape per_channel{shape[1]};
    return Tensors{random_uniform(shape, dtype, seed, 0),
                   with_scale ? random_uniform(per_channel, dtype, seed, 1, -2.0, 2.0) : Tensor(),
                   with_bias ? random_uniform(per_channel, dtype, seed, 2) : Tensor()};
  };
  c.forward = [](Context& ctx, const Tensors& in) {
    Tensor y = empty_like(in[0]);
    channel_affine_forward(ctx, y, in[0], in[1], in[2]);
    return Tensors{y};
  };
  c.reference = [=](const Tensors& in) {
    std::vector<double> x = in[0].to_vector(), y(x.size());
    std::vector<double> s = in[1].defined() ? in[1].to_vector() : std::vector<double>(shape[1], 1.0);
    std::vector<double> b = in[2].defined() ? in[2].to_vector() : std::vector<double>(shape[1], 0.0);
    for (size_t i = 0; i < x.size(); ++i) {
      const int64_t ch = channel_of(shape, static_cast<int64_t>(i));
      y[i] = x[i] * s[ch] + b[ch];
    }
    return Tensors{Tensor::from_vector(y, shape, DType::f64)};
  };
  c.backward = [](Context& ctx, const Tensors& in, const Tensors& g) {
    Tensor dx = empty_like(in[0]);
    Tensor ds = in[1].defined() ? empty_like(in[1]) : Tensor();
    Tensor db = in[2].defined() ? empty_like(in[2]) : Tensor();
    channel_affine_backward(ctx, dx, ds, db, g[0], in[0], in[1], /*accumulate=*/false);
    return Tensors{dx, ds, db};
  };
  return c;
}

// Naive batch-norm statistics of an (N, C, ...) tensor in f64: per-channel mean and biased variance.
struct Stats {
  std::vector<double> mean, var;
  double count = 0;
};
Stats naive_stats(const Tensor& x) {
  const Shape s = x.shape();
  std::vector<double> v = x.to_vector();
  Stats st{std::vector<double>(s[1], 0.0), std::vector<double>(s[1], 0.0), double(s.numel() / s[1])};
  for (size_t i = 0; i < v.size(); ++i) st.mean[channel_of(s, i)] += v[i] / st.count;
  for (size_t i = 0; i < v.size(); ++i) {
    const int64_t ch = channel_of(s, i);
    st.var[ch] += (v[i] - st.mean[ch]) * (v[i] - st.mean[ch]) / st.count;
  }
  return st;
}

// y = γ·(x − μ)/√(σ² + ε) + β with per-channel μ, σ² (undefined γ, β: 1, 0).
Tensor naive_normalise(const Tensor& x, const std::vector<double>& mean, const std::vector<double>& var,
                       const Tensor& gamma, const Tensor& beta, double eps) {
  std::vector<double> v = x.to_vector(), y(v.size());
  std::vector<double> g = gamma.defined() ? gamma.to_vector() : std::vector<double>(mean.size(), 1.0);
  std::vector<double> b = beta.defined() ? beta.to_vector() : std::vector<double>(mean.size(), 0.0);
  for (size_t i = 0; i < v.size(); ++i) {
    const int64_t ch = channel_of(x.shape(), i);
    y[i] = g[ch] * (v[i] - mean[ch]) / std::sqrt(var[ch] + eps) + b[ch];
  }
  return Tensor::from_vector(y, x.shape(), DType::f64);
}

constexpr double kEps = 1e-5;
constexpr double kMomentum = 0.1;

// Training-mode batch norm: output y only (so the gradient check covers dx, dγ, dβ through the batch statistics).
OpCase bn_train_case(const std::string& name, Shape shape, bool affine) {
  OpCase c;
  c.name = name;
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    const Shape per_channel{shape[1]};
    // Offset and scaled inputs, so the statistics are far from (0, 1).
    Tensors in{random_uniform(shape, dtype, seed, 0, -1.5, 2.5)};
    in.push_back(affine ? random_uniform(per_channel, dtype, seed, 1, 0.5, 1.5) : Tensor());
    in.push_back(affine ? random_uniform(per_channel, dtype, seed, 2) : Tensor());
    return in;
  };
  c.forward = [](Context& ctx, const Tensors& in) {
    const Shape per_channel{in[0].size(1)};
    Tensor y = empty_like(in[0]);
    Tensor mean = empty_like_shape(in[0], per_channel), invstd = empty_like_shape(in[0], per_channel);
    batch_norm_forward_training(ctx, y, mean, invstd, Tensor(), Tensor(), in[0], in[1], in[2], kMomentum, kEps);
    return Tensors{y};
  };
  c.reference = [](const Tensors& in) {
    const Stats st = naive_stats(in[0]);
    return Tensors{naive_normalise(in[0], st.mean, st.var, in[1], in[2], kEps)};
  };
  c.backward = [](Context& ctx, const Tensors& in, const Tensors& g) {
    const Shape per_channel{in[0].size(1)};
    Tensor y = empty_like(in[0]);
    Tensor mean = empty_like_shape(in[0], per_channel), invstd = empty_like_shape(in[0], per_channel);
    batch_norm_forward_training(ctx, y, mean, invstd, Tensor(), Tensor(), in[0], in[1], in[2], kMomentum, kEps);
    Tensor dx = empty_like(in[0]);
    Tensor dgamma = in[1].defined() ? empty_like(in[1]) : Tensor();
    Tensor dbeta = in[2].defined() ? empty_like(in[2]) : Tensor();
    batch_norm_backward(ctx, dx, dgamma, dbeta, g[0], in[0], mean, invstd, in[1], /*accumulate=*/false);
    return Tensors{dx, dgamma, dbeta};
  };
  return c;
}

// Training-mode batch norm: every output — y, saved mean and invstd, updated running statistics (PyTorch's rule,
// the running variance from the unbiased batch variance).
OpCase bn_stats_case(const std::string& name, Shape shape) {
  OpCase c;
  c.name = name;
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    const Shape per_channel{shape[1]};
    return Tensors{random_uniform(shape, dtype, seed, 0, -3.0, 1.0),
                   random_uniform(per_channel, dtype, seed, 1),            // running mean
                   random_uniform(per_channel, dtype, seed, 2, 0.5, 2.0),  // running var
                   random_uniform(per_channel, dtype, seed, 3, 0.5, 1.5),  // γ
                   random_uniform(per_channel, dtype, seed, 4)};           // β
  };
  c.forward = [](Context& ctx, const Tensors& in) {
    const Shape per_channel{in[0].size(1)};
    Tensor y = empty_like(in[0]);
    Tensor mean = empty_like_shape(in[0], per_channel), invstd = empty_like_shape(in[0], per_channel);
    Tensor rm = in[1].clone(), rv = in[2].clone();  // updated in place: keep the inputs for the next run
    batch_norm_forward_training(ctx, y, mean, invstd, rm, rv, in[0], in[3], in[4], kMomentum, kEps);
    return Tensors{y, mean, invstd, rm, rv};
  };
  c.reference = [](const Tensors& in) {
    const Stats st = naive_stats(in[0]);
    std::vector<double> rm = in[1].to_vector(), rv = in[2].to_vector(), invstd(st.mean.size());
    for (size_t ch = 0; ch < rm.size(); ++ch) {
      invstd[ch] = 1 / std::sqrt(st.var[ch] + kEps);
      rm[ch] = (1 - kMomentum) * rm[ch] + kMomentum * st.mean[ch];
      rv[ch] = (1 - kMomentum) * rv[ch] + kMomentum * st.var[ch] * st.count / (st.count - 1);
    }
    const Shape per_channel{static_cast<int64_t>(rm.size())};
    return Tensors{naive_normalise(in[0], st.mean, st.var, in[3], in[4], kEps),
                   Tensor::from_vector(st.mean, per_channel, DType::f64),
                   Tensor::from_vector(invstd, per_channel, DType::f64),
                   Tensor::from_vector(rm, per_channel, DType::f64), Tensor::from_vector(rv, per_channel, DType::f64)};
  };
  c.tolerance = {1e-5, 2e-4};  // invstd of a small variance is large: relative
  return c;
}

// The batch norm in halves (batch_norm.sync): the batch split in two parts as two processes hold it, each
// part's moments and backward sums added (what the all-reduce does), each part normalised with the totals.
// Against the whole batch's statistics: y, μ, invstd and the running statistics (`gradients` false), or y
// alone with the backward in halves (`gradients` true: the gradient check then covers dx, dγ, dβ).
Tensor summed_over_parts(const std::vector<Tensor>& parts) {
  std::vector<double> total = parts[0].to_vector();
  for (size_t p = 1; p < parts.size(); ++p) {
    const std::vector<double> v = parts[p].to_vector();
    for (size_t i = 0; i < total.size(); ++i) total[i] += v[i];
  }
  return Tensor::from_vector(total, parts[0].shape(), DType::f64).to(parts[0].device());
}

struct SplitBatchNorm {
  Tensor y, mean, invstd, rm, rv, moments;
  std::vector<Tensor> x_parts, y_parts;
};

SplitBatchNorm split_batch_norm_forward(Context& ctx, const Tensors& in, int64_t split) {
  const int64_t c = in[0].size(1);
  SplitBatchNorm r;
  r.y = empty_like(in[0]);
  r.mean = empty_like_shape(in[0], Shape{c});
  r.invstd = empty_like_shape(in[0], Shape{c});
  r.rm = in[1].clone();
  r.rv = in[2].clone();
  r.x_parts = {in[0].slice(0, split), in[0].slice(split, in[0].size(0))};
  r.y_parts = {r.y.slice(0, split), r.y.slice(split, in[0].size(0))};
  std::vector<Tensor> moments;
  for (const Tensor& x : r.x_parts) {
    moments.push_back(Tensor::empty({3, c}, DType::f64, x.device()));
    batch_norm_moments(ctx, moments.back(), x);
  }
  r.moments = summed_over_parts(moments);
  // Every part updates its own copy of the running statistics from the same totals: the first part's is kept.
  for (size_t p = 0; p < 2; ++p) {
    Tensor rm = p == 0 ? r.rm : in[1].clone(), rv = p == 0 ? r.rv : in[2].clone();
    batch_norm_forward_from_moments(ctx, r.y_parts[p], r.mean, r.invstd, rm, rv, r.x_parts[p], in[3], in[4],
                                    r.moments, kMomentum, kEps);
  }
  return r;
}

OpCase bn_split_case(const std::string& name, Shape shape, int64_t split, bool affine, bool gradients) {
  OpCase c = bn_stats_case(name, shape);
  if (gradients) {
    const auto all = c.reference;
    c.reference = [all](const Tensors& in) { return Tensors{all(in)[0]}; };
  }
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    const Shape per_channel{shape[1]};
    return Tensors{random_uniform(shape, dtype, seed, 0, -3.0, 1.0),
                   random_uniform(per_channel, dtype, seed, 1),
                   random_uniform(per_channel, dtype, seed, 2, 0.5, 2.0),
                   affine ? random_uniform(per_channel, dtype, seed, 3, 0.5, 1.5) : Tensor(),
                   affine ? random_uniform(per_channel, dtype, seed, 4) : Tensor()};
  };
  c.forward = [=](Context& ctx, const Tensors& in) {
    SplitBatchNorm r = split_batch_norm_forward(ctx, in, split);
    return gradients ? Tensors{r.y} : Tensors{r.y, r.mean, r.invstd, r.rm, r.rv};
  };
  if (!gradients) return c;
  c.backward = [=](Context& ctx, const Tensors& in, const Tensors& g) {
    SplitBatchNorm r = split_batch_norm_forward(ctx, in, split);
    const std::vector<Tensor> dy_parts = {g[0].slice(0, split), g[0].slice(split, in[0].size(0))};
    Tensor dx = empty_like(in[0]);
    const std::vector<Tensor> dx_parts = {dx.slice(0, split), dx.slice(split, in[0].size(0))};
    Tensor dgamma = in[3].defined() ? empty_like(in[3]) : Tensor();
    Tensor dbeta = in[4].defined() ? empty_like(in[4]) : Tensor();
    std::vector<Tensor> sums;
    for (size_t p = 0; p < 2; ++p) {
      sums.push_back(Tensor::empty({2, in[0].size(1)}, DType::f64, in[0].device()));
      batch_norm_backward_sums(ctx, sums.back(), dgamma, dbeta, dy_parts[p], r.x_parts[p], r.mean, r.invstd,
                               /*accumulate=*/p > 0);
    }
    const Tensor total = summed_over_parts(sums);
    for (size_t p = 0; p < 2; ++p)
      batch_norm_backward_from_sums(ctx, dx_parts[p], dy_parts[p], r.x_parts[p], r.mean, r.invstd, in[3], total,
                                    r.moments);
    return Tensors{dx, Tensor(), Tensor(), dgamma, dbeta};
  };
  c.differentiable = affine ? std::vector<int>{0, 3, 4} : std::vector<int>{0};
  return c;
}

OpCase bn_inference_case(const std::string& name, Shape shape, bool affine) {
  OpCase c;
  c.name = name;
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    const Shape per_channel{shape[1]};
    return Tensors{random_uniform(shape, dtype, seed, 0, -2.0, 2.0), random_uniform(per_channel, dtype, seed, 1),
                   random_uniform(per_channel, dtype, seed, 2, 0.25, 2.0),
                   affine ? random_uniform(per_channel, dtype, seed, 3, 0.5, 1.5) : Tensor(),
                   affine ? random_uniform(per_channel, dtype, seed, 4) : Tensor()};
  };
  c.forward = [](Context& ctx, const Tensors& in) {
    Tensor y = empty_like(in[0]);
    batch_norm_forward_inference(ctx, y, in[0], in[1], in[2], in[3], in[4], kEps);
    return Tensors{y};
  };
  c.reference = [](const Tensors& in) {
    return Tensors{naive_normalise(in[0], in[1].to_vector(), in[2].to_vector(), in[3], in[4], kEps)};
  };
  return c;
}

}  // namespace

std::vector<OpCase> nn_cases() {
  std::vector<OpCase> cases;
  cases.push_back(affine_case("channel_affine_scale_bias", {3, 5, 7, 9}, true, true));
  cases.push_back(affine_case("channel_affine_bias_only", {1, 17, 7, 9}, false, true));
  cases.push_back(affine_case("channel_affine_scale_only", {3, 3, 7, 9}, true, false));
  cases.push_back(affine_case("channel_affine_rows", {3, 17}, true, true));  // (N, C): inner = 1
  cases.push_back(affine_case("channel_affine_vec4_planes", {2, 3, 4, 8}, true, true));
  cases.push_back(bn_train_case("batch_norm_train_affine", {3, 5, 7, 9}, true));
  cases.push_back(bn_train_case("batch_norm_train_plain", {1, 17, 7, 9}, false));  // affine: false, batch 1
  cases.push_back(bn_train_case("batch_norm_train_rows", {7, 5}, true));           // BatchNorm1d layout
  cases.push_back(bn_train_case("batch_norm_train_vec4_planes", {2, 3, 4, 8}, false));
  cases.push_back(bn_stats_case("batch_norm_train_statistics", {3, 17, 7, 9}));
  cases.push_back(bn_split_case("batch_norm_split_statistics", {3, 5, 7, 9}, 2, true, false));
  cases.push_back(bn_split_case("batch_norm_split_affine", {3, 5, 7, 9}, 1, true, true));
  cases.push_back(bn_split_case("batch_norm_split_rows", {7, 5}, 3, false, true));
  cases.push_back(bn_inference_case("batch_norm_inference_affine", {3, 5, 7, 9}, true));
  cases.push_back(bn_inference_case("batch_norm_inference_plain", {1, 3, 4, 8}, false));
  for (auto&& group : {nn_pool_cases(), nn_head_cases()}) cases.insert(cases.end(), group.begin(), group.end());
  return cases;
}

}  // namespace scn::test
