#include "kernels/active_set_solve.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/dispatch.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

// The lane vectors live in this file's anonymous namespace and never cross a translation unit, so GCC's note
// that returning them changes the ABI where AVX-512 is off (-Wpsabi) does not apply here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace scn {

namespace {

// Eight pixels are solved together, one per lane of a vector of doubles (one AVX-512 register): over the union
// U of their supports, lane l factors the system whose rows and columns outside its own support Λ_l are the
// identity with a zero right-hand side, which leaves exactly β_l = (M_ΛlΛl + εI)⁻¹ g_Λl on Λ_l and 0 elsewhere.
// A pixel's factorisation is a chain of dependent square roots and divisions: one at a time it waits on their
// latency; eight interleaved ones fill the vector units. Where the union is much larger than the supports the
// dense work (|U|³/6 per group against Σ|Λ_l|³/6) stops paying: past kMaxUnion atoms the pixels are solved one
// at a time (solve_pixel), as the CUDA kernel does.
constexpr int kGroup = 8;
constexpr int kMaxUnion = 40;
using Lanes = double __attribute__((vector_size(sizeof(double) * kGroup)));

inline Lanes lanes_sqrt(const Lanes& x) {
#if defined(__AVX512F__)
  return reinterpret_cast<Lanes>(_mm512_maskz_sqrt_pd(__mmask8(0xFF), reinterpret_cast<__m512d>(x)));
#else
  Lanes r;
  for (int l = 0; l < kGroup; ++l) r[l] = std::sqrt(x[l]);
  return r;
#endif
}

// Per-thread scratch, carved from the context's workspace.
struct Scratch {
  int* index;      // the union's channels, increasing
  Lanes* member;   // per union entry: 1 in the lanes whose support holds it, else 0
  Lanes* factor;   // A, then L in place: packed lower triangle by rows, (i, k ≤ i) at i(i+1)/2 + k
  Lanes* inverse;  // 1/L_ii
  Lanes* work;     // the right-hand side, then y, then β
  // One pixel at a time (unions past kMaxUnion): its support, L in rows of padded(n), the solution.
  int* pixel_index;
  double* pixel_factor;
  double* pixel_work;

  // Each array starts on a 64-byte boundary (the lane vectors are loaded aligned), and so does every
  // thread's scratch: bytes() is a multiple of 64.
  static size_t rounded(size_t n) { return (n + 63) / 64 * 64; }
  static size_t padded(int64_t n) { return static_cast<size_t>((n + kGroup - 1) / kGroup * kGroup); }
  static size_t bytes(int64_t c) {
    const size_t u = static_cast<size_t>(std::min<int64_t>(c, kMaxUnion)), n = static_cast<size_t>(c);
    return rounded(sizeof(int) * n) + rounded(sizeof(Lanes) * n) + rounded(sizeof(Lanes) * u * (u + 1) / 2) +
           2 * rounded(sizeof(Lanes) * u) + rounded(sizeof(int) * n) + rounded(sizeof(double) * n * padded(n)) +
           rounded(sizeof(double) * n);
  }
  Scratch(char* p, int64_t c) {
    const size_t u = static_cast<size_t>(std::min<int64_t>(c, kMaxUnion));
    auto take = [&p](size_t n) {
      char* at = p;
      p += rounded(n);
      return at;
    };
    index = reinterpret_cast<int*>(take(sizeof(int) * c));
    member = reinterpret_cast<Lanes*>(take(sizeof(Lanes) * c));
    factor = reinterpret_cast<Lanes*>(take(sizeof(Lanes) * u * (u + 1) / 2));
    inverse = reinterpret_cast<Lanes*>(take(sizeof(Lanes) * u));
    work = reinterpret_cast<Lanes*>(take(sizeof(Lanes) * u));
    pixel_index = reinterpret_cast<int*>(take(sizeof(int) * c));
    pixel_factor = reinterpret_cast<double*>(take(sizeof(double) * c * padded(c)));
    pixel_work = reinterpret_cast<double*>(take(sizeof(double) * c));
  }
};

// Eight consecutive values of one channel as lanes (whole vectors: no per-lane stores that a vector load would
// then wait on), fewer at the end of a plane.
template <class T>
inline Lanes load_lanes(const T* p, int lanes) {
  if (lanes == kGroup) {
    typedef T Packed __attribute__((vector_size(sizeof(T) * kGroup)));
    Packed v;
    std::memcpy(&v, p, sizeof v);
    return __builtin_convertvector(v, Lanes);
  }
  Lanes v{};
  for (int l = 0; l < lanes; ++l) v[l] = static_cast<double>(p[l]);
  return v;
}
template <class T>
inline void store_lanes(T* p, const Lanes& v, int lanes) {
  if (lanes == kGroup) {
    typedef T Packed __attribute__((vector_size(sizeof(T) * kGroup)));
    const Packed packed = __builtin_convertvector(v, Packed);
    std::memcpy(p, &packed, sizeof packed);
    return;
  }
  for (int l = 0; l < lanes; ++l) p[l] = static_cast<T>(v[l]);
}

// Σ_{k<n} a_k b_k, eight lanes wide, then the tail.
inline double dot(const double* a, const double* b, int n) {
  Lanes acc{};
  int k = 0;
  for (; k + kGroup <= n; k += kGroup) {
    Lanes x, y;
    std::memcpy(&x, a + k, sizeof x);
    std::memcpy(&y, b + k, sizeof y);
    acc += x * y;
  }
  double sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; k < n; ++k) sum += a[k] * b[k];
  return sum;
}

// One pixel on its own support Λ (n atoms; the large supports, where a group's union would be mostly waste):
// left-looking Cholesky of M_ΛΛ + εI in row-major rows, each entry a dot product of two rows eight lanes wide —
// the dot products without one-multiply-add-at-a-time dependency chains.
template <class T>
void solve_pixel(T* beta, const T* gram, const T* code, const T* g, int channels, int64_t stride, double ridge,
                 Scratch& s) {
  int n = 0;
  for (int c = 0; c < channels; ++c)
    if (code[c * stride] != T(0)) s.pixel_index[n++] = c;
  if (n == 0) return;
  const int ld = static_cast<int>(Scratch::padded(n));
  double* a = s.pixel_factor;
  for (int i = 0; i < n; ++i) {
    const T* row = gram + static_cast<int64_t>(s.pixel_index[i]) * channels;
    for (int k = 0; k <= i; ++k) a[i * ld + k] = static_cast<double>(row[s.pixel_index[k]]) + (i == k ? ridge : 0.0);
  }
  for (int j = 0; j < n; ++j) {
    double* lj = a + j * ld;
    const double pivot = lj[j] - dot(lj, lj, j);
    const double d = pivot > 0 ? std::sqrt(pivot) : kActiveSetPivotFloor;
    lj[j] = d;
    const double inv = 1.0 / d;
    for (int i = j + 1; i < n; ++i) a[i * ld + j] = (a[i * ld + j] - dot(a + i * ld, lj, j)) * inv;
  }
  double* y = s.pixel_work;
  for (int i = 0; i < n; ++i) y[i] = (static_cast<double>(g[s.pixel_index[i] * stride]) - dot(a + i * ld, y, i)) / a[i * ld + i];
  for (int i = n - 1; i >= 0; --i) {
    double sum = y[i];
    for (int k = i + 1; k < n; ++k) sum -= a[k * ld + i] * y[k];
    y[i] = sum / a[i * ld + i];
  }
  for (int i = 0; i < n; ++i) beta[s.pixel_index[i] * stride] = static_cast<T>(y[i]);
}

// The `lanes` (≤ 8) pixels whose channel 0 is at beta/code/g, channels `stride` apart.
template <class T>
void solve_group(T* beta, const T* gram, const T* code, const T* g, int channels, int64_t stride, int lanes,
                 double ridge, Scratch& s) {
  const Lanes zero{}, one = zero + 1.0;
  int u = 0;
  for (int c = 0; c < channels; ++c) {
    store_lanes(beta + c * stride, zero, lanes);
    const Lanes member = load_lanes(code + c * stride, lanes) != 0.0 ? one : zero;
    if (member[0] + member[1] + member[2] + member[3] + member[4] + member[5] + member[6] + member[7] > 0.0)
      s.index[u] = c, s.member[u++] = member;
  }
  if (u == 0) return;
  if (u > kMaxUnion) {
    for (int l = 0; l < lanes; ++l) solve_pixel(beta + l, gram, code + l, g + l, channels, stride, ridge, s);
    return;
  }
  // A = M + εI on both supports, the identity elsewhere, packed lower triangle by rows: (i, k ≤ i) at i(i+1)/2 + k.
  for (int i = 0; i < u; ++i) {
    Lanes* ai = s.factor + i * (i + 1) / 2;
    const T* row = gram + static_cast<int64_t>(s.index[i]) * channels;
    for (int k = 0; k < i; ++k) ai[k] = s.member[i] * s.member[k] * static_cast<double>(row[s.index[k]]);
    ai[i] = s.member[i] * (static_cast<double>(row[s.index[i]]) + ridge) + (one - s.member[i]);
  }
  // Left-looking Cholesky by columns, in place: L_jj = √(A_jj − Σ_{m<j} L_jm²), then for every row i > j,
  // L_ij = (A_ij − Σ_{m<j} L_im L_jm)/L_jj. The entries below a pivot are independent dot products of
  // contiguous packed rows, so four rows advance together and share the loads of row j; only the pivots chain.
  for (int j = 0; j < u; ++j) {
    Lanes* lj = s.factor + j * (j + 1) / 2;
    Lanes pivot = lj[j];
    for (int m = 0; m < j; ++m) pivot -= lj[m] * lj[m];
    // M is positive semidefinite; ε > 0 keeps the pivot positive but for rounding (active_set_solve.h).
    const Lanes d = pivot > 0.0 ? lanes_sqrt(pivot) : Lanes{} + kActiveSetPivotFloor;
    lj[j] = d;
    const Lanes inv = s.inverse[j] = one / d;
    int i = j + 1;
    for (; i + 4 <= u; i += 4) {
      Lanes* r0 = s.factor + i * (i + 1) / 2;
      Lanes* r1 = r0 + i + 1;
      Lanes* r2 = r1 + i + 2;
      Lanes* r3 = r2 + i + 3;
      Lanes s0 = r0[j], s1 = r1[j], s2 = r2[j], s3 = r3[j];
      for (int m = 0; m < j; ++m) {
        const Lanes l = lj[m];
        s0 -= r0[m] * l, s1 -= r1[m] * l, s2 -= r2[m] * l, s3 -= r3[m] * l;
      }
      r0[j] = s0 * inv, r1[j] = s1 * inv, r2[j] = s2 * inv, r3[j] = s3 * inv;
    }
    for (; i < u; ++i) {
      Lanes* r = s.factor + i * (i + 1) / 2;
      Lanes sum = r[j];
      for (int m = 0; m < j; ++m) sum -= r[m] * lj[m];
      r[j] = sum * inv;
    }
  }
  // L y = g (0 outside each lane's support), column by column; then Lᵀ β = y, row by row of L.
  for (int i = 0; i < u; ++i) s.work[i] = load_lanes(g + s.index[i] * stride, lanes) * s.member[i];
  for (int j = 0; j < u; ++j) {
    const Lanes y = s.work[j] *= s.inverse[j];
    for (int i = j + 1; i < u; ++i) s.work[i] -= s.factor[i * (i + 1) / 2 + j] * y;
  }
  for (int i = u - 1; i >= 0; --i) {
    const Lanes b = s.work[i] *= s.inverse[i];
    const Lanes* li = s.factor + i * (i + 1) / 2;
    for (int k = 0; k < i; ++k) s.work[k] -= li[k] * b;
  }
  for (int i = 0; i < u; ++i) store_lanes(beta + s.index[i] * stride, s.work[i] * s.member[i], lanes);
}

template <class T>
void solve_cpu(Context& ctx, const Tensor& beta, const Tensor& gram, const Tensor& code, const Tensor& g,
               double ridge) {
  const int64_t n = code.size(0), c = code.size(1), hw = code.numel() / (n * c);
  const int64_t groups_per_image = (hw + kGroup - 1) / kGroup, groups = n * groups_per_image;
  const size_t per_thread = Scratch::bytes(c);
  char* work = static_cast<char*>(ctx.workspace(per_thread * static_cast<size_t>(omp_get_max_threads())));
  const T* m = gram.data<T>();
  const T* z = code.data<T>();
  const T* gp = g.data<T>();
  T* bp = beta.data<T>();
#pragma omp parallel
  {
    Scratch s(work + per_thread * static_cast<size_t>(omp_get_thread_num()), c);
#pragma omp for schedule(dynamic, 16)
    for (int64_t k = 0; k < groups; ++k) {
      const int64_t image = k / groups_per_image, first = (k % groups_per_image) * kGroup;
      const int64_t at = image * c * hw + first;  // channel 0 of the group's first pixel
      solve_group<T>(bp + at, m, z + at, gp + at, static_cast<int>(c), hw,
                     static_cast<int>(std::min<int64_t>(kGroup, hw - first)), ridge, s);
    }
  }
}
}  // namespace

void active_set_solve(Context& ctx, const Tensor& beta, const Tensor& gram, const Tensor& code, const Tensor& g,
                      double ridge) {
  const char* op = "active_set_solve";
  SCN_CHECK(code.rank() == 4, op, ": code must be (N, C, H, W), got ", code.shape().str());
  const int64_t c = code.size(1);
  SCN_CHECK(gram.numel() == c * c && gram.size(0) == c, op, ": gram must be (C, C) for C = ", c, ", got ",
            gram.shape().str());
  check_shape(op, "g", g, code.shape());
  check_shape(op, "beta", beta, code.shape());
  SCN_CHECK(ridge >= 0, op, ": ridge must be >= 0");
  SCN_CHECK(beta.dtype() == code.dtype() && g.dtype() == code.dtype() && gram.dtype() == code.dtype(), op,
            ": dtypes differ");
  check_same_device(op, {&beta, &gram, &code, &g});
  SCN_DISPATCH_CUDA(code, cuda::active_set_solve(ctx, beta, gram, code, g, ridge));
  if (code.dtype() == DType::f64) return solve_cpu<double>(ctx, beta, gram, code, g, ridge);
  SCN_CHECK(code.dtype() == DType::f32, op, ": float tensors only");
  solve_cpu<float>(ctx, beta, gram, code, g, ridge);
}

}  // namespace scn
