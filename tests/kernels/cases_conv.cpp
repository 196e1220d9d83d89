// Conformance cases of the convolution ops (forward, backward-data, backward-weights) for every CPU engine
// (reference and onednn; cudnn is what CudaVsCpu runs on a GPU). Each op's backward is made of the other
// two ops, so GradCheck (f64, reference engine) checks all three against finite differences.
#include "kernels/conv2d.h"
#include "kernels/op_case.h"

namespace scn::test {

namespace {

// The naive references: the definitions, in double, each written as a scatter over the larger index space
// (unlike the engines' gathers), sizes passed explicitly.
struct Dims {
  int64_t n, ci, co, h, w, ho, wo, k, s, p;
};

// y[n,o,i,j] = Σ_{c,a,b} x[n,c, s·i+a−p, s·j+b−p] · w[o,c,a,b]
std::vector<double> naive_conv(const std::vector<double>& x, const std::vector<double>& w, const Dims& d) {
  std::vector<double> y(static_cast<size_t>(d.n * d.co * d.ho * d.wo), 0.0);
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t o = 0; o < d.co; ++o)
      for (int64_t i = 0; i < d.ho; ++i)
        for (int64_t j = 0; j < d.wo; ++j)
          for (int64_t c = 0; c < d.ci; ++c)
            for (int64_t a = 0; a < d.k; ++a)
              for (int64_t b = 0; b < d.k; ++b) {
                const int64_t h = d.s * i + a - d.p, v = d.s * j + b - d.p;
                if (h < 0 || h >= d.h || v < 0 || v >= d.w) continue;
                y[((n * d.co + o) * d.ho + i) * d.wo + j] +=
                    x[((n * d.ci + c) * d.h + h) * d.w + v] * w[((o * d.ci + c) * d.k + a) * d.k + b];
              }
  return y;
}

// dx = conv_transpose2d(dy, w): every dy element spreads through the kernel onto dx.
std::vector<double> naive_conv_transpose(const std::vector<double>& dy, const std::vector<double>& w, const Dims& d) {
  std::vector<double> dx(static_cast<size_t>(d.n * d.ci * d.h * d.w), 0.0);
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t o = 0; o < d.co; ++o)
      for (int64_t i = 0; i < d.ho; ++i)
        for (int64_t j = 0; j < d.wo; ++j) {
          const double g = dy[((n * d.co + o) * d.ho + i) * d.wo + j];
          for (int64_t c = 0; c < d.ci; ++c)
            for (int64_t a = 0; a < d.k; ++a)
              for (int64_t b = 0; b < d.k; ++b) {
                const int64_t h = d.s * i + a - d.p, v = d.s * j + b - d.p;
                if (h < 0 || h >= d.h || v < 0 || v >= d.w) continue;
                dx[((n * d.ci + c) * d.h + h) * d.w + v] += g * w[((o * d.ci + c) * d.k + a) * d.k + b];
              }
        }
  return dx;
}

// dw[o,c,a,b] = Σ_{n,i,j} dy[n,o,i,j] · x[n,c, s·i+a−p, s·j+b−p]
std::vector<double> naive_weight_grad(const std::vector<double>& x, const std::vector<double>& dy, const Dims& d) {
  std::vector<double> dw(static_cast<size_t>(d.co * d.ci * d.k * d.k), 0.0);
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t o = 0; o < d.co; ++o)
      for (int64_t i = 0; i < d.ho; ++i)
        for (int64_t j = 0; j < d.wo; ++j)
          for (int64_t c = 0; c < d.ci; ++c)
            for (int64_t a = 0; a < d.k; ++a)
              for (int64_t b = 0; b < d.k; ++b) {
                const int64_t h = d.s * i + a - d.p, v = d.s * j + b - d.p;
                if (h < 0 || h >= d.h || v < 0 || v >= d.w) continue;
                dw[((o * d.ci + c) * d.k + a) * d.k + b] +=
                    dy[((n * d.co + o) * d.ho + i) * d.wo + j] * x[((n * d.ci + c) * d.h + h) * d.w + v];
              }
  return dw;
}

std::vector<double> plus(std::vector<double> a, const std::vector<double>& b) {
  for (size_t i = 0; i < a.size(); ++i) a[i] += b[i];
  return a;
}

// The engine a case runs: cudnn on a GPU (CudaVsCpu), reference in f64 (GradCheck), else the case's own.
ConvEngine engine_for(ConvEngine cpu_engine, const Tensor& t) {
  if (t.is_cuda()) return ConvEngine::cudnn;
  if (t.dtype() == DType::f64) return ConvEngine::reference;
  return cpu_engine;
}

enum class Op { forward, backward_data, backward_weights };

struct ConvSpec {
  Op op;
  Dims d;  // ho and wo are filled in from h, w, k, s, p
  bool accumulate = false;
};

// f32 sums of up to 17·4·4 = 272 products of values in [−1, 1); GPU algorithms (Winograd, FFT) also
// transform the operands, so CUDA against CPU gets the same allowance.
constexpr Tolerance kConvTolerance{2e-4, 2e-4};

Tensor make_like(const Shape& s, const Tensor& t) { return Tensor::empty(s, t.dtype(), t.device()); }

OpCase conv_case(const std::string& name, ConvEngine engine, ConvSpec spec) {
  Dims d = spec.d;
  const ConvParams p{static_cast<int>(d.s), static_cast<int>(d.p)};
  d.ho = conv2d_output_size(d.h, static_cast<int>(d.k), p);
  d.wo = conv2d_output_size(d.w, static_cast<int>(d.k), p);
  const Shape xs{d.n, d.ci, d.h, d.w}, ws{d.co, d.ci, d.k, d.k}, ys{d.n, d.co, d.ho, d.wo};
  const bool acc = spec.accumulate;
  // Inputs: the op's two operands, then the initial output when accumulating.
  Shape in0, in1, out;
  switch (spec.op) {
    case Op::forward:
      in0 = xs, in1 = ws, out = ys;
      break;
    case Op::backward_data:
      in0 = ys, in1 = ws, out = xs;
      break;
    case Op::backward_weights:
      in0 = xs, in1 = ys, out = ws;
      break;
  }
  // out = op(a, b), or out0 + op(a, b) when out0 is given (beta = 1), on any device and dtype.
  auto apply = [=](Context& ctx, Op op, const Tensor& a, const Tensor& b, const Shape& out_shape, const Tensor& out0) {
    Tensor o = out0.defined() ? out0.clone() : make_like(out_shape, a);
    const float bt = out0.defined() ? 1.f : 0.f;
    const ConvEngine e = engine_for(engine, a);
    switch (op) {
      case Op::forward:
        conv2d_forward(ctx, o, a, b, p, bt, e);
        break;
      case Op::backward_data:
        conv2d_backward_data(ctx, o, a, b, p, bt, e);
        break;
      case Op::backward_weights:
        conv2d_backward_weights(ctx, o, a, b, p, bt, e);
        break;
    }
    return o;
  };
  OpCase c;
  c.name = name;
  c.tolerance = kConvTolerance;
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    Tensors in{random_uniform(in0, dtype, seed, 0), random_uniform(in1, dtype, seed, 1)};
    if (acc) in.push_back(random_uniform(out, dtype, seed, 2));
    return in;
  };
  c.forward = [=](Context& ctx, const Tensors& in) {
    return Tensors{apply(ctx, spec.op, in[0], in[1], out, acc ? in[2] : Tensor())};
  };
  c.reference = [=](const Tensors& in) {
    const std::vector<double> a = in[0].to_vector(), b = in[1].to_vector();
    std::vector<double> r;
    switch (spec.op) {
      case Op::forward:
        r = naive_conv(a, b, d);
        break;
      case Op::backward_data:
        r = naive_conv_transpose(a, b, d);
        break;
      case Op::backward_weights:
        r = naive_weight_grad(a, b, d);
        break;
    }
    if (acc) r = plus(r, in[2].to_vector());
    return Tensors{Tensor::from_vector(r, out, DType::f64)};
  };
  // Each op is linear in each operand; its adjoints are the other two ops:
  //   y = conv(x, w):      ∂x = conv_transpose(g, w),  ∂w = weight_grad(x, g)
  //   dx = conv_t(dy, w):  ∂dy = conv(g, w),           ∂w = weight_grad(g, dy)
  //   dw = wgrad(x, dy):   ∂x = conv_transpose(dy, g), ∂dy = conv(x, g)
  // and the initial output passes its gradient through unchanged.
  c.backward = [=](Context& ctx, const Tensors& in, const Tensors& g) {
    Tensors grads;
    switch (spec.op) {
      case Op::forward:
        grads = {apply(ctx, Op::backward_data, g[0], in[1], xs, Tensor()),
                 apply(ctx, Op::backward_weights, in[0], g[0], ws, Tensor())};
        break;
      case Op::backward_data:
        grads = {apply(ctx, Op::forward, g[0], in[1], ys, Tensor()),
                 apply(ctx, Op::backward_weights, g[0], in[0], ws, Tensor())};
        break;
      case Op::backward_weights:
        grads = {apply(ctx, Op::backward_data, in[1], g[0], xs, Tensor()),
                 apply(ctx, Op::forward, in[0], g[0], ys, Tensor())};
        break;
    }
    if (acc) grads.push_back(g[0].clone());
    return grads;
  };
  return c;
}

}  // namespace

std::vector<OpCase> conv_cases() {
  std::vector<OpCase> cases;
  // {n, ci, co, h, w, ho, wo (derived), k, s, p}
  for (ConvEngine e : {ConvEngine::reference, ConvEngine::onednn}) {
    const std::string en = std::string("_") + conv_engine_name(e) + "_";
    auto add = [&](const std::string& what, const std::string& tag, ConvSpec spec) {
      cases.push_back(conv_case("conv2d_" + what + en + tag, e, spec));
    };
    add("forward", "k3s1p1", {Op::forward, {2, 3, 5, 7, 9, 0, 0, 3, 1, 1}});
    add("forward", "k3s2p1", {Op::forward, {1, 17, 5, 7, 9, 0, 0, 3, 2, 1}});
    add("forward", "k1s1p0", {Op::forward, {2, 5, 3, 7, 9, 0, 0, 1, 1, 0}});
    add("forward", "k4s2p1", {Op::forward, {1, 3, 17, 7, 9, 0, 0, 4, 2, 1}});
    add("forward", "k3s2p0_accumulate", {Op::forward, {2, 5, 3, 7, 9, 0, 0, 3, 2, 0}, true});
    add("backward_data", "k3s1p1", {Op::backward_data, {2, 5, 3, 7, 9, 0, 0, 3, 1, 1}});
    // 8×10 with stride 2, k = 3, p = 1 gives the same 4×5 output as 7×9: output_padding 1 in both dims.
    add("backward_data", "k3s2p1_output_padding", {Op::backward_data, {1, 17, 5, 8, 10, 0, 0, 3, 2, 1}});
    add("backward_data", "k1s2p0_output_padding", {Op::backward_data, {2, 3, 5, 8, 9, 0, 0, 1, 2, 0}});
    add("backward_data", "k4s2p1_accumulate", {Op::backward_data, {2, 3, 5, 7, 9, 0, 0, 4, 2, 1}, true});
    add("backward_weights", "k3s1p1", {Op::backward_weights, {2, 3, 5, 7, 9, 0, 0, 3, 1, 1}});
    add("backward_weights", "k3s2p1_accumulate", {Op::backward_weights, {2, 17, 5, 7, 9, 0, 0, 3, 2, 1}, true});
    add("backward_weights", "k4s2p0", {Op::backward_weights, {1, 5, 3, 7, 9, 0, 0, 4, 2, 0}});
  }
  return cases;
}

}  // namespace scn::test
