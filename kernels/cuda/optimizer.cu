#include "kernels/cuda/map.cuh"
#include "kernels/optimizer.h"
#include "kernels/optimizer_math.h"

namespace scn::cuda {

namespace {

__device__ inline float& lane(float4& v, int k) { return k == 0 ? v.x : (k == 1 ? v.y : (k == 2 ? v.z : v.w)); }

// Runs op over every tile: one block per tile (grid-stride over tiles), float4 groups when `vec` and the
// tile starts on a multiple of 4 (always, with the arena's 16-element alignment), then the scalar tail.
// An op has  Local local(const ParamSegment&)  (per-segment scalars),  at(i, local)  and  at4(i4, local).
template <class Op>
__global__ void tiles_kernel(Op op, const ParamTile* tiles, int64_t count, const ParamSegment* segments, bool vec) {
  for (int64_t t = blockIdx.x; t < count; t += gridDim.x) {
    const ParamTile tile = tiles[t];
    const auto local = op.local(segments[tile.segment]);
    int64_t i = tile.begin + threadIdx.x;
    if (vec && tile.begin % 4 == 0) {
      const int64_t first4 = tile.begin / 4, n4 = (tile.end - tile.begin) / 4;
      for (int64_t k = threadIdx.x; k < n4; k += blockDim.x) op.at4(first4 + k, local);
      i = tile.begin + n4 * 4 + threadIdx.x;
    }
    for (; i < tile.end; i += blockDim.x) op.at(i, local);
  }
}

template <class Op>
void launch_tiles(Context& ctx, const Op& op, const Tensor& tiles, size_t count, const ParamTable& table, bool vec) {
  if (count == 0) return;
  SCN_CHECK(tiles.defined() && table.device_segments.defined(),
            "optimizer: the parameter table has no device copy; build it with make_param_table on the GPU arena");
  const int sms = ctx.cuda().properties.multiProcessorCount;
  const int grid = static_cast<int>(std::min<int64_t>(static_cast<int64_t>(count), int64_t(sms) * 16));
  tiles_kernel<<<grid, kThreads, 0, stream_of(ctx)>>>(
      op, static_cast<const ParamTile*>(tiles.raw()), static_cast<int64_t>(count),
      static_cast<const ParamSegment*>(table.device_segments.raw()), vec);
  SCN_CUDA_CHECK_LAUNCH();
}

struct SgdOp {
  float* w;
  float* v;  // null without momentum
  const float* g;
  float lr, momentum, wd;
  bool nesterov;
  const float* lr_scale;  // null: 1
  struct Local {
    float lr, wd;
  };
  __device__ Local local(const ParamSegment& s) const {
    return {lr * (lr_scale ? lr_scale[0] : 1.f) * s.lr_mult, wd * s.decay_mult};
  }
  __device__ void at(int64_t i, const Local& l) const {
    float vi = v ? v[i] : 0.f;
    w[i] = sgd_element(w[i], g[i], vi, l.lr, momentum, l.wd, v != nullptr, nesterov);
    if (v) v[i] = vi;
  }
  __device__ void at4(int64_t i, const Local& l) const {
    float4 wv = load4(w, i), vv = v ? load4(v, i) : float4{}, gv = load4(g, i);
#pragma unroll
    for (int k = 0; k < 4; ++k)
      lane(wv, k) = sgd_element(lane(wv, k), lane(gv, k), lane(vv, k), l.lr, momentum, l.wd, v != nullptr, nesterov);
    store4(w, i, wv);
    if (v) store4(v, i, vv);
  }
};

struct AdamOp {
  float* w;
  float* m;
  float* v;
  const float* g;
  float lr, wd, beta1, beta2, eps, c1, c2;
  bool decoupled;
  struct Local {
    float lr, wd;
  };
  __device__ Local local(const ParamSegment& s) const { return {lr * s.lr_mult, wd * s.decay_mult}; }
  __device__ void at(int64_t i, const Local& l) const {
    float mi = m[i], vi = v[i];
    w[i] = adam_element(w[i], g[i], mi, vi, l.lr, l.wd, beta1, beta2, eps, c1, c2, decoupled);
    m[i] = mi;
    v[i] = vi;
  }
  __device__ void at4(int64_t i, const Local& l) const {
    float4 wv = load4(w, i), mv = load4(m, i), vv = load4(v, i), gv = load4(g, i);
#pragma unroll
    for (int k = 0; k < 4; ++k)
      lane(wv, k) = adam_element(lane(wv, k), lane(gv, k), lane(mv, k), lane(vv, k), l.lr, l.wd, beta1, beta2, eps, c1,
                                 c2, decoupled);
    store4(w, i, wv);
    store4(m, i, mv);
    store4(v, i, vv);
  }
};

struct ClampOp {
  float* w;
  struct Local {
    float lo, hi;
  };
  __device__ Local local(const ParamSegment& s) const { return {s.clamp_min, s.clamp_max}; }
  __device__ void at(int64_t i, const Local& l) const { w[i] = clamp_element(w[i], l.lo, l.hi); }
  __device__ void at4(int64_t i, const Local& l) const {
    float4 wv = load4(w, i);
#pragma unroll
    for (int k = 0; k < 4; ++k) lane(wv, k) = clamp_element(lane(wv, k), l.lo, l.hi);
    store4(w, i, wv);
  }
};

}  // namespace

void sgd_step(Context& ctx, const ParamTable& table, const Tensor& values, const Tensor& velocity, const Tensor& grads,
              const SgdOptions& o) {
  NvtxRange range("sgd_step");
  require_cuda_f32("sgd_step", values);
  const bool use_v = o.momentum != 0.f;
  SgdOp op{values.data<float>(),
           use_v ? velocity.data<float>() : nullptr,
           grads.data<float>(),
           o.lr,
           o.momentum,
           o.weight_decay,
           o.nesterov,
           o.lr_scale.defined() ? o.lr_scale.data<float>() : nullptr};
  const bool vec = aligned16(op.w, op.g, op.v ? op.v : op.w);
  launch_tiles(ctx, op, table.device_step_tiles, table.step_tiles.size(), table, vec);
}

void adam_step(Context& ctx, const ParamTable& table, const Tensor& values, const Tensor& m, const Tensor& v,
               const Tensor& grads, const AdamOptions& o) {
  NvtxRange range("adam_step");
  require_cuda_f32("adam_step", values);
  double c1, c2;
  adam_bias_corrections(o.beta1, o.beta2, o.step, c1, c2);
  AdamOp op{values.data<float>(),
            m.data<float>(),
            v.data<float>(),
            grads.data<float>(),
            o.lr,
            o.weight_decay,
            o.beta1,
            o.beta2,
            o.eps,
            static_cast<float>(c1),
            static_cast<float>(c2),
            o.decoupled};
  const bool vec = aligned16(op.w, op.m, op.v, op.g);
  launch_tiles(ctx, op, table.device_step_tiles, table.step_tiles.size(), table, vec);
}

void project_params(Context& ctx, const ParamTable& table, const Tensor& values) {
  NvtxRange range("project_params");
  require_cuda_f32("project_params", values);
  ClampOp op{values.data<float>()};
  launch_tiles(ctx, op, table.device_clamp_tiles, table.clamp_tiles.size(), table, aligned16(op.w));
}

}  // namespace scn::cuda
