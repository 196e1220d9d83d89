#pragma once
// A grid-stride walk over an (N, C, inner) tensor that knows each element's channel without dividing per
// element. Element i sits in plane i / inner = n·C + c; a walk from `start` by `stride` splits both into
// (planes, offset) once, and then carries: the offset wraps at `inner`, the channel at C. A 64-bit division per
// element (what `(i / inner) % C` costs) made the channel-indexed GPU kernels instruction-bound instead of
// bandwidth-bound. Shared with the CPU so tests check the walk against the divisions it replaces.
#include <cstdint>

#include "core/philox.h"  // SCN_HD

namespace scn {

struct ChannelCursor {
  int64_t i = 0;  // element
  int64_t k = 0;  // offset in its plane, < inner
  int64_t c = 0;  // channel, < channels
  int64_t di = 0, dk = 0, dc = 0;  // the stride as elements, offset and channels

  SCN_HD ChannelCursor(int64_t start, int64_t stride, int64_t inner, int64_t channels) {
    const int64_t plane = start / inner, planes = stride / inner;
    i = start;
    k = start - plane * inner;
    c = plane % channels;
    di = stride;
    dk = stride - planes * inner;
    dc = planes % channels;
  }
  // One stride on: k + dk < 2·inner and c + dc + 1 < 2·channels, so one wrap each is enough.
  SCN_HD void advance(int64_t inner, int64_t channels) {
    i += di;
    k += dk;
    c += dc;
    if (k >= inner) k -= inner, c += 1;
    if (c >= channels) c -= channels;
  }
};

// The same walk over the (batch, inner) elements of one channel: element j is (n, k) = (j / inner, j % inner),
// at (n·C + c)·inner + k of the tensor.
struct PlaneCursor {
  int64_t j = 0;  // element of the channel, < batch·inner while in range
  int64_t n = 0;  // image
  int64_t k = 0;  // offset in the plane
  int64_t dj = 0, dn = 0, dk = 0;

  SCN_HD PlaneCursor(int64_t start, int64_t stride, int64_t inner) {
    j = start;
    n = start / inner;
    k = start - n * inner;
    dj = stride;
    dn = stride / inner;
    dk = stride - dn * inner;
  }
  SCN_HD void advance(int64_t inner) {
    j += dj;
    n += dn;
    k += dk;
    if (k >= inner) k -= inner, n += 1;
  }
  // The element's index in an (N, C, inner) tensor.
  SCN_HD int64_t at(int64_t channels, int64_t c, int64_t inner) const { return (n * channels + c) * inner + k; }
};

}  // namespace scn
