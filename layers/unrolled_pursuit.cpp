#include "layers/unrolled_pursuit.h"

#include <algorithm>

#include "kernels/elementwise.h"
#include "kernels/fista_extrapolate.h"

namespace scn {

UnrolledPursuit::UnrolledPursuit(int iters, PursuitAlgorithm algorithm)
    : iters_(iters), algorithm_(algorithm),
      momenta_(algorithm == PursuitAlgorithm::fista ? fista_momenta(iters)
                                                    : std::vector<float>(static_cast<size_t>(iters) + 1, 0.0f)) {}

void UnrolledPursuit::forward(Context& ctx, const Dictionary& d, const Tensor& x, const Tensor& output,
                              PursuitTape& tape, bool keep) const {
  const int K = iters_;
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
  correlate(ctx, d, tape.b, x);
  first_code_forward(ctx, d, tape.codes[slot(0)], tape.b);
  for (int t = 1; t <= K; ++t) {
    PursuitStep& step = tape.steps[keep ? static_cast<size_t>(t - 1) : 0];
    if (extrapolates(t)) {
      Tensor& point = tape.point_buffers[keep ? static_cast<size_t>(t - 1) : 0];
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
    pursuit_step_forward(ctx, d, tape.codes[slot(t)], tape.b, step);
  }
}

void UnrolledPursuit::backward(Context& ctx, const Dictionary& d, const DictionaryGrads& grads, const Tensor& x,
                               const Tensor& grad_output, const Tensor& dx, PursuitTape& tape) const {
  const int K = iters_;
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
  for (int t = K; t >= 1; --t) {
    const Tensor& dz = pursuit_step_backward(ctx, d, grads, tape.db, tape.dcodes[t], tape.b,
                                             tape.steps[static_cast<size_t>(t - 1)], tape.scratch);
    if (extrapolates(t)) {
      // zₜ = γₜ₋₁ + βₜ(γₜ₋₁ − γₜ₋₂).
      fista_extrapolate_backward(ctx, tape.dcodes[t - 1], tape.dcodes[t - 2], dz, momenta_[t], true, true);
    } else {
      axpy(ctx, tape.dcodes[t - 1], 1.0f, dz);  // zₜ = γₜ₋₁
    }
  }
  first_code_backward(ctx, d, grads, tape.db, tape.dcodes[0], tape.b, tape.scratch);
  correlate_backward(ctx, d, grads, dx, tape.db, x);
}

}  // namespace scn
