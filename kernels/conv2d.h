#pragma once
// 2-D convolution (cross-correlation, as PyTorch conv2d) with square kernels and the same stride and
// padding in both directions, and its two adjoints:
//   forward:          y[n,o,i,j]  = Σ_{c,a,b} x[n,c, s·i+a−p, s·j+b−p] · w[o,c,a,b]      (x zero outside)
//   backward_data:    dx = Dᵀ-adjoint of forward in x (= conv_transpose2d(dy, w)), i.e. for every y index
//                     dx[n,c, s·i+a−p, s·j+b−p] += dy[n,o,i,j] · w[o,c,a,b]
//   backward_weights: dw[o,c,a,b] = Σ_{n,i,j} dy[n,o,i,j] · x[n,c, s·i+a−p, s·j+b−p]
// Every op accumulates as out = beta·out + result; beta = 0 never reads out (it may hold garbage).
// Spatial size: Ho = (H + 2p − k)/s + 1 (floor). backward_data takes H from dx's shape, so any H with
// conv2d_output_size(H) == Ho is accepted: this is how PyTorch's output_padding is expressed.
//
// Engines are names, not ifdefs. `automatic` is oneDNN for CPU f32, the reference loops for CPU f64, and
// cuDNN for CUDA tensors. A combination that is not supported (oneDNN with f64, cuDNN with a CPU tensor,
// reference or oneDNN with a CUDA tensor, cuDNN with f64) is an scn::Error, never a silent fallback.
#include <cstdint>

#include "core/context.h"
#include "core/tensor.h"

namespace scn {

enum class ConvEngine { automatic, reference, onednn, cudnn };
const char* conv_engine_name(ConvEngine engine);

struct ConvParams {
  int stride = 1;
  int pad = 0;
};

// Output size of one spatial dimension: (in + 2p − k)/s + 1. An scn::Error when the kernel does not fit
// the padded input or the parameters are invalid.
int64_t conv2d_output_size(int64_t in, int k, ConvParams p);

// y = beta·y + conv2d(x, w).
// y: (N, Co, Ho, Wo); x: (N, Ci, H, W); w: (Co, Ci, k, k)
void conv2d_forward(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& w, ConvParams p, float beta = 0,
                    ConvEngine engine = ConvEngine::automatic);

// dx = beta·dx + conv_transpose2d(dy, w), with dx's spatial size taken from its shape.
// dx: (N, Ci, H, W); dy: (N, Co, Ho, Wo); w: (Co, Ci, k, k)
void conv2d_backward_data(Context& ctx, const Tensor& dx, const Tensor& dy, const Tensor& w, ConvParams p,
                          float beta = 0, ConvEngine engine = ConvEngine::automatic);

// dw = beta·dw + Σ_n correlation of x[n] with dy[n] (the weight gradient of forward).
// dw: (Co, Ci, k, k); x: (N, Ci, H, W); dy: (N, Co, Ho, Wo)
void conv2d_backward_weights(Context& ctx, const Tensor& dw, const Tensor& x, const Tensor& dy, ConvParams p,
                             float beta = 0, ConvEngine engine = ConvEngine::automatic);

// The sizes of one convolution, read from its three tensors (already checked by the public ops).
struct ConvGeometry {
  int64_t batch = 0, in_channels = 0, out_channels = 0;
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t kernel = 0;
  int64_t stride = 1, pad = 0;
};
// in: (N, Ci, H, W) — x or dx; out: (N, Co, Ho, Wo) — y or dy; w: (Co, Ci, k, k) — w or dw
inline ConvGeometry conv_geometry(const Tensor& in, const Tensor& out, const Tensor& w, ConvParams p) {
  return ConvGeometry{in.size(0),  in.size(1),  out.size(1), in.size(2), in.size(3),
                      out.size(2), out.size(3), w.size(2),   p.stride,   p.pad};
}

// Engine entry points behind the public ops. They assume checked arguments: call the public ops.
namespace reference {  // kernels/cpu/conv2d_reference.cpp: plain loops, f32 and f64
void conv2d_forward(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& w, ConvParams p, float beta);
void conv2d_backward_data(Context& ctx, const Tensor& dx, const Tensor& dy, const Tensor& w, ConvParams p, float beta);
void conv2d_backward_weights(Context& ctx, const Tensor& dw, const Tensor& x, const Tensor& dy, ConvParams p,
                             float beta);
}  // namespace reference

namespace onednn {  // kernels/cpu/conv2d_onednn.cpp: oneDNN primitives cached per shape, f32
void conv2d_forward(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& w, ConvParams p, float beta);
void conv2d_backward_data(Context& ctx, const Tensor& dx, const Tensor& dy, const Tensor& w, ConvParams p, float beta);
void conv2d_backward_weights(Context& ctx, const Tensor& dw, const Tensor& x, const Tensor& dy, ConvParams p,
                             float beta);
}  // namespace onednn

namespace cuda {  // kernels/cuda/conv2d.cu: cuDNN, algorithms found once per shape, f32
void conv2d_forward(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& w, ConvParams p, float beta);
void conv2d_backward_data(Context& ctx, const Tensor& dx, const Tensor& dy, const Tensor& w, ConvParams p, float beta);
void conv2d_backward_weights(Context& ctx, const Tensor& dw, const Tensor& x, const Tensor& dy, ConvParams p,
                             float beta);
}  // namespace cuda

}  // namespace scn
