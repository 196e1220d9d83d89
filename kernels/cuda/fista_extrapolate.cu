#include "kernels/cuda/map.cuh"
#include "kernels/fista_extrapolate.h"
#include "kernels/pursuit_math.h"

namespace scn::cuda {

namespace {

struct ExtrapolateOp {
  float* z;
  const float* g;
  const float* gp;
  float beta;
  __device__ void at(int64_t i) const { z[i] = fista_extrapolate(g[i], gp[i], beta); }
  __device__ void at4(int64_t i) const {
    const float b = beta;
    store4(z, i, zip4(load4(g, i), load4(gp, i), [b](float p, float q) { return fista_extrapolate(p, q, b); }));
  }
};

// dg (+)= kg·dz, dgp (+)= kgp·dz; a null output is skipped, an overwritten one is not read.
struct ExtrapolateBackOp {
  float* dg;
  float* dgp;
  const float* dz;
  float kg, kgp;
  bool acc_g, acc_gp;
  __device__ static float put(float old, bool acc, float k, float d) { return acc ? old + k * d : k * d; }
  __device__ void at(int64_t i) const {
    const float d = dz[i];
    if (dg) dg[i] = put(acc_g ? dg[i] : 0.f, acc_g, kg, d);
    if (dgp) dgp[i] = put(acc_gp ? dgp[i] : 0.f, acc_gp, kgp, d);
  }
  __device__ void at4(int64_t i) const {
    const float4 d = load4(dz, i);
    if (dg) {
      const float4 old = acc_g ? load4(dg, i) : float4{};
      const bool acc = acc_g;
      const float k = kg;
      store4(dg, i, zip4(old, d, [acc, k](float o, float v) { return put(o, acc, k, v); }));
    }
    if (dgp) {
      const float4 old = acc_gp ? load4(dgp, i) : float4{};
      const bool acc = acc_gp;
      const float k = kgp;
      store4(dgp, i, zip4(old, d, [acc, k](float o, float v) { return put(o, acc, k, v); }));
    }
  }
};

}  // namespace

void fista_extrapolate_forward(Context& ctx, const Tensor& z, const Tensor& gamma, const Tensor& gamma_prev,
                               float beta) {
  NvtxRange range("fista_extrapolate_forward");
  require_cuda_f32("fista_extrapolate_forward", gamma);
  ExtrapolateOp op{z.data<float>(), gamma.data<float>(), gamma_prev.data<float>(), beta};
  launch_map(ctx, op, z.numel(), aligned16(op.z, op.g, op.gp));
}

void fista_extrapolate_backward(Context& ctx, const Tensor& dgamma, const Tensor& dgamma_prev, const Tensor& dz,
                                float beta, bool accumulate_dgamma, bool accumulate_dgamma_prev) {
  NvtxRange range("fista_extrapolate_backward");
  require_cuda_f32("fista_extrapolate_backward", dz);
  if (!dgamma.defined() && !dgamma_prev.defined()) return;
  ExtrapolateBackOp op{dgamma.defined() ? dgamma.data<float>() : nullptr,
                       dgamma_prev.defined() ? dgamma_prev.data<float>() : nullptr,
                       dz.data<float>(),
                       1.f + beta,
                       -beta,
                       accumulate_dgamma,
                       accumulate_dgamma_prev};
  const float* none = op.dz;  // stands in for a skipped output
  launch_map(ctx, op, dz.numel(), aligned16(op.dg ? op.dg : none, op.dgp ? op.dgp : none, op.dz));
}

}  // namespace scn::cuda
