#include "kernels/channel_layout.h"

namespace scn {

ChannelLayout channel_layout(const char* op, const Tensor& x) {
  check_defined(op, "x", x);
  SCN_CHECK(x.rank() >= 2, op, ": expected an (N, C, ...) tensor, got ", x.shape().str());
  ChannelLayout l;
  l.batch = x.size(0);
  l.channels = x.size(1);
  l.inner = (l.batch > 0 && l.channels > 0) ? x.numel() / (l.batch * l.channels) : 0;
  return l;
}

void check_per_channel(const char* op, const char* name, const Tensor& p, const ChannelLayout& layout,
                       bool allow_shared) {
  check_defined(op, name, p);
  const bool ok = p.numel() == layout.channels || (allow_shared && p.numel() == 1);
  SCN_CHECK(ok, op, ": ", name, " has ", p.numel(), " elements, expected one per channel (", layout.channels, ")",
            allow_shared ? " or one shared" : "");
}

}  // namespace scn
