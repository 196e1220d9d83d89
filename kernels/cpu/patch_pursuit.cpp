#include "kernels/patch_pursuit.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "core/dispatch.h"
#include "kernels/pursuit_math.h"
#include "kernels/threshold_math.h"

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

// The lane vectors live in this file's anonymous namespace and never cross a translation unit, so GCC's note
// that returning them changes the ABI where AVX-512 is off (-Wpsabi) does not apply here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace scn {

namespace {

// A tile is kVectors·kLanes pixels of one image: per channel, kVectors vectors of kLanes lanes, one f32
// register each (16 lanes under AVX-512, 8 otherwise). Its codes live in four C-row buffers for all K steps;
// only γ_K (and γ_{K−1}) go back to memory. The vector is one register wide on purpose: with 16-lane vectors
// under AVX2 (two registers each), GCC kept the accumulators on the stack and the fused pursuit ran slower
// than the unfused reference (SCN-1's 64-atom layer: 88 ms against 38 ms on an AVX2 machine).
#if defined(__AVX512F__)
constexpr int kLanes = 16;
#else
constexpr int kLanes = 8;
#endif

template <class T>
struct LaneVector {
  typedef T type __attribute__((vector_size(sizeof(T) * kLanes)));
};
template <class T>
using Lanes = typename LaneVector<T>::type;

// The register block of a step's product M'z: R rows of M' by the tile's kVectors vectors of pixels, R·kVectors
// accumulators. Each active column j costs kVectors loads of z and R broadcasts of M' for R·kVectors FMAs.
// AVX-512 (32 registers): 8 rows × 2 vectors (16 accumulators, 2 code vectors); of 1×16, 2×8, 2×12 and 3×8
// it was the fastest over SCN's 16, 32 and 64 atoms (tools/bench/pursuit_bench.cpp). AVX2 (16 registers):
// 6 rows × 2 vectors of 8 lanes (12 accumulators, 2 code vectors, 1 broadcast), the same 16-pixel tile.
#if defined(__AVX512F__)
constexpr int kVectors = 2;
constexpr int kRowsF32 = 8;
#else
constexpr int kVectors = 2;
constexpr int kRowsF32 = 6;
#endif
constexpr int kTilePixels = kLanes * kVectors;
template <class T>
constexpr int kRows = sizeof(T) == 4 ? kRowsF32 : std::max(kRowsF32 / 2, 1);

// True when some lane of v is not zero (its bits; a −0 counts, harmlessly).
template <class T>
inline bool any_nonzero(const Lanes<T>& v) {
#if defined(__AVX512F__)
  if constexpr (sizeof(T) == 4) {
    const __m512i bits = reinterpret_cast<__m512i>(v);
    return _mm512_test_epi32_mask(bits, bits) != 0;
  }
#elif defined(__AVX2__)
  if constexpr (sizeof(T) == 4) {
    const __m256i bits = reinterpret_cast<__m256i>(v);
    return !_mm256_testz_si256(bits, bits);
  } else {
    const __m256i either =
        _mm256_or_si256(reinterpret_cast<const __m256i*>(&v)[0], reinterpret_cast<const __m256i*>(&v)[1]);
    return !_mm256_testz_si256(either, either);
  }
#endif
  bool any = false;
  for (int l = 0; l < kLanes; ++l) any |= v[l] != T(0);
  return any;
}

// The threshold of pre-activations. nonneg: θ was folded into the constant (c = ηb − θ), so S is max(·, 0);
// two-sided: S_θ applied here.
template <class T, bool kNonneg>
inline Lanes<T> threshold_lanes(const Lanes<T>& pre, T theta) {
  const Lanes<T> zero{};
  if constexpr (kNonneg) {
#if defined(__AVX512F__)
    // max(NaN, 0) = 0, as the comparison below; one instruction instead of a compare and a blend.
    // (The maskz form: GCC 12 warns that _mm512_max_ps reads an undefined register.)
    if constexpr (sizeof(T) == 4)
      return reinterpret_cast<Lanes<T>>(
          _mm512_maskz_max_ps(__mmask16(0xFFFF), reinterpret_cast<__m512>(pre), __m512{}));
#endif
    return pre > zero ? pre : zero;
  } else {
    return pre > theta ? pre - theta : (pre < -theta ? pre + theta : zero);
  }
}

// What one tile's pursuit works in: per-thread buffers of C rows of kVectors vectors, and the lists of the
// rows (channels) whose code is non-zero somewhere in the tile.
template <class T>
struct Tile {
  Lanes<T>* constant;  // c = η·b − θ (nonneg) or η·b (two-sided)
  Lanes<T>* point;     // zₜ, read by every row block of step t
  Lanes<T>* next;      // zₜ₊₁, written by the epilogues of step t
  Lanes<T>* code;      // γₜ₋₁, replaced by γₜ row by row
  int* active;         // rows of zₜ that are non-zero somewhere in the tile, increasing
  int* next_active;
  int active_count = 0, next_active_count = 0;
};

struct Problem {
  int channels = 0;
  const void* mt = nullptr;  // M'ᵀ: mt[j·C + i] = M'[i][j]
  const void* theta = nullptr;
  bool shared_theta = false;
};

// Where a tile's codes go at the last step: `lanes` pixels per channel row, rows `stride` apart.
template <class T>
struct TileOutput {
  T* gamma;
  T* previous;  // null: not written
  int64_t stride;
  int lanes;
};

template <class T>
inline void store_row(T* out, const Lanes<T>* row, int lanes) {
  for (int v = 0; v < kVectors; ++v)
    for (int l = 0; l < kLanes && v * kLanes + l < lanes; ++l) out[v * kLanes + l] = row[v][l];
}

// One block of R rows i0 … i0+R−1 of step t: pre = c + M' zₜ over the active columns, γₜ = S(pre), then the
// epilogue. Not last: γₜ replaces γₜ₋₁ in `code` and zₜ₊₁ = γₜ + βₜ₊₁(γₜ − γₜ₋₁) goes to `next` (and to the
// next active list). Last: γₜ is stored to the output, and γₜ₋₁ to `previous` when asked.
template <class T, int R, bool kLast, bool kNonneg>
inline void row_block(Tile<T>& tile, const Problem& p, int i0, T beta_next, const TileOutput<T>& out) {
  const T* mt = static_cast<const T*>(p.mt);
  Lanes<T> acc[R][kVectors];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < kVectors; ++v) acc[r][v] = tile.constant[(i0 + r) * kVectors + v];
  const int* active = tile.active;
  const Lanes<T>* point = tile.point;
  for (int a = 0; a < tile.active_count; ++a) {
    const int j = active[a];
    Lanes<T> zj[kVectors];
#pragma GCC unroll 4
    for (int v = 0; v < kVectors; ++v) zj[v] = point[j * kVectors + v];
    const T* m = mt + static_cast<int64_t>(j) * p.channels + i0;
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const T mr = m[r];
#pragma GCC unroll 4
      for (int v = 0; v < kVectors; ++v) acc[r][v] += mr * zj[v];
    }
  }
  const T* theta = static_cast<const T*>(p.theta);
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    const int i = i0 + r;
    const T th = kNonneg ? T(0) : theta[p.shared_theta ? 0 : i];
    Lanes<T> g[kVectors];
    bool any = false;
#pragma GCC unroll 4
    for (int v = 0; v < kVectors; ++v) {
      g[v] = threshold_lanes<T, kNonneg>(acc[r][v], th);
      Lanes<T>& old = tile.code[i * kVectors + v];
      if constexpr (kLast) {
        continue;
      } else {
        const Lanes<T> z = g[v] + beta_next * (g[v] - old);
        old = g[v];
        tile.next[i * kVectors + v] = z;
        any |= any_nonzero<T>(z);
      }
    }
    if constexpr (kLast) {
      store_row(out.gamma + i * out.stride, g, out.lanes);
      if (out.previous) store_row(out.previous + i * out.stride, &tile.code[i * kVectors], out.lanes);
    } else {
      if (any) tile.next_active[tile.next_active_count++] = i;
    }
  }
}

// Rows [i0, C) of one step in blocks of R, the remainder in blocks of R/2, R/4, … 1.
template <class T, int R, bool kLast, bool kNonneg>
inline void rows_from(Tile<T>& tile, const Problem& p, int i0, T beta_next, const TileOutput<T>& out) {
  for (; i0 + R <= p.channels; i0 += R) row_block<T, R, kLast, kNonneg>(tile, p, i0, beta_next, out);
  if constexpr (R > 1) {
    if (i0 < p.channels) rows_from<T, R / 2, kLast, kNonneg>(tile, p, i0, beta_next, out);
  }
}

// The whole pursuit of one tile, whose pixels start at `b` (channel 0) and number out.lanes.
template <class T, bool kNonneg>
void pursue_tile(Tile<T>& tile, const Problem& p, const T* b, T eta, const TileOutput<T>& out, int iters, bool fista) {
  const T* theta = static_cast<const T*>(p.theta);
  const int C = p.channels;
  // c, then the first code γ₀ = S(c): it is γ₀ of `code` and z₁ of `point`.
  tile.active_count = 0;
  for (int i = 0; i < C; ++i) {
    const T th = theta[p.shared_theta ? 0 : i];
    Lanes<T> g[kVectors];
    bool any = false;
    for (int v = 0; v < kVectors; ++v) {
      Lanes<T> c{};
      for (int l = 0; l < kLanes && v * kLanes + l < out.lanes; ++l) c[l] = eta * b[i * out.stride + v * kLanes + l];
      if constexpr (kNonneg) c -= th;
      tile.constant[i * kVectors + v] = c;
      g[v] = threshold_lanes<T, kNonneg>(c, th);
      tile.code[i * kVectors + v] = g[v];
      tile.point[i * kVectors + v] = g[v];
      any |= any_nonzero<T>(g[v]);
    }
    if (iters == 0) store_row(out.gamma + i * out.stride, g, out.lanes);
    if (any) tile.active[tile.active_count++] = i;
  }
  double momentum = 1.0;
  if (fista) fista_next_momentum(momentum);  // β₁ = 0: z₁ = γ₀
  for (int t = 1; t <= iters; ++t) {
    tile.next_active_count = 0;
    if (t == iters) {
      rows_from<T, kRows<T>, true, kNonneg>(tile, p, 0, T(0), out);
      break;
    }
    const T beta_next = fista ? static_cast<T>(fista_next_momentum(momentum)) : T(0);
    rows_from<T, kRows<T>, false, kNonneg>(tile, p, 0, beta_next, out);
    std::swap(tile.point, tile.next);
    std::swap(tile.active, tile.next_active);
    tile.active_count = tile.next_active_count;
  }
}

size_t round_up(size_t bytes) { return (bytes + 63) / 64 * 64; }

template <class T>
void pursuit_cpu(Context& ctx, const Tensor& gamma, const Tensor& previous, const Tensor& b, const Tensor& gram,
                 const Tensor& eta_t, const Tensor& theta, ThresholdMode mode, int iters, bool fista) {
  const int C = static_cast<int>(b.size(1));
  const int64_t n = b.size(0), hw = b.numel() / (b.size(0) * C);
  const int64_t tiles_per_image = (hw + kTilePixels - 1) / kTilePixels, tiles = n * tiles_per_image;
  const int threads = omp_get_max_threads();
  // Workspace: M'ᵀ, then per thread four C-row buffers and two C-entry lists.
  const size_t matrix = round_up(sizeof(T) * C * C);
  const size_t rows = round_up(sizeof(Lanes<T>) * kVectors * C), lists = round_up(sizeof(int) * C);
  const size_t per_thread = 4 * rows + 2 * lists;
  char* work = static_cast<char*>(ctx.workspace(matrix + per_thread * threads));
  const T eta = eta_t.data<T>()[0];
  const T* m = gram.data<T>();
  T* mt = reinterpret_cast<T*>(work);
  for (int i = 0; i < C; ++i)
    for (int j = 0; j < C; ++j) mt[j * C + i] = (i == j ? T(1) : T(0)) - eta * m[i * C + j];
  const Problem p{C, mt, theta.data<T>(), theta.numel() == 1};
  const T* bp = b.data<T>();
  T* out = gamma.data<T>();
  T* prev = previous.defined() ? previous.data<T>() : nullptr;
  const bool nonneg = mode == ThresholdMode::nonneg;
#pragma omp parallel
  {
    char* mine = work + matrix + per_thread * static_cast<size_t>(omp_get_thread_num());
    Tile<T> tile;
    tile.constant = reinterpret_cast<Lanes<T>*>(mine);
    tile.point = reinterpret_cast<Lanes<T>*>(mine + rows);
    tile.next = reinterpret_cast<Lanes<T>*>(mine + 2 * rows);
    tile.code = reinterpret_cast<Lanes<T>*>(mine + 3 * rows);
    tile.active = reinterpret_cast<int*>(mine + 4 * rows);
    tile.next_active = reinterpret_cast<int*>(mine + 4 * rows + lists);
#pragma omp for schedule(static)
    for (int64_t k = 0; k < tiles; ++k) {
      const int64_t image = k / tiles_per_image, first = (k % tiles_per_image) * kTilePixels;
      const int64_t at = image * C * hw + first;  // channel 0 of the tile's first pixel
      const TileOutput<T> o{out + at, prev ? prev + at : nullptr, hw,
                            static_cast<int>(std::min<int64_t>(kTilePixels, hw - first))};
      if (nonneg) {
        pursue_tile<T, true>(tile, p, bp + at, eta, o, iters, fista);
      } else {
        pursue_tile<T, false>(tile, p, bp + at, eta, o, iters, fista);
      }
    }
  }
}

}  // namespace

void patch_pursuit_forward(Context& ctx, const Tensor& gamma, const Tensor& previous, const Tensor& b,
                           const Tensor& gram, const Tensor& eta, const Tensor& theta, ThresholdMode mode, int iters,
                           bool fista) {
  const char* op = "patch_pursuit_forward";
  SCN_CHECK(b.rank() == 4, op, ": b must be (N, C, H, W), got ", b.shape().str());
  SCN_CHECK(b.dtype() == DType::f32 || b.dtype() == DType::f64, op, ": b is ", dtype_name(b.dtype()),
            ", expected f32 or f64");
  const int64_t c = b.size(1);
  SCN_CHECK(c >= 1 && c <= kPatchPursuitMaxChannels, op, ": ", c, " channels; the fused patch pursuit supports 1 to ",
            kPatchPursuitMaxChannels);
  SCN_CHECK(gram.numel() == c * c && gram.size(0) == c, op, ": gram must be (C, C) for C = ", c, ", got ",
            gram.shape().str());
  check_shape(op, "gamma", gamma, b.shape());
  if (previous.defined()) {
    check_shape(op, "previous", previous, b.shape());
    SCN_CHECK(iters >= 1, op, ": previous (γ_{K-1}) needs iters >= 1");
  }
  check_shape(op, "eta", eta, Shape{1});
  SCN_CHECK(theta.numel() == 1 || (theta.rank() == 1 && theta.size(0) == c), op, ": theta must be (", c,
            ") or (1), got ", theta.shape().str());
  SCN_CHECK(iters >= 0, op, ": iters must be >= 0, got ", iters);
  for (const Tensor* t : {&gamma, &previous, &gram, &eta, &theta})
    SCN_CHECK(!t->defined() || t->dtype() == b.dtype(), op, ": dtypes differ (", t->str(), " and b ", b.str(), ")");
  check_same_device(op, {&gamma, &previous, &b, &gram, &eta, &theta});
  count_flops(2.0 * static_cast<double>(b.numel()) * static_cast<double>(c) * iters);
  SCN_DISPATCH_CUDA(b, cuda::patch_pursuit_forward(ctx, gamma, previous, b, gram, eta, theta, mode, iters, fista));
  if (b.dtype() == DType::f64)
    return pursuit_cpu<double>(ctx, gamma, previous, b, gram, eta, theta, mode, iters, fista);
  pursuit_cpu<float>(ctx, gamma, previous, b, gram, eta, theta, mode, iters, fista);
}

}  // namespace scn
