#include "layers/unrolled_pursuit.h"

#include <algorithm>

#include "kernels/elementwise.h"
#include "kernels/fista_extrapolate.h"

namespace scn {

namespace {
// Unfolding t's dictionary: untied, it synthesises with the dictionary of unfolding t − 1 (which coded zₜ).
Dictionary at_unfolding(std::span<const Dictionary> ds, int t) {
  if (ds.size() == 1) return ds[0];
  Dictionary d = ds[static_cast<size_t>(t)];
  if (t > 0) d.synthesis = ds[static_cast<size_t>(t - 1)].weight;
  return d;
}
DictionaryGrads grads_at_unfolding(std::span<const DictionaryGrads> gs, int t) {
  if (gs.size() == 1) return gs[0];
  DictionaryGrads g = gs[static_cast<size_t>(t)];
  if (t > 0) g.synthesis = gs[static_cast<size_t>(t - 1)].weight;
  return g;
}
}  // namespace

UnrolledPursuit::UnrolledPursuit(int iters, PursuitAlgorithm algorithm)
    : iters_(iters), algorithm_(algorithm),
      momenta_(algorithm == PursuitAlgorithm::fista ? fista_momenta(iters)
                                                    : std::vector<float>(static_cast<size_t>(iters) + 1, 0.0f)) {}

void UnrolledPursuit::forward(Context& ctx, std::span<const Dictionary> ds, const Tensor& x, const Tensor& output,
                              PursuitTape& tape, bool keep) const {
  const int K = iters_;
  SCN_CHECK(ds.size() == 1 || ds.size() == static_cast<size_t>(K) + 1, "unrolled pursuit: ", ds.size(),
            " dictionaries for ", K, " steps");
  const bool untied = ds.size() > 1;
  const Device dev = x.device();
  const DType dt = x.dtype();
  const Shape code = output.shape();
  // Every iterate kept for backward, or three rolling slots (γₜ, γₜ₋₁, γₜ₋₂) when only the output matters.
  const size_t slots = keep ? static_cast<size_t>(K) + 1 : std::min<size_t>(static_cast<size_t>(K) + 1, 3);
  auto slot = [&](int t) { return static_cast<size_t>(t) % slots; };
  tape.codes.assign(slots, Tensor());
  tape.codes[slot(K)] = output;
  tape.code_buffers.resize(slots);
  for (size_t j = 0; j < slots; ++j) {
    if (tape.codes[j].defined()) continue;
    ensure_tensor(tape.code_buffers[j], code, dt, dev);
    tape.codes[j] = tape.code_buffers[j];
  }
  const size_t kept = keep ? static_cast<size_t>(K) : std::min<size_t>(static_cast<size_t>(K), 1);
  tape.steps.resize(kept);
  tape.point_buffers.resize(kept);
  ensure_tensor(tape.b, code, dt, dev);
  correlate(ctx, ds[0], tape.b, x);
  first_code_forward(ctx, ds[0], tape.codes[slot(0)], tape.b);
  tape.untied_b.resize(untied ? kept : 0);
  for (int t = 1; t <= K; ++t) {
    const size_t index = keep ? static_cast<size_t>(t - 1) : 0;
    PursuitStep& step = tape.steps[index];
    const Dictionary d = at_unfolding(ds, t);
    if (extrapolates(t)) {
      Tensor& point = tape.point_buffers[index];
      ensure_tensor(point, code, dt, dev);
      fista_extrapolate_forward(ctx, point, tape.codes[slot(t - 1)], tape.codes[slot(t - 2)], momenta_[t]);
      step.point = point;
    } else {
      step.point = tape.codes[slot(t - 1)];  // z₁ = γ₀; ISTA: zₜ = γₜ₋₁
    }
    if (d.form == GramForm::convolution) {
      ensure_tensor(step.image, x.shape(), dt, dev);
    } else {
      step.image = Tensor();
    }
    ensure_tensor(step.gram, code, dt, dev);
    const Tensor* b = &tape.b;
    if (untied) {
      ensure_tensor(tape.untied_b[index], code, dt, dev);
      correlate(ctx, d, tape.untied_b[index], x);  // Dₜᵀx
      b = &tape.untied_b[index];
    }
    pursuit_step_forward(ctx, d, tape.codes[slot(t)], *b, step);
  }
}

void UnrolledPursuit::backward(Context& ctx, std::span<const Dictionary> ds, std::span<const DictionaryGrads> grads,
                               const Tensor& x, const Tensor& grad_output, const Tensor& dx, PursuitTape& tape,
                               bool accumulate_dx) const {
  const int K = iters_;
  SCN_CHECK(grads.size() == ds.size(), "unrolled pursuit: ", grads.size(), " gradients for ", ds.size(),
            " dictionaries");
  const bool untied = ds.size() > 1;
  const Shape code = grad_output.shape();
  const DType dt = x.dtype();
  const Device dev = x.device();
  ensure_tensor(tape.db, code, dt, dev);
  tape.db.zero_();
  // ∂γₜ for t < K accumulate from later steps; ∂γ_K is the output gradient itself (never written).
  tape.dcodes.resize(static_cast<size_t>(K) + 1);
  for (int t = 0; t < K; ++t) {
    ensure_tensor(tape.dcodes[t], code, dt, dev);
    tape.dcodes[t].zero_();
  }
  tape.dcodes[K] = grad_output;
  bool dx_written = accumulate_dx;
  for (int t = K; t >= 1; --t) {
    const Dictionary d = at_unfolding(ds, t);
    const DictionaryGrads g = grads_at_unfolding(grads, t);
    const size_t index = static_cast<size_t>(t - 1);
    const Tensor& b = untied ? tape.untied_b[index] : tape.b;
    const Tensor& dz = pursuit_step_backward(ctx, d, g, tape.db, tape.dcodes[t], b, tape.steps[index], tape.scratch);
    if (extrapolates(t)) {
      // zₜ = γₜ₋₁ + βₜ(γₜ₋₁ − γₜ₋₂).
      fista_extrapolate_backward(ctx, tape.dcodes[t - 1], tape.dcodes[t - 2], dz, momenta_[t], true, true);
    } else {
      axpy(ctx, tape.dcodes[t - 1], 1.0f, dz);  // zₜ = γₜ₋₁
    }
    if (untied) {
      // bₜ = Dₜᵀx is this step's own: pass its gradient on now and reuse db.
      correlate_backward(ctx, d, g, dx, tape.db, x, dx_written);
      dx_written = true;
      tape.db.zero_();
    }
  }
  first_code_backward(ctx, ds[0], grads[0], tape.db, tape.dcodes[0], tape.b, tape.scratch);
  correlate_backward(ctx, ds[0], grads[0], dx, tape.db, x, dx_written);
}

}  // namespace scn
