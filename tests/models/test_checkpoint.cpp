// Checkpoints round-trip and refuse files that do not fit the net.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/safetensors.h"
#include "models/checkpoint.h"

namespace scn::test {
namespace {

namespace fs = std::filesystem;

const char* kModel = R"(model:
  input: [1, 6, 6]
  classes: 3
  layers:
    - {type: sparse_code, out: 4, iters: 1}
    - {type: batch_norm}
    - {type: global_avg_pool}
    - {type: linear, out: 3}
)";

std::unique_ptr<Net> make_net(uint64_t seed, const char* text = kModel) {
  auto net = Net::build(ConfigNode::load_string(text, "net.yaml")["model"]);
  net->initialize(Device::cpu(), seed);
  return net;
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("scn_ckpt_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

TEST(Checkpoint, RoundTripRestoresEveryValueAndTheMetadata) {
  TempDir dir;
  auto a = make_net(1), b = make_net(2);
  ASSERT_NE(a->params().values().to_vector(), b->params().values().to_vector());
  const std::string path = (dir.path / "c.safetensors").string();
  save_checkpoint(path, *a, {"model: {}\n", 3, 1234, {0.5}, {0.25}});
  CheckpointInfo info = load_checkpoint(path, *b);
  EXPECT_EQ(a->params().values().to_vector(), b->params().values().to_vector());
  EXPECT_EQ(info.epoch, 3);
  EXPECT_EQ(info.step, 1234);
  EXPECT_EQ(info.config, "model: {}\n");
  // Names and PyTorch layouts.
  SafetensorsFile f = read_safetensors(path);
  ASSERT_NE(f.find("l0.weight"), nullptr);
  EXPECT_EQ(f.find("l0.weight")->shape(), Shape({4, 1, 3, 3}));
  EXPECT_EQ(f.find("l3.weight")->shape(), Shape({3, 4}));
  EXPECT_NE(f.find("l1.running_var"), nullptr);
  EXPECT_NE(f.find("l0.step"), nullptr);
}

TEST(Checkpoint, RefusesAnotherNetAndLeavesTheNetUntouched) {
  TempDir dir;
  auto a = make_net(1);
  const std::string path = (dir.path / "c.safetensors").string();
  save_checkpoint(path, *a, {});
  std::string other = kModel;
  other.replace(other.find("out: 4"), 6, "out: 5");
  auto b = make_net(2, other.c_str());
  const auto before = b->params().values().to_vector();
  try {
    load_checkpoint(path, *b);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'l0.weight' has shape [4, 1, 3, 3] but the net expects [5, 1, 3, 3]"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(b->params().values().to_vector(), before);
}

TEST(Checkpoint, RefusesAPlainSafetensorsFile) {
  TempDir dir;
  const std::string path = (dir.path / "w.safetensors").string();
  write_safetensors(path, {{"x", Tensor::zeros({2})}});
  auto net = make_net(1);
  EXPECT_THROW(load_checkpoint(path, *net), Error);
}

TEST(Checkpoint, RefusesATruncatedFile) {
  TempDir dir;
  auto a = make_net(1);
  const std::string path = (dir.path / "c.safetensors").string();
  save_checkpoint(path, *a, {});
  fs::resize_file(path, fs::file_size(path) - 10);
  EXPECT_THROW(load_checkpoint(path, *a), Error);
}

}  // namespace
}  // namespace scn::test
