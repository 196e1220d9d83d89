// The list of every op's conformance cases. An op without cases here fails review: add its cases file.
#include "kernels/op_case.h"

namespace scn::test {

std::vector<OpCase> conv_cases();          // cases_conv.cpp
std::vector<OpCase> sparse_cases();        // cases_sparse.cpp: thresholds, ISTA, FISTA
std::vector<OpCase> elementwise_cases();   // cases_elementwise.cpp: add/axpy/scale, reductions, fills, SGD
std::vector<OpCase> nn_cases();            // cases_nn.cpp: bias/scale, batch norm, pooling, linear, loss
std::vector<OpCase> augment_cases();       // cases_augment.cpp: batch assembly with crop, flip, normalisation
std::vector<OpCase> layer_op_cases();      // cases_layer_ops.cpp: scale_by_scalar, dropout
std::vector<OpCase> pursuit_cases();       // cases_pursuit.cpp: the implicit backward's active-set solve
std::vector<OpCase> analysis_cases();      // cases_analysis.cpp: atoms' correlations (FFT), non-zeros per position
std::vector<OpCase> patch_pursuit_cases(); // cases_patch_pursuit.cpp: the fused patch pursuit, its power iteration,
                                           // the Gram matrix's backward, scalar quotients, dot products

const std::vector<OpCase>& all_op_cases() {
  static const std::vector<OpCase> cases = [] {
    std::vector<OpCase> all;
    for (auto&& group : {conv_cases(), sparse_cases(), elementwise_cases(), nn_cases(), augment_cases(), layer_op_cases(),
                          pursuit_cases(), analysis_cases(), patch_pursuit_cases()})
      all.insert(all.end(), group.begin(), group.end());
    return all;
  }();
  return cases;
}

}  // namespace scn::test
