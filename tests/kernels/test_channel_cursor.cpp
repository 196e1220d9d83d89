// The launch shapes and the division-free channel walk of the GPU's per-channel kernels
// (kernels/launch_shape.h, kernels/channel_cursor.h): grids within CUDA's limits for any channel count, and the
// walk against the divisions it replaces, for strides smaller and larger than a plane and an image, odd sizes.
#include <gtest/gtest.h>

#include "kernels/channel_cursor.h"
#include "kernels/launch_shape.h"

namespace scn::test {
namespace {

TEST(ChannelGrid, StaysWithinCudaLimitsForAnyChannelCount) {
  for (int64_t channels : {1ll, 3ll, 65535ll, 65536ll, 100000ll, 1ll << 31})
    for (int64_t inner : {1ll, 64ll, 1ll << 20}) {
      const ChannelGridShape g = channel_grid_shape(7, inner, channels, 132, 256);
      EXPECT_GE(g.rows, 1);
      EXPECT_LE(g.rows, 65535) << channels << " channels would be an invalid launch";
      EXPECT_GE(g.blocks, 1);
      EXPECT_LE(g.blocks, 1024);
      // The kernels loop c = blockIdx.y, c += gridDim.y: every channel is some row's.
      EXPECT_EQ(std::min<int64_t>(channels, 65535), g.rows);
    }
  // Few channels of much data: enough blocks to fill 132 multiprocessors several times over.
  EXPECT_GE(channel_grid_shape(128, 1024, 16, 132, 256).blocks * 16, 132 * 8 - 16);
}

TEST(ChannelCursor, AgreesWithDivisionEverywhere) {
  for (int64_t inner : {1, 3, 4, 17, 64, 1000})
    for (int64_t channels : {1, 2, 5, 16, 70000})
      for (int64_t stride : {1, 3, 256, 1024 * 132, 4 * 17 * 5 + 1})
        for (int64_t start : {0, 1, 255, 70001}) {
          const int64_t n = 3 * channels * inner + 7;
          ChannelCursor cur(start, stride, inner, channels);
          for (int steps = 0; cur.i < n && steps < 2000; ++steps, cur.advance(inner, channels)) {
            ASSERT_EQ(cur.k, cur.i % inner) << "inner " << inner << " channels " << channels << " stride " << stride;
            ASSERT_EQ(cur.c, (cur.i / inner) % channels)
                << "inner " << inner << " channels " << channels << " stride " << stride << " start " << start;
          }
        }
}

TEST(PlaneCursor, AgreesWithDivisionEverywhere) {
  for (int64_t inner : {1, 3, 4, 17, 64, 1000})
    for (int64_t stride : {1, 3, 256, 1024 * 132, 4 * 17 * 5 + 1})
      for (int64_t start : {0, 1, 255, 70001}) {
        PlaneCursor cur(start, stride, inner);
        for (int steps = 0; cur.j < 5 * inner + 70003 && steps < 2000; ++steps, cur.advance(inner)) {
          ASSERT_EQ(cur.n, cur.j / inner) << "inner " << inner << " stride " << stride << " start " << start;
          ASSERT_EQ(cur.k, cur.j % inner);
          ASSERT_EQ(cur.at(7, 3, inner), (cur.n * 7 + 3) * inner + cur.k);
        }
      }
}

}  // namespace
}  // namespace scn::test
