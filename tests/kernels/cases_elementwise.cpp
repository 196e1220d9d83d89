// Conformance cases of the element-wise ops, the reductions and the random fills. The optimizer steps'
// cases are in cases_optimizer.cpp (optimizer_cases(), appended here).
#include <cmath>

#include "core/philox.h"
#include "kernels/elementwise.h"
#include "kernels/op_case.h"
#include "kernels/random_fill.h"
#include "kernels/reduce.h"

namespace scn::test {

std::vector<OpCase> optimizer_cases();  // cases_optimizer.cpp

namespace {

Tensor like(const Tensor& t) { return Tensor::empty(t.shape(), t.dtype(), t.device()); }
Tensor scalar_like(const Tensor& t) { return Tensor::empty({1}, t.dtype(), t.device()); }
Tensor f64(const std::vector<double>& v, const Shape& s) { return Tensor::from_vector(v, s, DType::f64); }

// A case whose forward and reference are given, with `count` uniform inputs of `shape`.
OpCase simple_case(const std::string& name, Shape shape, int count,
                   std::function<Tensors(Context&, const Tensors&)> forward,
                   std::function<Tensors(const Tensors&)> reference) {
  OpCase c;
  c.name = name;
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    Tensors in;
    for (int k = 0; k < count; ++k) in.push_back(random_uniform(shape, dtype, seed, k));
    return in;
  };
  c.forward = std::move(forward);
  c.reference = std::move(reference);
  return c;
}

// Element-wise map of the f64 inputs (all of one shape) through f.
Tensors map_ref(const Tensors& in, const std::function<double(const std::vector<double>&)>& f) {
  std::vector<std::vector<double>> v;
  for (const Tensor& t : in) v.push_back(t.to_vector());
  std::vector<double> out(v[0].size()), args(v.size());
  for (size_t i = 0; i < out.size(); ++i) {
    for (size_t k = 0; k < v.size(); ++k) args[k] = v[k][i];
    out[i] = f(args);
  }
  return Tensors{f64(out, in[0].shape())};
}

// A copy of t whose data starts 4 bytes past a 16-byte boundary, so CUDA takes its scalar path.
Tensor misaligned_copy(const Tensor& t) {
  Tensor buffer = Tensor::zeros({t.numel() + 1}, t.dtype(), t.device());
  Tensor view = buffer.slice(1, t.numel() + 1).view(t.shape());
  view.copy_from(t);
  return view;
}

std::vector<OpCase> arithmetic_cases() {
  std::vector<OpCase> cases;
  cases.push_back(simple_case(
      "fill", {2, 5, 7, 9}, 1,
      [](Context& ctx, const Tensors& in) {
        Tensor y = like(in[0]);
        fill(ctx, y, 0.37f);
        return Tensors{y};
      },
      [](const Tensors& in) { return map_ref(in, [](auto&) { return double(0.37f); }); }));
  cases.push_back(simple_case(
      "add", {2, 5, 7, 9}, 2,
      [](Context& ctx, const Tensors& in) {
        Tensor y = like(in[0]);
        add(ctx, y, in[0], in[1]);
        return Tensors{y};
      },
      [](const Tensors& in) { return map_ref(in, [](auto& a) { return a[0] + a[1]; }); }));
  cases.push_back(simple_case(
      "axpy", {1, 17, 7, 9}, 2,
      [](Context& ctx, const Tensors& in) {
        Tensor y = in[1].clone();
        axpy(ctx, y, -0.75f, in[0]);
        return Tensors{y};
      },
      [](const Tensors& in) { return map_ref(in, [](auto& a) { return a[1] - 0.75 * a[0]; }); }));
  cases.push_back(simple_case(
      "scale_in_place", {3, 5, 7}, 1,
      [](Context& ctx, const Tensors& in) {
        Tensor y = in[0].clone();
        scale(ctx, y, 1.5f, y);
        return Tensors{y};
      },
      [](const Tensors& in) { return map_ref(in, [](auto& a) { return 1.5 * a[0]; }); }));
  cases.push_back(simple_case(
      "axpby", {2, 3, 4, 8}, 2,
      [](Context& ctx, const Tensors& in) {
        Tensor y = in[1].clone();
        axpby(ctx, y, 0.25f, in[0], -2.f);
        return Tensors{y};
      },
      [](const Tensors& in) { return map_ref(in, [](auto& a) { return 0.25 * a[0] - 2.0 * a[1]; }); }));
  cases.push_back(simple_case(
      "axpby_beta0_ignores_nan", {1, 3, 7, 9}, 1,
      [](Context& ctx, const Tensors& in) {
        Tensor y = like(in[0]);
        fill(ctx, y, NAN);
        axpby(ctx, y, 3.f, in[0], 0.f);
        return Tensors{y};
      },
      [](const Tensors& in) { return map_ref(in, [](auto& a) { return 3.0 * a[0]; }); }));
  cases.push_back(simple_case(
      "axpby_misaligned", {2, 5, 7, 9}, 2,
      [](Context& ctx, const Tensors& in) {
        Tensor y = misaligned_copy(in[1]);
        axpby(ctx, y, -1.25f, misaligned_copy(in[0]), 0.5f);
        return Tensors{y.clone()};
      },
      [](const Tensors& in) { return map_ref(in, [](auto& a) { return -1.25 * a[0] + 0.5 * a[1]; }); }));
  // add_scaled: inputs a, b and the device scalar α.
  for (bool alias : {false, true}) {
    OpCase c;
    c.name = alias ? "add_scaled_accumulate_in_place" : "add_scaled";
    const Shape shape = alias ? Shape{1, 17, 7, 9} : Shape{2, 5, 7, 9};
    c.make_inputs = [=](DType dtype, uint64_t seed) {
      return Tensors{random_uniform(shape, dtype, seed, 0), random_uniform(shape, dtype, seed, 1),
                     random_uniform({1}, dtype, seed, 2, 0.5, 1.5)};
    };
    c.forward = [=](Context& ctx, const Tensors& in) {
      Tensor y = alias ? in[0].clone() : like(in[0]);
      add_scaled(ctx, y, alias ? y : in[0], -0.5f, in[2], in[1]);
      return Tensors{y};
    };
    c.reference = [](const Tensors& in) {
      const double alpha = in[2].item();
      return map_ref({in[0], in[1]}, [alpha](auto& a) { return a[0] - 0.5 * alpha * a[1]; });
    };
    cases.push_back(c);
  }
  return cases;
}

// Reductions. Values are drawn in [-1, 1), then (for nnz) those under 0.4 in magnitude set to exactly 0.
OpCase reduce_case(const std::string& name, Shape shape, int which) {
  OpCase c;
  c.name = name;
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    std::vector<double> v = random_uniform(shape, DType::f64, seed, 0).to_vector();
    if (which == 3)
      for (double& x : v) x = std::abs(x) < 0.4 ? 0.0 : x;
    if (which == 2) v[v.size() / 3] = -1.75;  // the largest magnitude is negative
    return Tensors{Tensor::from_vector(v, shape, dtype)};
  };
  c.forward = [=](Context& ctx, const Tensors& in) {
    const Tensor& x = in[0];
    Tensor out = which == 3 ? Tensor::empty({x.size(1)}, x.dtype(), x.device()) : scalar_like(x);
    if (which == 0) reduce_sum(ctx, out, x);
    if (which == 1) reduce_mean(ctx, out, x);
    if (which == 2) reduce_max_abs(ctx, out, x);
    if (which == 3) nnz_per_channel(ctx, out, x);
    return Tensors{out};
  };
  c.reference = [=](const Tensors& in) {
    std::vector<double> x = in[0].to_vector();
    if (which == 3) {
      const int64_t channels = shape[1], inner = shape.numel() / (shape[0] * shape[1]);
      std::vector<double> counts(static_cast<size_t>(channels), 0.0);
      for (size_t i = 0; i < x.size(); ++i)
        if (x[i] != 0) counts[static_cast<size_t>((static_cast<int64_t>(i) / inner) % channels)] += 1;
      return Tensors{f64(counts, {channels})};
    }
    double r = 0;
    for (double v : x) r = which == 2 ? std::max(r, std::abs(v)) : r + v;
    if (which == 1) r /= static_cast<double>(x.size());
    return Tensors{f64({r}, {1})};
  };
  c.tolerance = {1e-5, 1e-6};  // sums are accumulated in double: only the final rounding differs
  return c;
}

// Random fills; the reference is the direct loop over philox_* of the definition.
OpCase random_case(const std::string& name, Shape shape, bool normal) {
  OpCase c;
  c.name = name;
  const float a = normal ? 0.1f : -0.5f, b = normal ? 0.7f : 2.f;
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    // The seed of the fill travels as an input (the low 24 bits, exact in f32), the shape with it.
    return Tensors{Tensor::zeros(shape, dtype), Tensor::from_vector({double(seed & 0xffffff)}, {1}, dtype)};
  };
  auto key_of = [](const Tensors& in) { return RngKey{static_cast<uint64_t>(in[1].item()), RngPurpose::init, 12345}; };
  c.forward = [=](Context& ctx, const Tensors& in) {
    Tensor t = like(in[0]);
    if (normal) fill_normal(ctx, t, a, b, key_of(in));
    if (!normal) fill_uniform(ctx, t, a, b, key_of(in));
    return Tensors{t};
  };
  c.reference = [=](const Tensors& in) {
    const RngKey key = key_of(in);
    std::vector<double> v(static_cast<size_t>(shape.numel()));
    for (size_t i = 0; i < v.size(); ++i) {
      const double u = normal ? philox_normal(key, i) : philox_uniform(key, i);
      v[i] = static_cast<float>(normal ? a + double(b) * u : a + double(b - a) * u);
    }
    return Tensors{f64(v, shape)};
  };
  // Bit-identical to the definition on the CPU; a GPU's double log/cos may differ in the last bit.
  c.tolerance = normal ? Tolerance{0.0, 1e-6} : Tolerance{0.0, 0.0};
  return c;
}

}  // namespace

std::vector<OpCase> elementwise_cases() {
  std::vector<OpCase> cases = arithmetic_cases();
  cases.push_back(reduce_case("reduce_sum", {2, 5, 7, 9}, 0));
  cases.push_back(reduce_case("reduce_sum_many_blocks", {4, 17, 31, 33}, 0));
  cases.push_back(reduce_case("reduce_mean", {1, 17, 7, 9}, 1));
  cases.push_back(reduce_case("reduce_max_abs", {3, 5, 7}, 2));
  cases.push_back(reduce_case("reduce_max_abs_many_blocks", {4, 17, 31, 33}, 2));
  cases.push_back(reduce_case("nnz_per_channel", {2, 5, 7, 9}, 3));
  cases.push_back(reduce_case("nnz_per_channel_batch1", {1, 17, 7, 9}, 3));
  cases.push_back(random_case("fill_uniform", {2, 5, 7, 9}, false));
  cases.push_back(random_case("fill_normal", {1, 17, 7, 9}, true));
  for (OpCase& c : optimizer_cases()) cases.push_back(std::move(c));
  return cases;
}

}  // namespace scn::test
