#pragma once
// Softmax cross-entropy with label smoothing ε, per sample n of logits z (N, K) and label y_n:
//   q = (1 − ε)·onehot(y_n) + ε/K,   p = softmax(z_n),
//   loss_n = −Σ_k q_k log p_k = lse(z_n) − (1 − ε)·z_{n,y_n} − (ε/K)·Σ_k z_{n,k},   lse = m + log Σ exp(z − m)
//   ∂loss_n/∂z_n = p − q
// computed stably (the row maximum m is subtracted before exp).
//
// Labels: i32 in [0, K). The CPU engine throws scn::Error naming the first sample whose label is out of range.
// The CUDA engine cannot check without a host synchronisation; there a sample with an invalid label gets a NaN
// loss and a NaN gradient row, so the mean loss is NaN and the trainer's NaN check stops the run. The data
// loaders validate labels when they read a data set, so this is a second line of defence only.
#include "core/context.h"
#include "core/tensor.h"

namespace scn {

// Forward, and in the same pass the gradient of the MEAN loss, (p − q)/N, when dlogits is defined.
// loss: (N) per-sample losses; mean_loss: (1) their mean (a fixed-order sum), or undefined;
// dlogits: (N, K) or undefined; logits: (N, K); labels: (N) i32; smoothing: ε in [0, 1]
void softmax_cross_entropy_forward(Context& ctx, const Tensor& loss, const Tensor& mean_loss, const Tensor& dlogits,
                                   const Tensor& logits, const Tensor& labels, double smoothing);

// General backward for an upstream per-sample gradient: dlogits[n, :] = dloss[n]·(p − q) (overwritten).
// (softmax_cross_entropy_forward's fused gradient is this with dloss = 1/N everywhere.)
// dlogits: (N, K); dloss: (N); logits: (N, K); labels: (N) i32
void softmax_cross_entropy_backward(Context& ctx, const Tensor& dlogits, const Tensor& dloss, const Tensor& logits,
                                    const Tensor& labels, double smoothing);

namespace cuda {
void softmax_cross_entropy_forward(Context& ctx, const Tensor& loss, const Tensor& mean_loss, const Tensor& dlogits,
                                   const Tensor& logits, const Tensor& labels, double smoothing);
void softmax_cross_entropy_backward(Context& ctx, const Tensor& dlogits, const Tensor& dloss, const Tensor& logits,
                                    const Tensor& labels, double smoothing);
}  // namespace cuda

}  // namespace scn
