// Conformance cases of the classifier head: linear, softmax cross-entropy with label smoothing, and the top-1 /
// top-5 accuracy counts.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "kernels/accuracy.h"
#include "kernels/linear.h"
#include "kernels/softmax_cross_entropy.h"
#include "nn_cases.h"

namespace scn::test {

namespace {

OpCase linear_case(const std::string& name, int64_t batch, int64_t in, int64_t out, bool bias) {
  OpCase c;
  c.name = name;
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    return Tensors{random_uniform({batch, in}, dtype, seed, 0), random_uniform({out, in}, dtype, seed, 1),
                   bias ? random_uniform({out}, dtype, seed, 2) : Tensor()};
  };
  c.forward = [=](Context& ctx, const Tensors& in_) {
    Tensor y = empty_like_shape(in_[0], {batch, out});
    linear_forward(ctx, y, in_[0], in_[1], in_[2]);
    return Tensors{y};
  };
  c.reference = [=](const Tensors& t) {
    std::vector<double> x = t[0].to_vector(), w = t[1].to_vector(), y(batch * out);
    std::vector<double> b = t[2].defined() ? t[2].to_vector() : std::vector<double>(out, 0.0);
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t o = 0; o < out; ++o) {
        double s = b[o];
        for (int64_t i = 0; i < in; ++i) s += x[n * in + i] * w[o * in + i];
        y[n * out + o] = s;
      }
    return Tensors{Tensor::from_vector(y, {batch, out}, DType::f64)};
  };
  c.backward = [](Context& ctx, const Tensors& t, const Tensors& g) {
    Tensor dx = empty_like(t[0]), dw = empty_like(t[1]), db = t[2].defined() ? empty_like(t[2]) : Tensor();
    linear_backward(ctx, dx, dw, db, g[0], t[0], t[1], /*accumulate=*/false);
    return Tensors{dx, dw, db};
  };
  return c;
}

// Naive softmax cross-entropy of one row with smoothing: loss and p − q.
double naive_xent_row(const double* z, int64_t classes, int64_t label, double eps, double* p_minus_q) {
  double m = z[0];
  for (int64_t k = 0; k < classes; ++k) m = std::max(m, z[k]);
  double norm = 0;
  for (int64_t k = 0; k < classes; ++k) norm += std::exp(z[k] - m);
  double loss = 0;
  for (int64_t k = 0; k < classes; ++k) {
    const double p = std::exp(z[k] - m) / norm;
    const double q = (k == label ? 1 - eps : 0) + eps / classes;
    loss -= q * std::log(p);
    p_minus_q[k] = p - q;
  }
  return loss;
}

// Per-sample loss, with the general backward (dlogits = dloss_n·(p − q)) under the gradient check.
OpCase xent_case(const std::string& name, int64_t batch, int64_t classes, double eps) {
  OpCase c;
  c.name = name;
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    return Tensors{random_uniform({batch, classes}, dtype, seed, 0, -4.0, 4.0), random_labels(batch, classes, seed, 1)};
  };
  c.forward = [=](Context& ctx, const Tensors& in) {
    Tensor loss = empty_like_shape(in[0], {batch});
    softmax_cross_entropy_forward(ctx, loss, Tensor(), Tensor(), in[0], in[1], eps);
    return Tensors{loss};
  };
  c.reference = [=](const Tensors& in) {
    std::vector<double> z = in[0].to_vector(), lab = in[1].to_vector(), loss(batch), pq(classes);
    for (int64_t n = 0; n < batch; ++n)
      loss[n] = naive_xent_row(&z[n * classes], classes, static_cast<int64_t>(lab[n]), eps, pq.data());
    return Tensors{Tensor::from_vector(loss, {batch}, DType::f64)};
  };
  c.backward = [=](Context& ctx, const Tensors& in, const Tensors& g) {
    Tensor dz = empty_like(in[0]);
    softmax_cross_entropy_backward(ctx, dz, g[0], in[0], in[1], eps);
    return Tensors{dz, Tensor()};
  };
  c.differentiable = {0};
  return c;
}

// The fused forward: per-sample loss, their mean, and the gradient of the mean, (p − q)/N, against the reference.
OpCase xent_fused_case(const std::string& name, int64_t batch, int64_t classes, double eps) {
  OpCase c;
  c.name = name;
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    return Tensors{random_uniform({batch, classes}, dtype, seed, 0, -6.0, 6.0), random_labels(batch, classes, seed, 1)};
  };
  c.forward = [=](Context& ctx, const Tensors& in) {
    Tensor loss = empty_like_shape(in[0], {batch}), mean = empty_like_shape(in[0], {1}), dz = empty_like(in[0]);
    softmax_cross_entropy_forward(ctx, loss, mean, dz, in[0], in[1], eps);
    return Tensors{loss, mean, dz};
  };
  c.reference = [=](const Tensors& in) {
    std::vector<double> z = in[0].to_vector(), lab = in[1].to_vector(), loss(batch), dz(batch * classes);
    double total = 0;
    for (int64_t n = 0; n < batch; ++n) {
      loss[n] = naive_xent_row(&z[n * classes], classes, static_cast<int64_t>(lab[n]), eps, &dz[n * classes]);
      total += loss[n];
    }
    for (double& v : dz) v /= batch;
    return Tensors{Tensor::from_vector(loss, {batch}, DType::f64),
                   Tensor::from_vector({total / batch}, {1}, DType::f64),
                   Tensor::from_vector(dz, {batch, classes}, DType::f64)};
  };
  return c;
}

OpCase accuracy_case(const std::string& name, int64_t batch, int64_t classes) {
  OpCase c;
  c.name = name;
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    // Logits leaning towards the label, so that top-1 and top-5 counts are neither 0 nor N.
    Tensor labels = random_labels(batch, classes, seed, 1);
    std::vector<double> z = random_uniform({batch, classes}, DType::f64, seed, 0).to_vector();
    std::vector<double> lab = labels.to_vector();
    for (int64_t n = 0; n < batch; ++n) z[n * classes + static_cast<int64_t>(lab[n])] += 0.6;
    return Tensors{Tensor::from_vector(z, {batch, classes}, dtype), labels};
  };
  c.forward = [](Context& ctx, const Tensors& in) {
    Tensor counts = Tensor::empty({2}, DType::i32, in[0].device());
    accuracy_counts(ctx, counts, in[0], in[1], /*accumulate=*/false);
    return Tensors{counts};
  };
  c.reference = [=](const Tensors& in) {
    std::vector<double> z = in[0].to_vector(), lab = in[1].to_vector();
    double top1 = 0, top5 = 0;
    for (int64_t n = 0; n < batch; ++n) {
      // A stable sort by descending logit; the label's position is its rank.
      std::vector<int64_t> order(classes);
      std::iota(order.begin(), order.end(), int64_t(0));
      std::stable_sort(order.begin(), order.end(),
                       [&](int64_t a, int64_t b) { return z[n * classes + a] > z[n * classes + b]; });
      const int64_t rank = std::find(order.begin(), order.end(), static_cast<int64_t>(lab[n])) - order.begin();
      top1 += rank < 1;
      top5 += rank < 5;
    }
    return Tensors{Tensor::from_vector({top1, top5}, {2}, DType::i32)};
  };
  c.tolerance = {0, 0};  // counts are exact
  return c;
}

}  // namespace

std::vector<OpCase> nn_head_cases() {
  std::vector<OpCase> cases;
  cases.push_back(linear_case("linear_bias", 3, 17, 5, true));
  cases.push_back(linear_case("linear_no_bias_batch1", 1, 17, 3, false));
  cases.push_back(linear_case("linear_vec4_rows", 3, 64, 12, true));
  cases.push_back(xent_case("softmax_xent_smoothing", 3, 10, 0.1));
  cases.push_back(xent_case("softmax_xent_plain_batch1", 1, 17, 0.0));
  cases.push_back(xent_case("softmax_xent_many_classes", 5, 100, 0.2));
  cases.push_back(xent_fused_case("softmax_xent_fused_mean", 3, 10, 0.1));
  cases.push_back(xent_fused_case("softmax_xent_fused_batch1", 1, 7, 0.0));
  cases.push_back(xent_fused_case("softmax_xent_fused_wide", 17, 100, 0.1));
  cases.push_back(accuracy_case("accuracy_top1_top5", 97, 10));
  cases.push_back(accuracy_case("accuracy_few_classes", 17, 3));
  return cases;
}

}  // namespace scn::test
