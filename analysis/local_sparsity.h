#pragma once
// Local sparsity ‖Γ‖₀,∞ of a convolutional code: the most non-zeros in one stripe — the codes whose atoms
// overlap one k×k patch of the signal. In code space a stripe is a window of w×w positions over all
// channels, w = ⌊2(k − 1)/s⌋ + 1 (2k − 1 shifts at stride 1); for SCN's per-patch pursuit each pixel's code
// is its own problem, w = 1. The guarantees of coherence.h are stated in it.
#include <vector>

#include "core/context.h"
#include "core/tensor.h"

namespace scn {

// w = ⌊2(k − 1)/s⌋ + 1.
int stripe_width(int kernel, int stride);

// Per image, the largest sum of `counts` over a window×window block of positions (windows clipped to the
// code; a code smaller than the window is one stripe). counts: (N, H, W) non-zeros per position, as from
// nnz_per_position (kernels/reduce.h), any device (copied to the host).
std::vector<int64_t> local_sparsity(const Tensor& counts, int window);

// ‖Γ‖₀,∞ of each image of a code (N, C, H, W) on ctx's device: nnz_per_position, then local_sparsity.
std::vector<int64_t> code_local_sparsity(Context& ctx, const Tensor& code, int window);

}  // namespace scn
