#include "layers/multi_layer_pursuit.h"

#include "kernels/elementwise.h"
#include "kernels/fista_extrapolate.h"

namespace scn {

namespace {

size_t sweep_index(const MultiLayerDictionaries& ds, int t) { return ds.size() == 1 ? 0 : static_cast<size_t>(t); }

// Layer i's dictionaries at sweep t. Untied, the Gram synthesises with sweep t − 1's dictionary, which coded zᵢ.
LayerDictionaries at_sweep(const MultiLayerDictionaries& ds, int t, size_t i) {
  LayerDictionaries d = ds[sweep_index(ds, t)][i];
  if (ds.size() > 1 && t > 0) d.code.synthesis = ds[static_cast<size_t>(t - 1)][i].code.weight;
  return d;
}
LayerDictionaryGrads grads_at_sweep(const MultiLayerGrads& gs, int t, size_t i) {
  LayerDictionaryGrads g = gs[gs.size() == 1 ? 0 : static_cast<size_t>(t)][i];
  if (gs.size() > 1 && t > 0) g.code.synthesis = gs[static_cast<size_t>(t - 1)][i].code.weight;
  return g;
}
// The dictionary that back-projects layer i + 1's point at sweep t: Bᵢ₊₁ of the sweep that coded it.
const Dictionary& back_projection(const MultiLayerDictionaries& ds, int t, size_t i) {
  return ds[sweep_index(ds, t - 1)][i + 1].input;
}
const DictionaryGrads& back_projection_grads(const MultiLayerGrads& gs, int t, size_t i) {
  return gs[gs.size() == 1 ? 0 : static_cast<size_t>(t - 1)][i + 1].input;
}

}  // namespace

MultiLayerPursuit::MultiLayerPursuit(MultiLayerAlgorithm algorithm, int iters, bool back_project)
    : algorithm_(algorithm), iters_(iters), back_project_(back_project),
      momenta_(algorithm == MultiLayerAlgorithm::ml_fista ? fista_momenta(iters)
                                                          : std::vector<float>(static_cast<size_t>(iters) + 1, 0.0f)),
      layered_(iters, PursuitAlgorithm::ista) {}

void MultiLayerPursuit::forward(Context& ctx, const MultiLayerDictionaries& ds, const Tensor& x,
                                const std::vector<Shape>& code_shapes, const Tensor& output,
                                MultiLayerTape& tape) const {
  const size_t L = code_shapes.size();
  SCN_CHECK(L >= 1 && !ds.empty() && ds[0].size() == L, "ml_pursuit: dictionaries for ", ds.empty() ? 0 : ds[0].size(),
            " layers, codes for ", L);
  SCN_CHECK(ds.size() == 1 || ds.size() == static_cast<size_t>(iters_) + 1, "ml_pursuit: ", ds.size(),
            " sweeps of dictionaries for ", iters_, " sweeps");
  if (algorithm_ == MultiLayerAlgorithm::lbp) return forward_layered(ctx, ds, x, code_shapes, output, tape);
  const int T = iters_;
  const DType dt = x.dtype();
  const Device dev = x.device();
  tape.codes.resize(static_cast<size_t>(T) + 1);
  tape.b.resize(static_cast<size_t>(T) + 1);
  tape.steps.resize(static_cast<size_t>(T) + 1);
  tape.point_buffers.resize(static_cast<size_t>(T) + 1);
  for (int t = 0; t <= T; ++t) {
    auto& codes = tape.codes[t];
    codes.resize(L);
    tape.b[t].resize(L);
    tape.steps[t].resize(L);
    tape.point_buffers[t].resize(L);
    for (size_t i = 0; i < L; ++i) {
      if (t == T && i + 1 == L) codes[i] = output;
      else ensure_tensor(codes[i], code_shapes[i], dt, dev);
      if (!(i == 0 && t > 0 && ds.size() == 1)) ensure_tensor(tape.b[t][i], code_shapes[i], dt, dev);
    }
  }
  for (int t = 0; t <= T; ++t) {
    if (t > 0) {
      // The points of this sweep, deepest first: γ_L (or its extrapolation), then the back-projections.
      for (size_t j = L; j-- > 0;) {
        PursuitStep& step = tape.steps[t][j];
        Tensor& buffer = tape.point_buffers[t][j];
        if (j + 1 == L && extrapolates(t)) {
          ensure_tensor(buffer, code_shapes[j], dt, dev);
          fista_extrapolate_forward(ctx, buffer, tape.codes[t - 1][j], tape.codes[t - 2][j], momenta_[t]);
          step.point = buffer;
        } else if (j + 1 < L && back_project_) {
          ensure_tensor(buffer, code_shapes[j], dt, dev);
          reconstruct(ctx, back_projection(ds, t, j), buffer, tape.steps[t][j + 1].point);
          step.point = buffer;
        } else {
          step.point = tape.codes[t - 1][j];
        }
      }
    }
    for (size_t i = 0; i < L; ++i) {
      const LayerDictionaries d = at_sweep(ds, t, i);
      const Tensor& y = i == 0 ? x : tape.codes[t][i - 1];
      if (i == 0 && t > 0 && ds.size() == 1) {
        tape.b[t][0] = tape.b[0][0];  // tied: B₁ᵀx is the same at every sweep
      } else {
        correlate(ctx, d.input, tape.b[t][i], y);
      }
      if (t == 0) {
        first_code_forward(ctx, d.code, tape.codes[0][i], tape.b[0][i]);
        continue;
      }
      PursuitStep& step = tape.steps[t][i];
      ensure_tensor(step.image, y.shape(), dt, dev);
      ensure_tensor(step.gram, code_shapes[i], dt, dev);
      pursuit_step_forward(ctx, d.code, tape.codes[t][i], tape.b[t][i], step);
    }
  }
}

void MultiLayerPursuit::backward(Context& ctx, const MultiLayerDictionaries& ds, const MultiLayerGrads& grads,
                                 const Tensor& x, const Tensor& grad_output, const Tensor& dx,
                                 MultiLayerTape& tape) const {
  if (algorithm_ == MultiLayerAlgorithm::lbp) return backward_layered(ctx, ds, grads, x, grad_output, dx, tape);
  const int T = iters_;
  const size_t L = tape.codes.at(0).size();
  const DType dt = x.dtype();
  const Device dev = x.device();
  tape.dcodes.resize(static_cast<size_t>(T) + 1);
  for (int t = 0; t <= T; ++t) {
    tape.dcodes[t].resize(L);
    for (size_t i = 0; i < L; ++i) {
      if (t == T && i + 1 == L) {
        tape.dcodes[t][i] = grad_output;  // never written
        continue;
      }
      ensure_tensor(tape.dcodes[t][i], tape.codes[t][i].shape(), dt, dev);
      tape.dcodes[t][i].zero_();
    }
  }
  tape.dpoints.resize(L);
  tape.db_by_layer.resize(L);
  bool dx_written = false;
  // Tied, every sweep shares b₁ = B₁ᵀx: its gradient is summed over the sweeps and passed to x and B₁ once.
  const bool shared_b = ds.size() == 1;
  if (shared_b) {
    ensure_tensor(tape.db_by_layer[0], tape.b[0][0].shape(), dt, dev);
    tape.db_by_layer[0].zero_();
  }
  for (int t = T; t >= 0; --t) {
    for (size_t i = L; i-- > 0;) {
      const LayerDictionaries d = at_sweep(ds, t, i);
      const LayerDictionaryGrads g = grads_at_sweep(grads, t, i);
      Tensor& db = tape.db_by_layer[i];
      if (!(shared_b && i == 0)) {
        ensure_tensor(db, tape.b[t][i].shape(), dt, dev);
        db.zero_();
      }
      if (t == 0) {
        first_code_backward(ctx, d.code, g.code, db, tape.dcodes[0][i], tape.b[0][i], tape.scratch);
      } else {
        const Tensor& dz = pursuit_step_backward(ctx, d.code, g.code, db, tape.dcodes[t][i], tape.b[t][i],
                                                 tape.steps[t][i], tape.scratch);
        ensure_tensor(tape.dpoints[i], dz.shape(), dt, dev);
        tape.dpoints[i].copy_from(dz);
      }
      // b = Bᵀγᵢ₋₁: its gradient goes to the shallower code of this sweep (or to x).
      if (i > 0) {
        correlate_backward(ctx, d.input, g.input, tape.dcodes[t][i - 1], db, tape.codes[t][i - 1], true);
      } else if (!shared_b || t == 0) {
        correlate_backward(ctx, d.input, g.input, dx, db, x, dx_written);
        dx_written = true;
      }
    }
    if (t == 0) break;
    // The points: back-projections (zᵢ = Bᵢ₊₁zᵢ₊₁) pass their gradient down to the deeper point, the rest go to
    // the previous sweep's codes.
    for (size_t j = 0; j < L; ++j) {
      if (j + 1 < L && back_project_) {
        reconstruct_backward(ctx, back_projection(ds, t, j), back_projection_grads(grads, t, j), tape.dpoints[j + 1],
                             true, tape.dpoints[j], tape.steps[t][j + 1].point);
      } else if (j + 1 == L && extrapolates(t)) {
        fista_extrapolate_backward(ctx, tape.dcodes[t - 1][j], tape.dcodes[t - 2][j], tape.dpoints[j], momenta_[t],
                                   true, true);
      } else {
        axpy(ctx, tape.dcodes[t - 1][j], 1.0f, tape.dpoints[j]);
      }
    }
  }
}

void MultiLayerPursuit::forward_layered(Context& ctx, const MultiLayerDictionaries& ds, const Tensor& x,
                                        const std::vector<Shape>& code_shapes, const Tensor& output,
                                        MultiLayerTape& tape) const {
  const size_t L = code_shapes.size();
  tape.layered.resize(L);
  tape.codes.resize(1);
  tape.codes[0].resize(L);
  for (size_t i = 0; i < L; ++i) {
    std::vector<Dictionary> unfoldings;
    for (const auto& sweep : ds) unfoldings.push_back(sweep[i].code);
    Tensor& code = tape.codes[0][i];
    if (i + 1 == L) code = output;
    else ensure_tensor(code, code_shapes[i], x.dtype(), x.device());
    layered_.forward(ctx, unfoldings, i == 0 ? x : tape.codes[0][i - 1], code, tape.layered[i], true);
  }
}

void MultiLayerPursuit::backward_layered(Context& ctx, const MultiLayerDictionaries& ds, const MultiLayerGrads& grads,
                                         const Tensor& x, const Tensor& grad_output, const Tensor& dx,
                                         MultiLayerTape& tape) const {
  const size_t L = tape.codes.at(0).size();
  tape.dcodes.resize(1);
  tape.dcodes[0].resize(L);
  for (size_t i = L; i-- > 0;) {
    std::vector<Dictionary> unfoldings;
    std::vector<DictionaryGrads> unfolding_grads;
    for (size_t u = 0; u < ds.size(); ++u) {
      unfoldings.push_back(ds[u][i].code);
      unfolding_grads.push_back(grads[u][i].code);
    }
    const Tensor& dcode = i + 1 == L ? grad_output : tape.dcodes[0][i];
    Tensor din;
    if (i > 0) {
      ensure_tensor(tape.dcodes[0][i - 1], tape.codes[0][i - 1].shape(), x.dtype(), x.device());
      din = tape.dcodes[0][i - 1];
    } else {
      din = dx;
    }
    layered_.backward(ctx, unfoldings, unfolding_grads, i == 0 ? x : tape.codes[0][i - 1], dcode, din,
                      tape.layered[i]);
  }
}

std::vector<Tensor> MultiLayerPursuit::final_codes(const MultiLayerTape& tape) const {
  SCN_CHECK(!tape.codes.empty(), "ml_pursuit: codes read before a forward");
  return tape.codes.back();
}

}  // namespace scn
