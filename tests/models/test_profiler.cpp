// scn profile's table on the CPU: one row per layer plus loss and optimizer, and the rows add up to the
// measured step (within 10%).
#include <gtest/gtest.h>

#include "models/profiler.h"

namespace scn::test {
namespace {

TEST(Profiler, TableCoversEveryLayerAndSumsToTheStep) {
  RunConfig c = RunConfig::parse(ConfigNode::load_string(R"(model:
  input: [3, 16, 16]
  classes: 10
  layers:
    - {type: batch_norm, affine: false}
    - {type: sparse_code, out: 16, iters: 2, step: auto}
    - {type: pool, kernel: 2}
    - {type: sparse_code, out: 32, iters: 1}
    - {type: global_avg_pool}
    - {type: linear, out: 10}
train: {batch: 32}
)",
                                                         "profile.yaml"));
  ProfileOptions o;
  o.device = "cpu";
  o.steps = 5;
  o.warmup = 2;
  ProfileReport r = profile(c, o);
  ASSERT_EQ(r.rows.size(), 8u);
  EXPECT_EQ(r.rows[1].type, "sparse_code");
  EXPECT_EQ(r.rows[6].node, "loss");
  EXPECT_EQ(r.rows[7].node, "optimizer");
  EXPECT_GT(r.rows[1].flops, 0);
  EXPECT_GT(r.rows[1].forward_ms, 0);
  EXPECT_GT(r.rows[1].backward_ms, 0);
  EXPECT_GT(r.peak_gbps, 0);
  EXPECT_GT(r.peak_gflops, 0);
  EXPECT_GT(r.train_images_per_s, 0);
  EXPECT_GT(r.infer_images_per_s, r.train_images_per_s);
  EXPECT_NEAR(r.rows_ms, r.step_ms, 0.1 * r.step_ms) << format_profile(r);
  EXPECT_NE(format_profile(r).find("sparse_code"), std::string::npos);
}

}  // namespace
}  // namespace scn::test
