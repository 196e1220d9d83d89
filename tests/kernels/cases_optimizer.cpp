// Conformance cases of the optimizer steps and the clamp projection over a ParamArena: several steps on
// an arena of odd-sized parameters (one spanning several tiles, one not trainable, some projected),
// against a naive per-element loop written from PyTorch's update rules. Registered through
// elementwise_cases().
#include <cmath>
#include <limits>

#include "core/param_arena.h"
#include "kernels/op_case.h"
#include "kernels/optimizer.h"

namespace scn::test {

namespace {

constexpr int kSteps = 3;
constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<ParamSpec> specs() {
  auto spec = [](std::string name, Shape shape, float lr_mult, float decay_mult, bool trainable, float lo, float hi) {
    ParamSpec s;
    s.name = std::move(name);
    s.shape = shape;
    s.lr_mult = lr_mult;
    s.decay_mult = decay_mult;
    s.trainable = trainable;
    s.clamp_min = lo;
    s.clamp_max = hi;
    return s;
  };
  return {spec("conv1.weight", {5, 3, 3, 3}, 1.f, 1.f, true, -kInf, kInf),
          spec("conv1.theta", {5}, 1.f, 0.f, true, 0.f, kInf),
          spec("conv1.eta", {1}, 0.1f, 0.f, true, 0.01f, 10.f),
          spec("bn.running_mean", {7}, 1.f, 1.f, false, -kInf, kInf),
          spec("big.weight", {3, 1001}, 2.f, 0.5f, true, -kInf, kInf),
          spec("fc.bias", {17}, 1.f, 1.f, true, -0.05f, 0.05f)};
}

int64_t packed_numel() {
  int64_t n = 0;
  for (const auto& s : specs()) n += s.shape.numel();
  return n;
}

// The segment each packed element belongs to.
std::vector<int> segment_of_packed() {
  std::vector<int> seg;
  const auto all = specs();
  for (size_t k = 0; k < all.size(); ++k) seg.insert(seg.end(), static_cast<size_t>(all[k].shape.numel()), int(k));
  return seg;
}

// Packed (all parameters back to back) ⇄ arena layout (aligned offsets, zero padding).
void scatter(const ParamArena& arena, const Tensor& arena_buffer, const Tensor& packed) {
  int64_t p = 0;
  for (int i = 0; i < arena.count(); ++i) {
    const int64_t n = arena.spec(i).shape.numel(), off = arena.offset(i);
    arena_buffer.slice(off, off + n).copy_from(packed.slice(p, p + n));
    p += n;
  }
}
Tensor gather(const ParamArena& arena, const Tensor& arena_buffer) {
  Tensor packed = Tensor::empty({packed_numel()}, arena_buffer.dtype(), arena_buffer.device());
  int64_t p = 0;
  for (int i = 0; i < arena.count(); ++i) {
    const int64_t n = arena.spec(i).shape.numel(), off = arena.offset(i);
    packed.slice(p, p + n).copy_from(arena_buffer.slice(off, off + n));
    p += n;
  }
  return packed;
}

enum class Kind { sgd, sgd_nesterov, sgd_plain, adam, adamw, project };

SgdOptions sgd_options(Kind k) {
  SgdOptions o;
  o.lr = 0.1f;
  o.momentum = k == Kind::sgd_plain ? 0.f : 0.9f;
  o.weight_decay = 0.05f;
  o.nesterov = k == Kind::sgd_nesterov;
  return o;
}

AdamOptions adam_options(Kind k, int step) {
  AdamOptions o;
  o.lr = 0.01f;
  o.beta1 = 0.8f;
  o.beta2 = 0.95f;
  o.eps = 1e-6f;
  o.weight_decay = 0.1f;
  o.decoupled = k == Kind::adamw;
  o.step = step;
  return o;
}

// Inputs (packed): values, state 1 (velocity or m), state 2 (v of Adam, ≥ 0), then kSteps gradients.
OpCase optimizer_case(const std::string& name, Kind kind) {
  OpCase c;
  c.name = name;
  const Shape packed{packed_numel()};
  c.make_inputs = [=](DType dtype, uint64_t seed) {
    Tensors in{random_uniform(packed, dtype, seed, 0, kind == Kind::project ? -2.0 : -1.0, 1.0),
               random_uniform(packed, dtype, seed, 1, -0.1, 0.1), random_uniform(packed, dtype, seed, 2, 0.0, 0.01)};
    for (int t = 0; t < kSteps; ++t) in.push_back(random_uniform(packed, dtype, seed, 3 + t));
    return in;
  };
  c.forward = [=](Context& ctx, const Tensors& in) {
    ParamArena arena;
    for (const auto& s : specs()) arena.add(s);
    const DType dtype = in[0].dtype();
    arena.allocate(ctx.device(), dtype);
    const ParamTable table = make_param_table(arena);
    const int64_t total = arena.values().numel();
    Tensor s1 = Tensor::zeros({total}, dtype, ctx.device()), s2 = Tensor::zeros({total}, dtype, ctx.device());
    scatter(arena, arena.values(), in[0]);
    scatter(arena, s1, in[1]);
    scatter(arena, s2, in[2]);
    if (kind == Kind::project) {
      project_params(ctx, table, arena.values());
      return Tensors{gather(arena, arena.values())};
    }
    for (int t = 0; t < kSteps; ++t) {
      scatter(arena, arena.grads(), in[3 + t]);
      if (kind == Kind::adam || kind == Kind::adamw) {
        adam_step(ctx, table, arena.values(), s1, s2, arena.grads(), adam_options(kind, t + 1));
      } else {
        sgd_step(ctx, table, arena.values(), kind == Kind::sgd_plain ? Tensor() : s1, arena.grads(), sgd_options(kind));
      }
    }
    return Tensors{gather(arena, arena.values()), gather(arena, s1), gather(arena, s2)};
  };
  c.reference = [=](const Tensors& in) {
    std::vector<double> w = in[0].to_vector(), s1 = in[1].to_vector(), s2 = in[2].to_vector();
    const std::vector<int> seg = segment_of_packed();
    const auto all = specs();
    std::vector<std::vector<double>> grads;
    for (int t = 0; t < kSteps; ++t) grads.push_back(in[3 + t].to_vector());
    for (size_t i = 0; i < w.size(); ++i) {
      const ParamSpec& s = all[static_cast<size_t>(seg[i])];
      if (kind == Kind::project) {
        w[i] = std::min<double>(std::max<double>(w[i], s.clamp_min), s.clamp_max);
        continue;
      }
      if (!s.trainable) continue;
      for (int t = 0; t < kSteps; ++t) {
        double g = grads[static_cast<size_t>(t)][i];
        if (kind == Kind::adam || kind == Kind::adamw) {
          const AdamOptions o = adam_options(kind, t + 1);
          const double lr = double(o.lr) * s.lr_mult, wd = double(o.weight_decay) * s.decay_mult;
          if (o.decoupled)
            w[i] -= lr * wd * w[i];
          else
            g += wd * w[i];
          s1[i] = o.beta1 * s1[i] + (1 - double(o.beta1)) * g;
          s2[i] = o.beta2 * s2[i] + (1 - double(o.beta2)) * g * g;
          const double m_hat = s1[i] / (1 - std::pow(double(o.beta1), t + 1));
          const double v_hat = s2[i] / (1 - std::pow(double(o.beta2), t + 1));
          w[i] -= lr * m_hat / (std::sqrt(v_hat) + o.eps);
        } else {
          const SgdOptions o = sgd_options(kind);
          const double lr = double(o.lr) * s.lr_mult, wd = double(o.weight_decay) * s.decay_mult;
          g += wd * w[i];
          if (o.momentum == 0) {
            w[i] -= lr * g;
            continue;
          }
          s1[i] = o.momentum * s1[i] + g;
          w[i] -= lr * (o.nesterov ? g + o.momentum * s1[i] : s1[i]);
        }
      }
    }
    const Shape packed_shape{static_cast<int64_t>(w.size())};
    if (kind == Kind::project) return Tensors{Tensor::from_vector(w, packed_shape, DType::f64)};
    return Tensors{Tensor::from_vector(w, packed_shape, DType::f64), Tensor::from_vector(s1, packed_shape, DType::f64),
                   Tensor::from_vector(s2, packed_shape, DType::f64)};
  };
  // Adam divides by √v: a few ulps of f32 relative error in v become 1e-4-ish in the step.
  c.tolerance = {2e-5, 2e-4};
  return c;
}

}  // namespace

std::vector<OpCase> optimizer_cases() {
  return {optimizer_case("sgd_momentum", Kind::sgd),
          optimizer_case("sgd_nesterov", Kind::sgd_nesterov),
          optimizer_case("sgd_no_momentum", Kind::sgd_plain),
          optimizer_case("adam", Kind::adam),
          optimizer_case("adamw", Kind::adamw),
          optimizer_case("project_params", Kind::project)};
}

}  // namespace scn::test
