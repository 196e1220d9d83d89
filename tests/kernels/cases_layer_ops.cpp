// Conformance cases of the small ops the layers add: scale_by_scalar (a device scalar times a tensor) and
// dropout (mask drawn from Philox).
#include <cmath>

#include "core/philox.h"
#include "kernels/dropout.h"
#include "kernels/normalize_l2.h"
#include "kernels/op_case.h"
#include "kernels/scalar_scale.h"

namespace scn::test {

namespace {

OpCase scale_case(const std::string& name, Shape shape, float alpha) {
  OpCase c;
  c.name = name;
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    return Tensors{random_uniform(shape, dtype, seed, 0), random_uniform({1}, dtype, seed, 1, 0.2, 1.5)};
  };
  c.forward = [=](Context& ctx, const Tensors& in) {
    Tensor y = Tensor::empty(in[0].shape(), in[0].dtype(), in[0].device());
    scale_by_scalar(ctx, y, in[0], in[1], alpha);
    return Tensors{y};
  };
  c.reference = [=](const Tensors& in) {
    std::vector<double> x = in[0].to_vector();
    const double s = in[1].to_vector()[0];
    for (double& v : x) v *= alpha * s;
    return Tensors{Tensor::from_vector(x, in[0].shape(), DType::f64)};
  };
  return c;
}

OpCase dropout_case(const std::string& name, Shape shape, float p) {
  const RngKey key{99, RngPurpose::dropout, 12345};
  OpCase c;
  c.name = name;
  c.make_inputs = [=](DType dtype, uint64_t seed) { return Tensors{random_uniform(shape, dtype, seed, 0)}; };
  c.forward = [=](Context& ctx, const Tensors& in) {
    Tensor y = Tensor::empty(in[0].shape(), in[0].dtype(), in[0].device());
    Tensor m = Tensor::empty(in[0].shape(), in[0].dtype(), in[0].device());
    dropout_forward(ctx, y, m, in[0], p, key);
    return Tensors{y, m};
  };
  c.reference = [=](const Tensors& in) {
    std::vector<double> x = in[0].to_vector(), m(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      m[i] = philox_uniform(key, i) >= p ? 1.0 / (1.0 - p) : 0.0;
      x[i] *= m[i];
    }
    return Tensors{Tensor::from_vector(x, in[0].shape(), DType::f64), Tensor::from_vector(m, in[0].shape(), DType::f64)};
  };
  c.backward = [=](Context& ctx, const Tensors& in, const Tensors& g) {
    Tensor y = Tensor::empty(in[0].shape(), in[0].dtype(), in[0].device());
    Tensor m = Tensor::empty(in[0].shape(), in[0].dtype(), in[0].device());
    dropout_forward(ctx, y, m, in[0], p, key);
    Tensor dx = Tensor::empty(in[0].shape(), in[0].dtype(), in[0].device());
    dropout_backward(ctx, dx, g[0], m);
    return Tensors{dx};
  };
  return c;
}

OpCase normalize_case(const std::string& name, Shape shape) {
  OpCase c;
  c.name = name;
  c.make_inputs = [=](DType dtype, uint64_t seed) { return Tensors{random_uniform(shape, dtype, seed, 0)}; };
  c.forward = [=](Context& ctx, const Tensors& in) {
    Tensor y = Tensor::empty(in[0].shape(), in[0].dtype(), in[0].device());
    Tensor norm = Tensor::empty({1}, in[0].dtype(), in[0].device());
    Tensor inverse = Tensor::empty({1}, in[0].dtype(), in[0].device());
    normalize_l2(ctx, y, norm, inverse, in[0]);
    return Tensors{y, norm, inverse};
  };
  c.reference = [=](const Tensors& in) {
    std::vector<double> x = in[0].to_vector();
    double s = 0;
    for (double v : x) s += v * v;
    const double r = std::sqrt(s);
    for (double& v : x) v /= r;
    return Tensors{Tensor::from_vector(x, in[0].shape(), DType::f64), Tensor::from_vector({r}, {1}, DType::f64),
                   Tensor::from_vector({1.0 / r}, {1}, DType::f64)};
  };
  return c;
}

}  // namespace

std::vector<OpCase> layer_op_cases() {
  return {scale_case("scale_by_scalar", {3, 5, 7, 9}, -1.0f), scale_case("scale_by_scalar_odd", {1, 17, 3}, 0.5f),
          dropout_case("dropout", {2, 5, 7, 9}, 0.3f), dropout_case("dropout_odd", {1, 3, 7}, 0.5f),
          normalize_case("normalize_l2", {1, 17, 7, 9}), normalize_case("normalize_l2_small", {1, 3, 5})};
}

}  // namespace scn::test
