// The convolution ops: argument checks, engine selection, and the hand-off to the engine (reference loops
// and oneDNN on the CPU, cuDNN on a GPU). The engines themselves are in conv2d_reference.cpp,
// conv2d_onednn.cpp and kernels/cuda/conv2d.cu.
#include "kernels/conv2d.h"

#include "core/dispatch.h"

namespace scn {

const char* conv_engine_name(ConvEngine engine) {
  switch (engine) {
    case ConvEngine::automatic:
      return "automatic";
    case ConvEngine::reference:
      return "reference";
    case ConvEngine::onednn:
      return "onednn";
    case ConvEngine::cudnn:
      return "cudnn";
  }
  return "unknown";
}

namespace {

void check_params(const char* op, int k, ConvParams p) {
  SCN_CHECK(k >= 1, op, ": kernel size ", k, " must be at least 1");
  SCN_CHECK(p.stride >= 1, op, ": stride ", p.stride, " must be at least 1");
  SCN_CHECK(p.pad >= 0, op, ": padding ", p.pad, " must not be negative");
}

// Output size along one dimension of `name` (height or width), with the op named in the error.
int64_t output_size(const char* op, const char* name, const char* dim, int64_t in, int k, ConvParams p) {
  check_params(op, k, p);
  SCN_CHECK(in + 2 * int64_t(p.pad) >= k, op, ": kernel ", k, " does not fit ", name, "'s padded ", dim, " ", in,
            " + 2·", p.pad);
  return (in + 2 * int64_t(p.pad) - k) / p.stride + 1;
}

// Checks the three tensors of one convolution and the context. The input side (x or dx, (N, Ci, H, W)) and
// the weights (w or dw, (Co, Ci, k, k)) determine the output side's shape (y or dy, (N, Co, Ho, Wo)).
void check_conv(const char* op, Context& ctx, const char* in_name, const Tensor& in, const char* out_name,
                const Tensor& out, const char* w_name, const Tensor& w, ConvParams p) {
  check_defined(op, in_name, in);
  check_defined(op, out_name, out);
  check_defined(op, w_name, w);
  SCN_CHECK(in.rank() == 4, op, ": ", in_name, " has shape ", in.shape().str(), ", expected (N, Ci, H, W)");
  SCN_CHECK(w.rank() == 4 && w.size(2) == w.size(3), op, ": ", w_name, " has shape ", w.shape().str(),
            ", expected a square kernel (Co, Ci, k, k)");
  SCN_CHECK(in.size(0) >= 1 && in.size(1) >= 1 && w.size(0) >= 1, op, ": empty convolution (", in_name, " ",
            in.shape().str(), ", ", w_name, " ", w.shape().str(), ")");
  check_shape(op, w_name, w, {w.size(0), in.size(1), w.size(2), w.size(3)});
  const int k = static_cast<int>(w.size(2));
  const int64_t ho = output_size(op, in_name, "height", in.size(2), k, p);
  const int64_t wo = output_size(op, in_name, "width", in.size(3), k, p);
  check_shape(op, out_name, out, {in.size(0), w.size(0), ho, wo});
  check_same_device(op, {&in, &out, &w});
  SCN_CHECK(in.dtype() == DType::f32 || in.dtype() == DType::f64, op, ": ", in_name, " is ", dtype_name(in.dtype()),
            ", expected f32 or f64");
  check_dtype(op, out_name, out, in.dtype());
  check_dtype(op, w_name, w, in.dtype());
  SCN_CHECK(ctx.device() == in.device(), op, ": the context is for ", ctx.device().str(), " but the tensors are on ",
            in.device().str());
}

// The engine that runs: `automatic` resolved, anything unsupported refused with the op's name.
ConvEngine select_engine(const char* op, ConvEngine engine, const Tensor& t) {
  const bool on_gpu = t.is_cuda();
  const bool f64 = t.dtype() == DType::f64;
  if (engine == ConvEngine::automatic)
    engine = on_gpu ? ConvEngine::cudnn : f64 ? ConvEngine::reference : ConvEngine::onednn;
  switch (engine) {
    case ConvEngine::reference:
    case ConvEngine::onednn:
      SCN_CHECK(!on_gpu, op, ": the ", conv_engine_name(engine), " engine runs on the CPU, but the tensors are on ",
                t.device().str(), "; use ConvEngine::cudnn (or automatic) for CUDA tensors");
      SCN_CHECK(engine == ConvEngine::reference || !f64, op,
                ": the onednn engine supports f32 only, got f64; use ConvEngine::reference for f64");
      break;
    case ConvEngine::cudnn:
      SCN_CHECK(on_gpu, op, ": the cudnn engine needs CUDA tensors, but the tensors are on ", t.device().str(),
                "; copy them explicitly with to(device), or use the onednn or reference engine");
      SCN_CHECK(!f64, op, ": the cudnn engine supports f32 only, got f64");
      break;
    case ConvEngine::automatic:
      break;
  }
  return engine;
}

// Multiply-adds ×2 of any of the three passes: one per output element (N, Co, Ho, Wo) per weight of its
// filter (Ci·k·k), padding taps included.
double dense_flops(const Tensor& out, const Tensor& w) {
  return 2.0 * static_cast<double>(out.numel()) * static_cast<double>(w.numel() / w.size(0));
}

}  // namespace

int64_t conv2d_output_size(int64_t in, int k, ConvParams p) {
  return output_size("conv2d_output_size", "the input", "size", in, k, p);
}

void conv2d_forward(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& w, ConvParams p, float beta,
                    ConvEngine engine) {
  const char* op = "conv2d_forward";
  check_conv(op, ctx, "x", x, "y", y, "w", w, p);
  const ConvEngine chosen = select_engine(op, engine, x);
  count_flops(dense_flops(y, w));
  SCN_DISPATCH_CUDA(x, cuda::conv2d_forward(ctx, y, x, w, p, beta));
  switch (chosen) {
    case ConvEngine::reference:
      return reference::conv2d_forward(ctx, y, x, w, p, beta);
    case ConvEngine::onednn:
      return onednn::conv2d_forward(ctx, y, x, w, p, beta);
    default:
      break;
  }
  SCN_FAIL(op, ": no engine for ", x.str());
}

void conv2d_backward_data(Context& ctx, const Tensor& dx, const Tensor& dy, const Tensor& w, ConvParams p, float beta,
                          ConvEngine engine) {
  const char* op = "conv2d_backward_data";
  check_conv(op, ctx, "dx", dx, "dy", dy, "w", w, p);
  const ConvEngine chosen = select_engine(op, engine, dx);
  count_flops(dense_flops(dy, w));
  SCN_DISPATCH_CUDA(dx, cuda::conv2d_backward_data(ctx, dx, dy, w, p, beta));
  switch (chosen) {
    case ConvEngine::reference:
      return reference::conv2d_backward_data(ctx, dx, dy, w, p, beta);
    case ConvEngine::onednn:
      return onednn::conv2d_backward_data(ctx, dx, dy, w, p, beta);
    default:
      break;
  }
  SCN_FAIL(op, ": no engine for ", dx.str());
}

void conv2d_backward_weights(Context& ctx, const Tensor& dw, const Tensor& x, const Tensor& dy, ConvParams p,
                             float beta, ConvEngine engine) {
  const char* op = "conv2d_backward_weights";
  check_conv(op, ctx, "x", x, "dy", dy, "dw", dw, p);
  const ConvEngine chosen = select_engine(op, engine, x);
  count_flops(dense_flops(dy, dw));
  SCN_DISPATCH_CUDA(x, cuda::conv2d_backward_weights(ctx, dw, x, dy, p, beta));
  switch (chosen) {
    case ConvEngine::reference:
      return reference::conv2d_backward_weights(ctx, dw, x, dy, p, beta);
    case ConvEngine::onednn:
      return onednn::conv2d_backward_weights(ctx, dw, x, dy, p, beta);
    default:
      break;
  }
  SCN_FAIL(op, ": no engine for ", x.str());
}

}  // namespace scn
