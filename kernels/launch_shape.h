#pragma once
// The grid of the GPU's per-channel reductions as plain arithmetic, so CPU tests hold it: x, blocks per
// channel — enough over all channels to fill the device, at least one per channel, at most 1024; y, rows of
// channels — CUDA allows at most 65,535 (gridDim.y), and the kernels loop over the channels past that
// (c = blockIdx.y, c += gridDim.y). Unclamped, 65,536 channels would be an invalid launch.
#include <algorithm>
#include <cstdint>

namespace scn {

inline constexpr int64_t kMaxGridRows = 65535;

struct ChannelGridShape {
  int blocks = 1;  // gridDim.x
  int rows = 1;    // gridDim.y
};

inline ChannelGridShape channel_grid_shape(int64_t batch, int64_t inner, int64_t channels, int64_t multiprocessors,
                                           int threads) {
  const int64_t per_channel = batch * inner, c = std::max<int64_t>(channels, 1);
  ChannelGridShape g;
  g.blocks = static_cast<int>(std::clamp<int64_t>(
      std::min<int64_t>((per_channel + threads - 1) / threads, (multiprocessors * 8 + c - 1) / c), 1, 1024));
  g.rows = static_cast<int>(std::clamp<int64_t>(channels, 1, kMaxGridRows));
  return g;
}

}  // namespace scn
