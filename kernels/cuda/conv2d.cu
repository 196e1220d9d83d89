// The cuDNN convolution engine (cuDNN 9, legacy API), f32.
//
// Per (direction, shapes, params, deterministic, TF32) a plan is built once and cached in the context: the
// tensor, filter and convolution descriptors and the algorithm chosen by kernels/gpu_math.h's rules —
// measured fastest by cudnnFind*AlgorithmEx on our own workspace (ctx.workspace), or, with ctx.deterministic,
// the first deterministic algorithm of cuDNN's heuristics (cudnnGet*_v7: the same choice in every process on
// the same GPU model and cuDNN, so a resumed run continues bit for bit). Math: true fp32 (CUDNN_FMA_MATH)
// unless ctx.allow_tf32; a row is taken only with a math type the context allows, and the plan then runs that
// row's algorithm with that row's math type and workspace, exactly as it was measured (a DEFAULT_MATH row is
// TF32 on Ampere and newer, the H100/H200 included, which is not the f32 the CPU computes).
// beta maps to cuDNN's beta (out = 1·result + beta·out); cuDNN does not read out when beta = 0.
#include <algorithm>
#include <array>
#include <climits>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/gpu_math.h"

namespace scn::cuda {

namespace {

enum class Direction { forward, backward_data, backward_weights };

// The search may use at most this much workspace; the workspace never shrinks, so it is kept modest.
constexpr size_t kMaxSearchWorkspace = size_t(256) << 20;

size_t round_up(size_t bytes) { return (bytes + 255) / 256 * 256; }

// Descriptors and algorithm of one convolution shape.
struct Plan {
  cudnnTensorDescriptor_t in = nullptr;   // x or dx: (N, Ci, H, W)
  cudnnTensorDescriptor_t out = nullptr;  // y or dy: (N, Co, Ho, Wo)
  cudnnFilterDescriptor_t w = nullptr;    // w or dw: (Co, Ci, k, k)
  cudnnConvolutionDescriptor_t conv = nullptr;
  int algo = 0;  // a cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t, by direction
  size_t workspace_bytes = 0;

  Plan() = default;
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;
  ~Plan() {
    // Destroying a descriptor only frees host memory; a failure here is not worth a throw from a destructor.
    if (in) (void)cudnnDestroyTensorDescriptor(in);
    if (out) (void)cudnnDestroyTensorDescriptor(out);
    if (w) (void)cudnnDestroyFilterDescriptor(w);
    if (conv) (void)cudnnDestroyConvolutionDescriptor(conv);
  }
};

// (direction, N, Ci, Co, H, W, Ho, Wo, k, stride, pad, deterministic)
using PlanKey = std::array<int64_t, 12>;

PlanKey plan_key(Direction dir, const ConvGeometry& g, int64_t last) {
  const int64_t d = static_cast<int64_t>(dir);
  return {d, g.batch, g.in_channels, g.out_channels, g.in_h, g.in_w, g.out_h, g.out_w, g.kernel, g.stride, g.pad, last};
}

struct CudnnConvState {
  std::mutex mutex;
  std::map<PlanKey, std::unique_ptr<Plan>> plans;
};

int to_int(const char* op, int64_t v) {
  SCN_CHECK(v <= INT_MAX, op, ": dimension ", v, " is too large for cuDNN");
  return static_cast<int>(v);
}

std::unique_ptr<Plan> make_descriptors(const char* op, const ConvGeometry& g, bool tf32) {
  auto p = std::make_unique<Plan>();
  SCN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->in));
  SCN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->out));
  SCN_CUDNN_CHECK(cudnnCreateFilterDescriptor(&p->w));
  SCN_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&p->conv));
  SCN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->in, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, to_int(op, g.batch),
                                             to_int(op, g.in_channels), to_int(op, g.in_h), to_int(op, g.in_w)));
  SCN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->out, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, to_int(op, g.batch),
                                             to_int(op, g.out_channels), to_int(op, g.out_h), to_int(op, g.out_w)));
  SCN_CUDNN_CHECK(cudnnSetFilter4dDescriptor(p->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, to_int(op, g.out_channels),
                                             to_int(op, g.in_channels), to_int(op, g.kernel), to_int(op, g.kernel)));
  SCN_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(p->conv, to_int(op, g.pad), to_int(op, g.pad), to_int(op, g.stride),
                                                  to_int(op, g.stride), 1, 1, CUDNN_CROSS_CORRELATION,
                                                  CUDNN_DATA_FLOAT));
  SCN_CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
  return p;
}

ConvMath conv_math_of(cudnnMathType_t m) {
  switch (m) {
    case CUDNN_DEFAULT_MATH:
      return ConvMath::default_math;
    case CUDNN_TENSOR_OP_MATH:
      return ConvMath::tensor_op;
    case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION:
      return ConvMath::tensor_op_conversion;
    default:
      return ConvMath::fma;
  }
}

// Picks a row by kernels/gpu_math.h's rules and stores it in `p`: the algorithm, and the row's math type set
// on the descriptor so that the plan runs what was measured. false when nothing qualifies.
template <class Perf>
bool take_best(Plan& p, const std::vector<Perf>& results, int returned, bool deterministic, bool tf32) {
  std::vector<ConvAlgorithmResult> rows;
  for (int i = 0; i < returned; ++i) {
    const Perf& r = results[static_cast<size_t>(i)];
    rows.push_back({static_cast<int>(r.algo), r.status == CUDNN_STATUS_SUCCESS, r.determinism == CUDNN_DETERMINISTIC,
                    conv_math_of(r.mathType), r.memory});
  }
  const int best = choose_conv_algorithm(rows, deterministic, tf32);
  if (best < 0) return false;
  p.algo = rows[static_cast<size_t>(best)].algo;
  p.workspace_bytes = rows[static_cast<size_t>(best)].workspace;
  SCN_CUDNN_CHECK(cudnnSetConvolutionMathType(p.conv, results[static_cast<size_t>(best)].mathType));
  return true;
}

// Largest workspace any algorithm of the direction asks for (capped). A size query that fails means the
// algorithm does not support this shape: it is skipped, not an error.
size_t search_workspace(cudnnHandle_t h, Direction dir, const Plan& p) {
  size_t most = 0, bytes = 0;
  switch (dir) {
    case Direction::forward:
      for (int a = 0; a < CUDNN_CONVOLUTION_FWD_ALGO_COUNT; ++a)
        if (cudnnGetConvolutionForwardWorkspaceSize(h, p.in, p.w, p.conv, p.out, cudnnConvolutionFwdAlgo_t(a),
                                                    &bytes) == CUDNN_STATUS_SUCCESS)
          most = std::max(most, bytes);
      break;
    case Direction::backward_data:
      for (int a = 0; a < CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT; ++a)
        if (cudnnGetConvolutionBackwardDataWorkspaceSize(h, p.w, p.out, p.conv, p.in, cudnnConvolutionBwdDataAlgo_t(a),
                                                         &bytes) == CUDNN_STATUS_SUCCESS)
          most = std::max(most, bytes);
      break;
    case Direction::backward_weights:
      for (int a = 0; a < CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT; ++a)
        if (cudnnGetConvolutionBackwardFilterWorkspaceSize(
                h, p.in, p.out, p.conv, p.w, cudnnConvolutionBwdFilterAlgo_t(a), &bytes) == CUDNN_STATUS_SUCCESS)
          most = std::max(most, bytes);
      break;
  }
  return std::min(most, kMaxSearchWorkspace);
}

// Chooses the algorithm of `dir` and stores it in `p`: by timing on the call's inputs (cudnnFind*Ex) or, for
// deterministic runs, from cuDNN's heuristics (no timing: the same choice in every process). The timed search
// writes its trial outputs into workspace scratch, never into the caller's output, which may hold values that
// beta = 1 accumulates into. The tensors are (out, in1, in2) as in run().
void find_algorithm(const char* op, Context& ctx, Direction dir, Plan& p, const Tensor& out, const Tensor& in1,
                    const Tensor& in2) {
  cudnnHandle_t h = ctx.cuda().cudnn;
  const bool det = ctx.deterministic, heuristic = conv_search(det) == ConvSearch::heuristic;
  release_cached_device_memory(ctx);  // cuDNN may allocate while it measures
  size_t search_bytes = 0;
  void* trial_out = nullptr;
  void* search_ws = nullptr;
  if (!heuristic) {
    const size_t out_bytes = round_up(out.bytes());
    search_bytes = search_workspace(h, dir, p);
    char* ws = static_cast<char*>(ctx.workspace(out_bytes + search_bytes));
    trial_out = ws;
    search_ws = ws + out_bytes;
  }
  int count = 0, returned = 0;
  bool found = false;
  switch (dir) {
    case Direction::forward: {  // in1 = x, in2 = w
      SCN_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &count));
      std::vector<cudnnConvolutionFwdAlgoPerf_t> r(static_cast<size_t>(count));
      if (heuristic) {
        SCN_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, p.in, p.w, p.conv, p.out, count, &returned, r.data()));
      } else {
        SCN_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(h, p.in, in1.raw(), p.w, in2.raw(), p.conv, p.out,
                                                               trial_out, count, &returned, r.data(), search_ws,
                                                               search_bytes));
      }
      found = take_best(p, r, returned, det, ctx.allow_tf32);
      if (found)
        SCN_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(h, p.in, p.w, p.conv, p.out,
                                                                cudnnConvolutionFwdAlgo_t(p.algo), &p.workspace_bytes));
      break;
    }
    case Direction::backward_data: {  // in1 = dy, in2 = w
      SCN_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &count));
      std::vector<cudnnConvolutionBwdDataAlgoPerf_t> r(static_cast<size_t>(count));
      if (heuristic) {
        SCN_CUDNN_CHECK(
            cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p.w, p.out, p.conv, p.in, count, &returned, r.data()));
      } else {
        SCN_CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(h, p.w, in2.raw(), p.out, in1.raw(), p.conv, p.in,
                                                                    trial_out, count, &returned, r.data(), search_ws,
                                                                    search_bytes));
      }
      found = take_best(p, r, returned, det, ctx.allow_tf32);
      if (found)
        SCN_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(
            h, p.w, p.out, p.conv, p.in, cudnnConvolutionBwdDataAlgo_t(p.algo), &p.workspace_bytes));
      break;
    }
    case Direction::backward_weights: {  // in1 = x, in2 = dy
      SCN_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &count));
      std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> r(static_cast<size_t>(count));
      if (heuristic) {
        SCN_CUDNN_CHECK(
            cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, p.in, p.out, p.conv, p.w, count, &returned, r.data()));
      } else {
        SCN_CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(h, p.in, in1.raw(), p.out, in2.raw(), p.conv,
                                                                      p.w, trial_out, count, &returned, r.data(),
                                                                      search_ws, search_bytes));
      }
      found = take_best(p, r, returned, det, ctx.allow_tf32);
      if (found)
        SCN_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(
            h, p.in, p.out, p.conv, p.w, cudnnConvolutionBwdFilterAlgo_t(p.algo), &p.workspace_bytes));
      break;
    }
  }
  SCN_CHECK(found, op, ": cuDNN found no usable ", det ? "deterministic " : "", "fp32 algorithm among ", returned,
            " for ", in1.str(), " and ", in2.str());
}

// One convolution on the context's stream: (out, in1, in2) = (y, x, w), (dx, dy, w) or (dw, x, dy).
void run(const char* op, Context& ctx, Direction dir, const ConvGeometry& g, float beta, const Tensor& out,
         const Tensor& in1, const Tensor& in2) {
  NvtxRange range(op);
  SCN_CHECK(out.dtype() == DType::f32, op, ": the cudnn engine supports f32 only, got ", dtype_name(out.dtype()));
  CudnnConvState& state = ctx.state<CudnnConvState>();
  std::lock_guard<std::mutex> lock(state.mutex);
  const PlanKey key = plan_key(dir, g, (ctx.deterministic ? 1 : 0) | (ctx.allow_tf32 ? 2 : 0));
  auto it = state.plans.find(key);
  if (it == state.plans.end()) {
    std::unique_ptr<Plan> plan = make_descriptors(op, g, ctx.allow_tf32);
    find_algorithm(op, ctx, dir, *plan, out, in1, in2);
    it = state.plans.emplace(key, std::move(plan)).first;
    ctx.stats().plans_built++;
  }
  const Plan& p = *it->second;
  cudnnHandle_t h = ctx.cuda().cudnn;
  void* ws = p.workspace_bytes ? ctx.workspace(p.workspace_bytes) : nullptr;
  const float alpha = 1.f;
  switch (dir) {
    case Direction::forward:
      SCN_CUDNN_CHECK(cudnnConvolutionForward(h, &alpha, p.in, in1.raw(), p.w, in2.raw(), p.conv,
                                              cudnnConvolutionFwdAlgo_t(p.algo), ws, p.workspace_bytes, &beta, p.out,
                                              out.raw()));
      break;
    case Direction::backward_data:
      SCN_CUDNN_CHECK(cudnnConvolutionBackwardData(h, &alpha, p.w, in2.raw(), p.out, in1.raw(), p.conv,
                                                   cudnnConvolutionBwdDataAlgo_t(p.algo), ws, p.workspace_bytes, &beta,
                                                   p.in, out.raw()));
      break;
    case Direction::backward_weights:
      SCN_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &alpha, p.in, in1.raw(), p.out, in2.raw(), p.conv,
                                                     cudnnConvolutionBwdFilterAlgo_t(p.algo), ws, p.workspace_bytes,
                                                     &beta, p.w, out.raw()));
      break;
  }
}

}  // namespace

void conv2d_forward(Context& ctx, const Tensor& y, const Tensor& x, const Tensor& w, ConvParams p, float beta) {
  run("conv2d_forward", ctx, Direction::forward, conv_geometry(x, y, w, p), beta, y, x, w);
}

void conv2d_backward_data(Context& ctx, const Tensor& dx, const Tensor& dy, const Tensor& w, ConvParams p, float beta) {
  run("conv2d_backward_data", ctx, Direction::backward_data, conv_geometry(dx, dy, w, p), beta, dx, dy, w);
}

void conv2d_backward_weights(Context& ctx, const Tensor& dw, const Tensor& x, const Tensor& dy, ConvParams p,
                             float beta) {
  run("conv2d_backward_weights", ctx, Direction::backward_weights, conv_geometry(x, dy, dw, p), beta, dw, x, dy);
}

}  // namespace scn::cuda
