#include "models/net_analysis.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "analysis/local_sparsity.h"
#include "kernels/reduce.h"
#include "layers/sparse_code.h"

namespace scn {

namespace {

constexpr int kMagnitudeBins = 40;

// A dictionary layer and where its code is read.
struct Target {
  int node = -1, code_node = -1;
  DictionaryInfo info;
};

std::vector<Target> dictionary_targets(const Net& net) {
  const auto& nodes = net.nodes();
  std::vector<Target> targets;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const DictionaryInfo& part : nodes[i].layer->dictionary_infos())
      if (part.part >= 0) targets.push_back(Target{static_cast<int>(i), static_cast<int>(i), part});
    const auto info = nodes[i].layer->dictionary_info();
    if (!info) continue;
    Target t{static_cast<int>(i), static_cast<int>(i), *info};
    // A convolution's code is what its ReLU lets through (the CNN layer ReLU(conv(x) + b) is one step of
    // non-negative thresholding); a sparse-coding layer's output is its code.
    if (nodes[i].type == "conv" && nodes[i].consumers == 1)
      for (size_t j = i + 1; j < nodes.size(); ++j)
        if (nodes[j].type == "relu" && nodes[j].inputs.size() == 1 && nodes[j].inputs[0] == static_cast<int>(i))
          t.code_node = static_cast<int>(j);
    targets.push_back(t);
  }
  return targets;
}

// "<node>" or, for one dictionary of a block, "<node>.<label>".
std::string target_name(const Net& net, const Target& t) {
  const std::string& node = net.nodes()[static_cast<size_t>(t.node)].name;
  return t.info.part >= 0 ? node + "." + t.info.label : node;
}

// The code a dictionary made in the last forward: node `code_node`'s output, or part `part` of that block.
Tensor code_in(const Net& net, int code_node, int part) {
  const NetNode& n = net.nodes()[static_cast<size_t>(code_node)];
  return part >= 0 ? n.layer->code_of(*n.state, part) : n.output;
}

// Σ_p ‖y_p‖² over the k×k patches y_p of x that the patch pursuit codes: every pixel counted once per patch
// covering it. For the convolution form, ‖x‖².
double patch_energy(const std::vector<double>& x, const Shape& in, const Shape& code, int k, int stride, int pad,
                    bool per_patch) {
  const int64_t N = in[0], C = in[1], H = in[2], W = in[3];
  auto cover = [&](int64_t pixel, int64_t outputs) {
    int64_t n = 0;
    for (int64_t o = 0; o < outputs; ++o) n += stride * o - pad <= pixel && pixel <= stride * o - pad + k - 1;
    return static_cast<double>(n);
  };
  std::vector<double> rows(static_cast<size_t>(H), 1.0), cols(static_cast<size_t>(W), 1.0);
  if (per_patch) {
    for (int64_t h = 0; h < H; ++h) rows[static_cast<size_t>(h)] = cover(h, code[2]);
    for (int64_t w = 0; w < W; ++w) cols[static_cast<size_t>(w)] = cover(w, code[3]);
  }
  double s = 0;
  for (int64_t n = 0; n < N * C; ++n)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t w = 0; w < W; ++w) {
        const double v = x[static_cast<size_t>((n * H + h) * W + w)];
        s += v * v * rows[static_cast<size_t>(h)] * cols[static_cast<size_t>(w)];
      }
  return s;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Sums over the analysed batches of one layer.
struct Accumulator {
  int64_t images = 0, elements = 0, nonzeros = 0;
  std::vector<double> per_channel;
  double l0_inf_sum = 0;
  int64_t l0_inf_max = 0;
  bool uniqueness = true, stability = true;
  std::vector<double> edges;
  std::vector<int64_t> counts;
  double objective = 0, change2 = 0, last2 = 0, residual2 = 0, energy = 0;
};

// Non-zeros per channel, ‖Γ‖₀,∞ per image and the histogram of |γ|.
void add_codes(Context& ctx, const Tensor& code, int window, double uniqueness, double stability,
               Accumulator& acc) {
  const int64_t C = code.size(1);
  Tensor channel_counts = Tensor::empty({C}, code.dtype(), code.device());
  nnz_per_channel(ctx, channel_counts, code);
  const std::vector<double> cc = channel_counts.to_vector();
  acc.per_channel.resize(static_cast<size_t>(C), 0.0);
  for (int64_t c = 0; c < C; ++c) {
    acc.per_channel[static_cast<size_t>(c)] += cc[static_cast<size_t>(c)];
    acc.nonzeros += static_cast<int64_t>(cc[static_cast<size_t>(c)]);
  }
  acc.images += code.size(0);
  acc.elements += code.numel();
  for (int64_t l0 : code_local_sparsity(ctx, code, window)) {
    acc.l0_inf_sum += static_cast<double>(l0);
    acc.l0_inf_max = std::max(acc.l0_inf_max, l0);
    acc.uniqueness = acc.uniqueness && static_cast<double>(l0) < uniqueness;
    acc.stability = acc.stability && static_cast<double>(l0) < stability;
  }
  const std::vector<double> v = code.to_vector();
  if (acc.edges.empty()) {
    // Log-spaced bins fixed by the first batch: four decades below its largest magnitude, two above.
    double top = 0;
    for (double x : v) top = std::max(top, std::abs(x));
    if (top <= 0 || !std::isfinite(top)) top = 1;
    acc.edges.resize(kMagnitudeBins + 1);
    for (int e = 0; e <= kMagnitudeBins; ++e)
      acc.edges[static_cast<size_t>(e)] = top * std::pow(10.0, -4.0 + 6.0 * e / kMagnitudeBins);
    acc.counts.assign(kMagnitudeBins, 0);
  }
  const double lo = std::log10(acc.edges.front()), span = std::log10(acc.edges.back()) - lo;
  for (double x : v) {
    if (x == 0 || !std::isfinite(x)) continue;
    const int bin = static_cast<int>(std::floor((std::log10(std::abs(x)) - lo) / span * kMagnitudeBins));
    ++acc.counts[static_cast<size_t>(std::clamp(bin, 0, kMagnitudeBins - 1))];
  }
}

// The lasso objective, the last step's relative change and the reconstruction error of one batch, from the
// quadratic form ‖y − Dγ‖² = ‖y‖² − 2⟨Dᵀy, γ⟩ + ⟨γ, DᵀDγ⟩ — one formula for both Gram forms.
void add_pursuit(Context& ctx, const SparseCodeLayer& layer, LayerState& state, const Tensor& x, const Target& t,
                 Accumulator& acc) {
  const SparseCodeLayer::PursuitView v = layer.last_pursuit(ctx, state);
  Tensor gram = Tensor::empty(v.last.shape(), v.last.dtype(), v.last.device());
  Tensor image = t.info.per_patch ? Tensor() : Tensor::empty(x.shape(), x.dtype(), x.device());
  apply_gram(ctx, v.dictionary, gram, v.last, image);
  const std::vector<double> g = v.last.to_vector(), G = gram.to_vector(), b = v.b.to_vector(),
                            xs = x.to_vector(), theta = v.dictionary.threshold.to_vector();
  const double eta = v.dictionary.step.item();
  const int k = static_cast<int>(layer.config().kernel);
  const double energy = patch_energy(xs, x.shape(), v.last.shape(), k, t.info.stride, t.info.pad, t.info.per_patch);
  const double residual = std::max(0.0, energy - 2 * dot(b, g) + dot(g, G));
  // Σ_c λ_c‖γ_c‖₁ with λ = θ/η (θ one per channel, or one for the layer).
  const int64_t N = v.last.size(0), C = v.last.size(1), inner = v.last.numel() / (N * C);
  double l1 = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const double lambda = theta[static_cast<size_t>(theta.size() == 1 ? 0 : c)] / eta;
      double s = 0;
      for (int64_t i = 0; i < inner; ++i) s += std::abs(g[static_cast<size_t>((n * C + c) * inner + i)]);
      l1 += lambda * s;
    }
  acc.objective += 0.5 * residual + l1;
  acc.residual2 += residual;
  acc.energy += energy;
  if (v.previous.defined()) {
    const std::vector<double> p = v.previous.to_vector();
    for (size_t i = 0; i < g.size(); ++i) acc.change2 += (g[i] - p[i]) * (g[i] - p[i]);
  }
  acc.last2 += dot(g, g);
}

}  // namespace

NetAnalysis analyze_net(Context& ctx, Net& net, BatchSource& source, int64_t images, int64_t batch, Mode mode) {
  SCN_CHECK(images > 0 && batch > 0, "analyze: images and batch must be positive");
  const std::vector<Target> targets = dictionary_targets(net);
  NetAnalysis result;
  for (const Target& t : targets) {
    LayerAnalysis l;
    const NetNode& node = net.nodes()[static_cast<size_t>(t.node)];
    l.node = target_name(net, t);
    l.type = node.type;
    l.code_node = t.info.part >= 0 ? l.node : net.nodes()[static_cast<size_t>(t.code_node)].name;
    l.per_patch = t.info.per_patch;
    l.coherence = dictionary_coherence(ctx, net.params().value(t.info.weight), t.info.stride);
    l.mu = l.per_patch ? l.coherence.patch : l.coherence.mutual;
    l.uniqueness = uniqueness_bound(l.mu);
    l.stability = stability_bound(l.mu);
    l.stripe_width = l.per_patch ? 1 : stripe_width(l.coherence.kernel, t.info.stride);
    l.has_pursuit = node.type == "sparse_code" && t.info.iters > 0;
    result.layers.push_back(l);
  }
  std::vector<Accumulator> acc(targets.size());
  source.start_epoch(0);
  Tensor x, y;
  for (int64_t done = 0, index = 0; done < std::min(images, source.size()); ++index) {
    const int64_t n = source.batch(ctx, index, std::min(batch, images - done), x, y);
    if (n == 0) break;
    net.forward(ctx, x, mode);
    for (size_t i = 0; i < targets.size(); ++i) {
      const Target& t = targets[i];
      const LayerAnalysis& l = result.layers[i];
      add_codes(ctx, code_in(net, t.code_node, t.info.part), l.stripe_width, l.uniqueness, l.stability, acc[i]);
      if (!l.has_pursuit) continue;
      const NetNode& node = net.nodes()[static_cast<size_t>(t.node)];
      const int src = node.inputs.at(0);
      const Tensor& input = src < 0 ? x : net.nodes()[static_cast<size_t>(src)].output;
      add_pursuit(ctx, static_cast<const SparseCodeLayer&>(*node.layer), *node.state, input, t, acc[i]);
    }
    done += n;
  }
  result.images = acc.empty() ? 0 : acc[0].images;
  for (size_t i = 0; i < targets.size(); ++i) {
    LayerAnalysis& l = result.layers[i];
    const Accumulator& a = acc[i];
    if (a.images == 0) continue;
    const double per_channel_elements = static_cast<double>(a.elements) / static_cast<double>(a.per_channel.size());
    l.nonzero_fraction = static_cast<double>(a.nonzeros) / static_cast<double>(a.elements);
    for (double c : a.per_channel) l.per_channel.push_back(c / per_channel_elements);
    l.l0_per_image = static_cast<double>(a.nonzeros) / static_cast<double>(a.images);
    l.l0_inf_mean = a.l0_inf_sum / static_cast<double>(a.images);
    l.l0_inf_max = a.l0_inf_max;
    l.uniqueness_holds = a.uniqueness;
    l.stability_holds = a.stability;
    l.magnitude_edges = a.edges;
    l.magnitude_counts = a.counts;
    if (l.has_pursuit) {
      l.pursuit.iters = targets[i].info.iters;
      l.pursuit.lasso_objective = a.objective / static_cast<double>(a.images);
      l.pursuit.relative_change = a.last2 > 0 ? std::sqrt(a.change2 / a.last2) : 0;
      l.pursuit.reconstruction_error = a.energy > 0 ? std::sqrt(a.residual2 / a.energy) : 0;
    }
  }
  return result;
}

std::vector<std::pair<std::string, Coherence>> dictionary_coherences(Context& ctx, const Net& net) {
  std::vector<std::pair<std::string, Coherence>> out;
  for (const Target& t : dictionary_targets(net))
    out.emplace_back(target_name(net, t), dictionary_coherence(ctx, net.params().value(t.info.weight), t.info.stride));
  return out;
}

}  // namespace scn

namespace scn {

CodeSparsityMeter::CodeSparsityMeter(const Net& net) {
  for (const Target& t : dictionary_targets(net))
    codes_.push_back({target_name(net, t), t.code_node, t.info.part, 0, 0, Tensor()});
}

void CodeSparsityMeter::add(Context& ctx, const Net& net) {
  for (Code& c : codes_) {
    const Tensor code = code_in(net, c.code_node, c.part);
    ensure_tensor(c.counts, Shape{code.size(1)}, code.dtype(), code.device());
    nnz_per_channel(ctx, c.counts, code);
    for (double v : c.counts.to_vector()) c.nonzeros += v;
    c.elements += static_cast<double>(code.numel());
  }
}

void CodeSparsityMeter::combine(Communicator& ranks) {
  std::vector<double> totals;
  for (const Code& c : codes_) totals.insert(totals.end(), {c.nonzeros, c.elements});
  ranks.all_reduce_host(totals, Reduce::sum, "all-reduce of the codes' sparsity");
  for (size_t i = 0; i < codes_.size(); ++i) {
    codes_[i].nonzeros = totals[2 * i];
    codes_[i].elements = totals[2 * i + 1];
  }
}

nlohmann::json CodeSparsityMeter::fractions() const {
  nlohmann::json j = nlohmann::json::object();
  for (const Code& c : codes_) j[c.node] = c.elements > 0 ? c.nonzeros / c.elements : 0.0;
  return j;
}

nlohmann::json to_json(const NetAnalysis& a) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerAnalysis& l : a.layers) {
    const Coherence& c = l.coherence;
    nlohmann::json j = {
        {"node", l.node},
        {"type", l.type},
        {"code_node", l.code_node},
        {"form", l.per_patch ? "patch" : "convolution"},
        {"atoms", c.atoms},
        {"atom_size", c.atom_size},
        {"kernel", c.kernel},
        {"stride", c.stride},
        {"coherence", {{"mutual", c.mutual}, {"patch", c.patch}, {"mean", c.mean}, {"std", c.std},
                       {"welch_patch", c.welch_patch}, {"welch_conv", c.welch_conv}, {"atom_i", c.atom_i},
                       {"atom_j", c.atom_j}, {"shift", {c.shift_y, c.shift_x}}, {"zero_atoms", c.zero_atoms}}},
        {"bounds", {{"mu", l.mu}, {"uniqueness", l.uniqueness}, {"stability", l.stability}}},
        {"sparsity", {{"nonzero_fraction", l.nonzero_fraction}, {"per_channel", l.per_channel},
                      {"l0_per_image", l.l0_per_image}, {"stripe_width", l.stripe_width},
                      {"l0_inf_mean", l.l0_inf_mean}, {"l0_inf_max", l.l0_inf_max},
                      {"uniqueness_holds", l.uniqueness_holds}, {"stability_holds", l.stability_holds}}},
        {"magnitudes", {{"edges", l.magnitude_edges}, {"counts", l.magnitude_counts}}},
        {"pursuit", nullptr}};
    if (l.has_pursuit)
      j["pursuit"] = {{"iters", l.pursuit.iters}, {"lasso_objective", l.pursuit.lasso_objective},
                      {"relative_change", l.pursuit.relative_change},
                      {"reconstruction_error", l.pursuit.reconstruction_error}};
    layers.push_back(j);
  }
  return {{"kind", "scn-analysis"}, {"images", a.images}, {"layers", layers}};
}

std::string format_analysis(const NetAnalysis& a) {
  std::ostringstream os;
  char line[320];
  std::snprintf(line, sizeof line, "%-8s %-17s %5s %5s %6s %6s %6s %6s %7s %7s %6s %8s %7s %4s %7s %8s %7s\n", "node",
                "type", "atoms", "n", "mu(D)", "mu_pat", "mean", "welch", "nnz%", "l0/img", "w", "l0,inf", "1/2(1+", "ok",
                "K", "change", "recon");
  os << line;
  for (const LayerAnalysis& l : a.layers) {
    const Coherence& c = l.coherence;
    char pursuit[64] = "      -        -       -";
    if (l.has_pursuit)
      std::snprintf(pursuit, sizeof pursuit, "%7d %8.2e %7.3f", l.pursuit.iters, l.pursuit.relative_change,
                    l.pursuit.reconstruction_error);
    std::snprintf(line, sizeof line, "%-8s %-17s %5lld %5lld %6.3f %6.3f %6.3f %6.3f %6.2f%% %7.0f %6d %4.0f/%-3lld %7.2f %4s %s\n",
                  l.node.c_str(), (l.type + (l.per_patch ? "/patch" : "")).c_str(), static_cast<long long>(c.atoms),
                  static_cast<long long>(c.atom_size), c.mutual, c.patch, c.mean,
                  l.per_patch ? c.welch_patch : c.welch_conv, 100 * l.nonzero_fraction, l.l0_per_image,
                  l.stripe_width, l.l0_inf_mean, static_cast<long long>(l.l0_inf_max), l.uniqueness,
                  l.uniqueness_holds ? "yes" : "no", pursuit);
    os << line;
  }
  os << "mu(D): coherence of the convolutional dictionary (any overlapping shift); mu_pat: at zero shift (the patch "
        "dictionary);\nmean: mean |<di,dj>| over pairs; welch: the lower bound for the layer's size; w: stripe width "
        "in code positions;\nl0,inf: mean/max over images of the densest stripe's non-zeros; 1/2(1+: the uniqueness "
        "bound 1/2(1 + 1/mu)\n(mu_pat for patch pursuits), ok: held for every image; change: |g_K - g_K-1|/|g_K|; "
        "recon: |x - D g|/|x|\n";
  return os.str();
}

}  // namespace scn
