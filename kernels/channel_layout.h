#pragma once
// How an (N, C, ...) tensor splits into channels: element i belongs to channel (i / inner) % channels.
// Per-channel ops (thresholds, bias, batch norm) share this and its checks.
#include "core/tensor.h"

namespace scn {

struct ChannelLayout {
  int64_t batch = 1;     // N
  int64_t channels = 1;  // C
  int64_t inner = 1;     // H·W (1 for (N, C) tensors)
};

// Layout of x, with `per_channel` (if defined) of C elements or a single shared element.
ChannelLayout channel_layout(const char* op, const Tensor& x);
void check_per_channel(const char* op, const char* name, const Tensor& p, const ChannelLayout& layout,
                       bool allow_shared = true);

}  // namespace scn
