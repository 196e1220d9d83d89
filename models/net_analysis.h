#pragma once
// The sparse model inside a trained net, layer by layer: for every layer whose weights are a dictionary
// (sparse_code, conv), the coherence of its atoms and the bounds built on it, and — over real images — the
// sparsity of its codes and, for pursuits with K > 0, how far the unrolled pursuit is from the lasso it
// approximates. `scn analyze` prints it and writes analysis.json; `tools/plot analysis.json` draws it.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis/coherence.h"
#include "core/distributed/communicator.h"
#include "models/batch_source.h"
#include "models/net.h"

namespace scn {

struct PursuitAnalysis {
  int iters = 0;
  // Per image: ½‖x − Dγ‖² + Σ_c λ_c‖γ_c‖₁ with λ = θ/η, the lasso the pursuit minimises (for the patch
  // pursuit summed over the patches; the thresholds of the nonneg mode add the constraint γ ≥ 0). A learned
  // negative θ makes λ negative: then this is the quantity the steps descend, not a lasso.
  double lasso_objective = 0;
  double relative_change = 0;       // ‖γ_K − γ_{K−1}‖/‖γ_K‖ over the images: how far from converged
  double reconstruction_error = 0;  // ‖x − Dγ_K‖/‖x‖ (patch pursuit: over all patches)
};

struct LayerAnalysis {
  std::string node, type;           // the dictionary's node; for conv, the code is the ReLU after it if any
  std::string code_node;            // the node whose output is the code
  bool per_patch = false;
  Coherence coherence;
  // The coherence the layer's guarantees use (the patch coherence for SCN's per-patch pursuit, μ(D)
  // otherwise) and the bounds ½(1 + 1/μ), ⅓(1 + 1/μ) on ‖Γ‖₀,∞.
  double mu = 0, uniqueness = 0, stability = 0;
  // Codes over the images analysed.
  double nonzero_fraction = 0;
  std::vector<double> per_channel;  // fraction of non-zeros per channel
  double l0_per_image = 0;          // mean ‖Γ‖₀ per image
  int stripe_width = 1;
  double l0_inf_mean = 0;           // mean over images of ‖Γ‖₀,∞
  int64_t l0_inf_max = 0;
  bool uniqueness_holds = false, stability_holds = false;  // for every image
  std::vector<double> magnitude_edges;  // histogram of |γ| over the non-zeros (log-spaced bins)
  std::vector<int64_t> magnitude_counts;
  bool has_pursuit = false;
  PursuitAnalysis pursuit;
};

struct NetAnalysis {
  int64_t images = 0;
  std::vector<LayerAnalysis> layers;
};

// Every dictionary layer of `net`: coherence from its weights, code statistics over the first `images`
// images of `source` (batches of `batch`, inference `mode`).
NetAnalysis analyze_net(Context& ctx, Net& net, BatchSource& source, int64_t images, int64_t batch,
                        Mode mode = Mode::eval);

// The coherence of every dictionary layer alone (cheap: no images).
std::vector<std::pair<std::string, Coherence>> dictionary_coherences(Context& ctx, const Net& net);

// The fraction of non-zeros of every dictionary layer's code over the batches it is shown (training's
// `train.log_sparsity`, at each evaluation): one count per channel per batch, read on the host.
class CodeSparsityMeter {
 public:
  explicit CodeSparsityMeter(const Net& net);
  void add(Context& ctx, const Net& net);  // after a forward
  nlohmann::json fractions() const;         // {"<node>": fraction, ...}
  // Sums the counts over the ranks of a data-parallel evaluation (each counted its share of the batches).
  void combine(Communicator& ranks);
 private:
  struct Code { std::string node; int code_node, part; double nonzeros = 0, elements = 0; Tensor counts; };
  std::vector<Code> codes_;
};

nlohmann::json to_json(const NetAnalysis& a);
std::string format_analysis(const NetAnalysis& a);  // the terminal table

}  // namespace scn
