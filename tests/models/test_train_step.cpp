// The training step: a learning rate read from the device gives the same update as one passed from the
// host; train.cuda_graph refuses what it cannot capture; on a GPU, replayed steps equal eager ones.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/memory.h"
#include "core/safetensors.h"
#include "kernels/op_case.h"
#include "models/train_step.h"
#include "models/trainer.h"

namespace scn::test {
namespace {

namespace fs = std::filesystem;

const char* kNet = R"(model:
  input: [1, 8, 8]
  classes: 3
  layers:
    - {type: sparse_code, out: 4, iters: 1, step: auto}
    - {type: batch_norm}
    - {type: global_avg_pool}
    - {type: linear, out: 3}
)";

TEST(TrainStep, DeviceLearningRateEqualsHostLearningRate) {
  std::vector<double> after[2];
  for (int device_lr = 0; device_lr < 2; ++device_lr) {
    auto net = Net::build(ConfigNode::load_string(kNet, "net.yaml")["model"]);
    net->initialize(Device::cpu(), 5);
    net->params().grads().copy_from(random_uniform(net->params().grads().shape(), DType::f32, 5, 1));
    OptimizerConfig oc;
    oc.momentum = 0.9;
    oc.weight_decay = 1e-3;
    Optimizer opt(oc, net->params());
    if (device_lr) {
      opt.step(Context::get(Device::cpu()), 1.0, Tensor::from_vector({0.05}, {1}));
    } else {
      opt.step(Context::get(Device::cpu()), 0.05);
    }
    after[device_lr] = net->params().values().to_vector();
  }
  EXPECT_EQ(after[0], after[1]);
}

// After the first step has sized every buffer, a training step allocates nothing and builds no plan.
TEST(TrainStep, SteadyStateStepsAllocateNothing) {
  auto net = Net::build(ConfigNode::load_string(kNet, "net.yaml")["model"]);
  net->initialize(Device::cpu(), 5);
  OptimizerConfig oc;
  Optimizer opt(oc, net->params());
  TrainStep step(*net, opt, 0.1, false);
  Context& ctx = Context::get(Device::cpu());
  Tensor x = random_uniform({6, 1, 8, 8}, DType::f32, 5, 2);
  Tensor y = Tensor::from_vector({0, 1, 2, 0, 1, 2}, {6}, DType::i32);
  EpochSums sums;
  sums.reset(Device::cpu());
  step.run(ctx, x, y, 0.01, sums);
  step.run(ctx, x, y, 0.01, sums);
  const int64_t allocations = memory_stats().allocations();
  const int64_t plans = ctx.stats().plans_built, grows = ctx.stats().workspace_grows;
  for (int i = 0; i < 3; ++i) step.run(ctx, x, y, 0.01, sums);
  EXPECT_EQ(memory_stats().allocations(), allocations);
  EXPECT_EQ(ctx.stats().plans_built, plans);
  EXPECT_EQ(ctx.stats().workspace_grows, grows);
  EXPECT_EQ(sums.images, 30);
}

TEST(TrainStep, CudaGraphRefusesTheCpuAdamAndDropout) {
  auto net = Net::build(ConfigNode::load_string(kNet, "net.yaml")["model"]);
  net->initialize(Device::cpu(), 5);
  OptimizerConfig sgd;
  Optimizer opt(sgd, net->params());
  try {
    TrainStep step(*net, opt, 0.0, true);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train.cuda_graph needs a CUDA device"), std::string::npos) << e.what();
  }
  if (cuda_device_count() == 0) return;  // the other refusals need a net on the GPU
  auto gpu_net = Net::build(ConfigNode::load_string(kNet, "net.yaml")["model"]);
  gpu_net->initialize(Device::cuda(0), 5);
  OptimizerConfig adam;
  adam.type = "adam";
  Optimizer adam_opt(adam, gpu_net->params());
  EXPECT_THROW(TrainStep(*gpu_net, adam_opt, 0.0, true), Error);
}

// What train.cuda_graph refuses is decided by the layers, on any device: SCN's patch pursuit with the implicit
// backward reads nothing on the host and is captured; the convolutional pursuit's implicit backward stops its
// conjugate gradients on a residual read on the host, and is refused with a message that says so.
TEST(TrainStep, OnlyTheConjugateGradientBackwardRefusesCapture) {
  auto refusal = [](const std::string& layer) {
    const std::string yaml = "model:\n  input: [2, 6, 6]\n  classes: 3\n  layers:\n    - " + layer +
                             "\n    - {type: global_avg_pool}\n    - {type: linear, out: 3}\n";
    auto net = Net::build(ConfigNode::load_string(yaml, "net.yaml")["model"]);
    return net->nodes()[0].layer->graph_capture_refusal();
  };
  EXPECT_EQ(refusal("{type: sparse_code, pursuit: patch, out: 4, iters: 5, backward: implicit}"), "");
  EXPECT_EQ(refusal("{type: sparse_code, out: 4, iters: 5}"), "");
  const std::string why = refusal("{type: sparse_code, out: 4, iters: 5, backward: implicit}");
  EXPECT_NE(why.find("conjugate gradients"), std::string::npos) << why;
  EXPECT_NE(refusal("{type: dropout, p: 0.5}").find("masks change every step"), std::string::npos);
}

// Two short runs on the GPU, one replaying a captured step, give the same parameters: the quick start's kind of
// net, and SCN's patch pursuit with the implicit backward (the fused pursuit, the power iteration and the
// active-set solve inside the capture).
// The parameters after two epochs on 640 Fashion-MNIST images of a small net whose second sparse-coding layer is
// `sparse_code`, with or without train.cuda_graph.
std::vector<double> trained_on_the_gpu(const std::string& data, const std::string& sparse_code, bool graph) {
  const std::string config = R"(model:
  input: [1, 28, 28]
  classes: 10
  layers:
    - {type: sparse_code, out: 8, iters: 2, step: auto}
    - {type: pool, kernel: 2}
    - {type: batch_norm}
    - )" + sparse_code + R"(
    - {type: global_avg_pool}
    - {type: linear, out: 10}
data: {format: fashion_mnist, dir: /usr/share/datasets/fashion-mnist, limit: 640, test_limit: 100}
optimizer: {type: sgd, lr: 0.02, momentum: 0.9, weight_decay: 5.0e-4}
schedule: {type: cosine, warmup_epochs: 0.5}
train: {epochs: 2, batch: 64, device: cuda, deterministic: true, cuda_graph: )" + (graph ? "true" : "false") + "}\n";
  RunConfig rc = RunConfig::parse(ConfigNode::load_string(config, "graph.yaml", {"data.dir=" + data}));
  const fs::path dir = fs::temp_directory_path() / ("scn_graph_" + std::to_string(graph) + std::to_string(::getpid()));
  TrainOptions o;
  o.out_dir = dir.string();
  o.quiet = true;
  train(rc, o);
  std::vector<double> params = read_safetensors((dir / "last.safetensors").string()).tensors[0].second.to_vector();
  fs::remove_all(dir);
  return params;
}

TEST(TrainStep, GraphReplaysEqualEagerStepsOnTheGpu) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  // Where gpu-check.sh carried it on a device machine, or Debian's package.
  const char* env = std::getenv("SCN_FASHION_MNIST");
  const std::string data = env ? env : "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(data + "/train-images-idx3-ubyte.gz")) GTEST_SKIP() << "Fashion-MNIST is not installed in " << data;
  for (const char* sparse_code : {"{type: sparse_code, out: 16, iters: 1, step: auto}",
                                  "{type: sparse_code, pursuit: patch, out: 16, iters: 20, backward: implicit}"}) {
    SCOPED_TRACE(sparse_code);
    const std::vector<double> eager = trained_on_the_gpu(data, sparse_code, false);
    const std::vector<double> replayed = trained_on_the_gpu(data, sparse_code, true);
    ASSERT_EQ(eager.size(), replayed.size());
    for (size_t i = 0; i < eager.size(); ++i) EXPECT_NEAR(eager[i], replayed[i], 1e-6) << "element " << i;
  }
}

}  // namespace
}  // namespace scn::test
