// The dictionaries and the code draws of the synthetic ML-CSC experiments (analysis/synthetic_mlcsc.h).
#include "analysis/synthetic_mlcsc.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "analysis/local_sparsity.h"
#include "core/error.h"
#include "core/philox.h"
#include "kernels/elementwise.h"
#include "kernels/fista_extrapolate.h"
#include "kernels/random_fill.h"

namespace scn {

namespace {

// Every random stream of a draw is (seed, data, offset): one block of 2³⁴ counters per (stream, component),
// so the components of one draw and the draws of one run never share a counter.
enum class Component : uint64_t { order = 0, seed_stripe = 1, magnitude = 2, sign = 3, noise = 4 };
RngKey stream_key(uint64_t seed, uint64_t stream, Component component) {
  return RngKey{seed, RngPurpose::data, (stream * 8 + static_cast<uint64_t>(component)) << 34};
}

// A uniform index in [0, n) from 64 random bits (two Philox words): no visible modulo bias for any n here.
uint64_t random_index(const RngKey& key, uint64_t i, uint64_t n) {
  const uint64_t bits = (static_cast<uint64_t>(philox_bits(key, i, 0)) << 32) | philox_bits(key, i, 1);
  return bits % n;
}

// The first `take` entries of a random permutation of 0 … n−1 (partial Fisher–Yates).
std::vector<int64_t> random_order(const RngKey& key, uint64_t first_counter, int64_t n, int64_t take) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  for (int64_t i = 0; i < take; ++i) {
    const int64_t j = i + static_cast<int64_t>(random_index(key, first_counter + static_cast<uint64_t>(i),
                                                            static_cast<uint64_t>(n - i)));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  order.resize(static_cast<size_t>(take));
  return order;
}

// The dictionaries' streams: one block of 2³² counters per (layer, attempt) in a block of 2⁴⁰ per layer;
// the last block of each layer starts its power iteration.
constexpr int kAttempts = 50;
constexpr int kPowerVectorBlock = 255;
RngKey dictionary_key(uint64_t seed, int layer, int block) {
  return RngKey{seed, RngPurpose::init,
                ((static_cast<uint64_t>(layer) + 1) << 40) + (static_cast<uint64_t>(block) << 32)};
}

void normalise_atoms(const Tensor& w) {
  const int64_t atoms = w.size(0), size = w.numel() / atoms;
  float* v = w.data<float>();
  for (int64_t a = 0; a < atoms; ++a) {
    double sum = 0;
    for (int64_t j = 0; j < size; ++j) sum += double(v[a * size + j]) * v[a * size + j];
    SCN_CHECK(sum > 0, "synthetic dictionary: atom ", a, " is all zero");
    const float inv = static_cast<float>(1 / std::sqrt(sum));
    for (int64_t j = 0; j < size; ++j) v[a * size + j] *= inv;
  }
}

// Dense atoms: i.i.d. Gaussian entries, normalised.
Tensor dense_atoms(Context& ctx, const SyntheticLayerSpec& s, const RngKey& key) {
  Tensor w = Tensor::empty({s.atoms, s.channels, s.kernel, s.kernel});
  fill_normal(ctx, w, 0.0f, 1.0f, key);
  normalise_atoms(w);
  return w;
}

// Sparse atoms: `atom_nonzeros` distinct entries of value ±1/√n per atom, so each is unit norm as drawn.
Tensor sparse_atoms(const SyntheticLayerSpec& s, const RngKey& key) {
  const int64_t size = static_cast<int64_t>(s.channels) * s.kernel * s.kernel;
  SCN_CHECK(s.atom_nonzeros <= size, "synthetic dictionary: ", s.atom_nonzeros, " non-zeros do not fit an atom of ",
            size, " entries");
  Tensor w = Tensor::zeros({s.atoms, s.channels, s.kernel, s.kernel});
  float* v = w.data<float>();
  const float magnitude = static_cast<float>(1 / std::sqrt(double(s.atom_nonzeros)));
  for (int64_t a = 0; a < s.atoms; ++a) {
    const uint64_t first = static_cast<uint64_t>(a) * static_cast<uint64_t>(size + 1);
    const std::vector<int64_t> entries = random_order(key, first, size, s.atom_nonzeros);
    for (size_t i = 0; i < entries.size(); ++i) {
      // Word 2 of the counter whose words 0 and 1 chose the entry: an independent bit per non-zero.
      const bool negative = philox_bits(key, first + i, 2) & 1;
      v[a * size + entries[i]] = negative ? -magnitude : magnitude;
    }
  }
  return w;
}

void check_specs(int64_t height, int64_t width, const std::vector<SyntheticLayerSpec>& specs) {
  SCN_CHECK(!specs.empty(), "synthetic model: no layers");
  SCN_CHECK(height > 0 && width > 0, "synthetic model: the image must be at least 1×1, got ", height, "×", width);
  for (size_t i = 0; i < specs.size(); ++i) {
    const SyntheticLayerSpec& s = specs[i];
    const int expected = i == 0 ? 1 : specs[i - 1].atoms;
    SCN_CHECK(s.atoms > 0, "synthetic model: layer ", i + 1, " has no atoms");
    SCN_CHECK(s.channels == expected, "synthetic model: layer ", i + 1, " has ", s.channels,
              " input channels, but the layer below gives ", expected);
    SCN_CHECK(s.kernel > 0 && s.kernel % 2 == 1, "synthetic model: layer ", i + 1,
              " needs an odd kernel (pad k/2 keeps the code the size of the image), got ", s.kernel);
    SCN_CHECK(s.stride == 1, "synthetic model: layer ", i + 1, " has stride ", s.stride,
              "; only stride 1 is modelled (every code is the size of the image)");
    SCN_CHECK(s.atom_nonzeros >= 0, "synthetic model: layer ", i + 1, ": negative atom_nonzeros");
  }
}

double estimate_lipschitz(Context& ctx, const SyntheticModel& m, int layer, uint64_t seed) {
  PowerIteration p;
  const SyntheticLayerSpec& s = m.specs[static_cast<size_t>(layer)];
  p.vector = Tensor::empty(m.code_shape(layer, 1));
  p.next = Tensor::empty(m.code_shape(layer, 1));
  p.image = Tensor::empty({1, s.channels, m.height, m.width});
  p.lipschitz = Tensor::empty({1});
  fill_normal(ctx, p.vector, 0.0f, 1.0f, dictionary_key(seed, layer, kPowerVectorBlock));
  power_iterate(ctx, layer_dictionary(m, layer, Tensor(), Tensor()), p, 200, Tensor());
  const double l = p.lipschitz.item();
  SCN_CHECK(std::isfinite(l) && l > 0, "synthetic model: ‖D", layer + 1, "‖² came out as ", l);
  return l;
}

}  // namespace

// ---- the model ---------------------------------------------------------------------------------------

ConvParams SyntheticModel::geometry(int layer) const {
  const SyntheticLayerSpec& s = specs.at(static_cast<size_t>(layer));
  return ConvParams{s.stride, s.kernel / 2};
}

int SyntheticModel::stripe(int layer) const {
  const SyntheticLayerSpec& s = specs.at(static_cast<size_t>(layer));
  return stripe_width(s.kernel, s.stride);
}

Shape SyntheticModel::code_shape(int layer, int64_t count) const {
  return Shape{count, specs.at(static_cast<size_t>(layer)).atoms, height, width};
}

SyntheticModel make_synthetic_model(Context& ctx, int64_t height, int64_t width,
                                    const std::vector<SyntheticLayerSpec>& specs, uint64_t seed) {
  check_specs(height, width, specs);
  SCN_CHECK(ctx.device().is_cpu(), "synthetic model: runs on the CPU, got a context for ", ctx.device().str());
  SyntheticModel m;
  m.height = height, m.width = width, m.specs = specs;
  for (size_t i = 0; i < specs.size(); ++i) {
    const SyntheticLayerSpec& s = specs[i];
    for (int attempt = 0;; ++attempt) {
      const RngKey key = dictionary_key(seed, static_cast<int>(i), attempt);
      Tensor w = s.atom_nonzeros == 0 ? dense_atoms(ctx, s, key) : sparse_atoms(s, key);
      Coherence c = dictionary_coherence(ctx, w, s.stride);
      // μ = 1: an atom repeats another (or itself) up to a shift — the model would not be identifiable.
      if (c.mutual < 1 - 1e-4) {
        m.weights.push_back(w);
        m.coherence.push_back(c);
        break;
      }
      SCN_CHECK(attempt + 1 < kAttempts, "synthetic model: layer ", i + 1, ": ", kAttempts,
                " draws of sparse atoms all repeat an atom up to a shift (μ = 1); use more atom non-zeros or channels");
    }
  }
  for (int i = 0; i < m.depth(); ++i) m.lipschitz.push_back(estimate_lipschitz(ctx, m, i, seed));
  return m;
}

Dictionary layer_dictionary(const SyntheticModel& model, int layer, const Tensor& threshold, const Tensor& step) {
  Dictionary d;
  d.weight = model.weights.at(static_cast<size_t>(layer));
  d.threshold = threshold;
  d.step = step;
  d.geometry = model.geometry(layer);
  d.mode = ThresholdMode::two_sided;  // the codes carry both signs
  d.form = GramForm::convolution;
  return d;
}

// ---- the draws ---------------------------------------------------------------------------------------

Tensor draw_sparse_code(const CodeDrawSpec& spec, int64_t count, int64_t channels, int64_t height, int64_t width,
                        int window, uint64_t seed, uint64_t stream) {
  const int target = spec.local_sparsity;
  const int64_t m = spec.margin;
  SCN_CHECK(m >= 0 && 2 * m < height && 2 * m < width, "synthetic code: a margin of ", m, " leaves nothing of a ",
            height, "×", width, " code");
  const int64_t wh = std::min<int64_t>(window, height), ww = std::min<int64_t>(window, width);
  // The stripe that attains the target lies inside the margin: it may be cut to the interior.
  const int64_t sh = std::min(wh, height - 2 * m), sw = std::min(ww, width - 2 * m);
  const int64_t capacity = channels * sh * sw;
  SCN_CHECK(target >= 1 && target <= capacity, "synthetic code: local sparsity ", target,
            " is not in 1 … ", capacity, " (the entries of one ", sh, "×", sw, "×", channels,
            " stripe inside the margin)");
  SCN_CHECK(spec.contrast > 0 && spec.contrast <= 1, "synthetic code: contrast ", spec.contrast,
            " is not in (0, 1]");
  SCN_CHECK(spec.amplitude > 0, "synthetic code: amplitude must be positive, got ", spec.amplitude);
  SCN_CHECK(spec.max_nonzeros == 0 || spec.max_nonzeros >= target, "synthetic code: max_nonzeros ",
            spec.max_nonzeros, " is below the local sparsity ", target, " it must attain");
  const int64_t plane = height * width, entries = channels * plane;
  const int64_t rows = height - wh + 1, cols = width - ww + 1;  // window origins (full windows only)
  const RngKey order_key = stream_key(seed, stream, Component::order);
  const RngKey stripe_key = stream_key(seed, stream, Component::seed_stripe);
  const RngKey magnitude_key = stream_key(seed, stream, Component::magnitude);
  const RngKey sign_key = stream_key(seed, stream, Component::sign);
  Tensor code = Tensor::zeros({count, channels, height, width});
  float* out = code.data<float>();
  std::vector<int> stripe_counts(static_cast<size_t>(rows * cols));
  std::vector<char> occupied(static_cast<size_t>(entries));
  for (int64_t n = 0; n < count; ++n) {
    std::fill(stripe_counts.begin(), stripe_counts.end(), 0);
    std::fill(occupied.begin(), occupied.end(), 0);
    int64_t placed = 0;
    // The windows holding position (y, x): origins y0 ∈ [y − wh + 1, y] ∩ [0, rows).
    auto for_each_stripe = [&](int64_t y, int64_t x, auto&& f) {
      for (int64_t y0 = std::max<int64_t>(0, y - wh + 1); y0 <= std::min(y, rows - 1); ++y0)
        for (int64_t x0 = std::max<int64_t>(0, x - ww + 1); x0 <= std::min(x, cols - 1); ++x0)
          if (!f(stripe_counts[static_cast<size_t>(y0 * cols + x0)])) return false;
      return true;
    };
    auto place = [&](int64_t entry) {
      occupied[static_cast<size_t>(entry)] = 1;
      const int64_t y = entry % plane / width, x = entry % plane % width;
      for_each_stripe(y, x, [](int& c) { return ++c, true; });
      const uint64_t i = static_cast<uint64_t>(n * entries + entry);
      const double u = philox_uniform(magnitude_key, i);
      const double magnitude = spec.amplitude * (spec.contrast + (1 - spec.contrast) * u);
      out[n * entries + entry] = static_cast<float>((philox_bits(sign_key, i) & 1) ? -magnitude : magnitude);
      ++placed;
    };
    // The target stripe first: `target` distinct entries inside one random window attain ‖Γ‖₀,∞ = target
    // and cannot push any window past it (a window holds at most these).
    const uint64_t image_counter = static_cast<uint64_t>(n) * static_cast<uint64_t>(capacity + 2);
    const int64_t y0 =
        m + static_cast<int64_t>(random_index(stripe_key, image_counter, static_cast<uint64_t>(height - 2 * m - sh + 1)));
    const int64_t x0 =
        m + static_cast<int64_t>(random_index(stripe_key, image_counter + 1, static_cast<uint64_t>(width - 2 * m - sw + 1)));
    for (int64_t e : random_order(stripe_key, image_counter + 2, capacity, target)) {
      const int64_t c = e / (sh * sw), y = y0 + e % (sh * sw) / sw, x = x0 + e % sw;
      place(c * plane + y * width + x);
    }
    // Then every other entry once, in random order, kept when no stripe holding it is full.
    const int64_t budget = spec.max_nonzeros > 0 ? spec.max_nonzeros : entries;
    for (int64_t entry : random_order(order_key, static_cast<uint64_t>(n * entries), entries, entries)) {
      if (placed >= budget) break;
      if (occupied[static_cast<size_t>(entry)]) continue;
      const int64_t y = entry % plane / width, x = entry % plane % width;
      if (y < m || y >= height - m || x < m || x >= width - m) continue;
      if (for_each_stripe(y, x, [&](int& c) { return c < target; })) place(entry);
    }
  }
  return code;
}

int whole_atom_margin(const SyntheticModel& model, int depth) {
  int margin = 0;
  for (int i = 0; i < depth; ++i) margin += model.specs.at(static_cast<size_t>(i)).kernel / 2;
  return margin;
}

SyntheticBatch draw_batch(Context& ctx, const SyntheticModel& model, int depth, int64_t count,
                          const CodeDrawSpec& spec, double noise, uint64_t seed, uint64_t stream) {
  SCN_CHECK(depth >= 1 && depth <= model.depth(), "synthetic draw: depth ", depth, " is not in 1 … ", model.depth(),
            " (the model's layers)");
  SCN_CHECK(count >= 1, "synthetic draw: needs at least one image, got ", count);
  SCN_CHECK(noise >= 0 && std::isfinite(noise), "synthetic draw: noise σ must be ≥ 0, got ", noise);
  SyntheticBatch batch;
  batch.codes.resize(static_cast<size_t>(depth));
  const int deepest = depth - 1;
  CodeDrawSpec whole = spec;
  whole.margin = std::max(spec.margin, whole_atom_margin(model, depth));
  batch.codes[static_cast<size_t>(deepest)] =
      draw_sparse_code(whole, count, model.specs[static_cast<size_t>(deepest)].atoms, model.height, model.width,
                       model.stripe(deepest), seed, stream);
  for (int i = deepest; i >= 1; --i) {  // Γᵢ₋₁ = DᵢΓᵢ
    batch.codes[static_cast<size_t>(i - 1)] = Tensor::empty(model.code_shape(i - 1, count));
    reconstruct(ctx, layer_dictionary(model, i, Tensor(), Tensor()), batch.codes[static_cast<size_t>(i - 1)],
                batch.codes[static_cast<size_t>(i)]);
  }
  batch.signal = Tensor::empty({count, 1, model.height, model.width});
  reconstruct(ctx, layer_dictionary(model, 0, Tensor(), Tensor()), batch.signal, batch.codes[0]);
  if (noise > 0) {
    Tensor n = Tensor::empty(batch.signal.shape());
    fill_normal(ctx, n, 0.0f, static_cast<float>(noise), stream_key(seed, stream, Component::noise));
    axpy(ctx, batch.signal, 1.0f, n);
  }
  return batch;
}

}  // namespace scn
