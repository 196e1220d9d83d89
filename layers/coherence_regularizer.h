#pragma once
// The coherence regularizer of a dictionary layer (`regularizer: {coherence: λ}` on sparse_code and conv):
//   R(W) = λ·‖W_f W_fᵀ − I‖²_F,   ∂R/∂W_f = 4λ·(W_f W_fᵀ − I)·W_f,
// with W_f the atoms W[o] flattened to rows (M × C·k²) — the Parseval penalty of Cisse et al. (2017). It
// pulls the atoms towards unit norm and apart from each other, lowering the dictionary's mutual coherence
// (analysis/coherence.h), on which the sparse model's recovery guarantees rest. The atoms are not
// normalised inside R: that is the published form, and it is smooth everywhere (a zero atom is no kink).
#include "core/config/config_node.h"
#include "core/context.h"
#include "core/tensor.h"

namespace scn {

struct CoherenceRegularizer {
  double weight = 0;  // λ; 0 turns it off

  // `regularizer:` of a layer's node (absent: off). Errors name the file, line and key.
  static CoherenceRegularizer parse(const ConfigNode& node);
  void to_yaml(YAML::Node& layer) const;  // writes `regularizer:` only when on
  bool on() const { return weight > 0; }

  // dw += ∂R/∂W for the weights w (M, C, k, k); nothing read on the host.
  void add_gradient(Context& ctx, const Tensor& dw, const Tensor& w) const;
  // R(W) read on the host (logs and checks).
  double value(Context& ctx, const Tensor& w) const;
};

}  // namespace scn
