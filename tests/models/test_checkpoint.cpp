// Checkpoints round-trip and refuse files that do not fit the net.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <tuple>

#include "core/safetensors.h"
#include "kernels/elementwise.h"
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
  save_checkpoint(path, *a, {"model: {}\n", 3, 1234, {0.5}, {0.25}, -1, {"cat", "dog/wolf", "bird"}});
  CheckpointInfo info = load_checkpoint(path, *b);
  EXPECT_EQ(a->params().values().to_vector(), b->params().values().to_vector());
  EXPECT_EQ(info.epoch, 3);
  EXPECT_EQ(info.step, 1234);
  EXPECT_EQ(info.config, "model: {}\n");
  EXPECT_EQ(info.class_names, (std::vector<std::string>{"cat", "dog/wolf", "bird"}));  // for scn predict
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

// The optimizer's state travels inside the checkpoint: one file is one unit, so no crash can pair weights of
// one step with the state of another.
TEST(Checkpoint, HoldsTheOptimizerStateAndRestoresItWithTheWeights) {
  TempDir dir;
  auto a = make_net(1);
  OptimizerConfig oc;
  oc.momentum = 0.9;
  Optimizer opt_a(oc, a->params());
  Context& ctx = Context::get(Device::cpu());
  fill(ctx, a->params().grads(), 0.25f);
  opt_a.step(ctx, 0.1);
  opt_a.step(ctx, 0.1);
  const std::string path = (dir.path / "c.safetensors").string();
  CheckpointInfo info;
  info.step = 2;
  save_checkpoint(path, *a, info, &opt_a);
  SafetensorsFile f = read_safetensors(path);
  ASSERT_NE(f.find("optimizer/velocity"), nullptr);
  EXPECT_EQ(f.metadata.at("optimizer_steps"), "2");

  auto b = make_net(2);
  Optimizer opt_b(oc, b->params());
  load_checkpoint(path, *b, &opt_b);
  EXPECT_EQ(opt_b.steps(), 2);
  // The same next step from the same state gives the same weights.
  b->params().grads().copy_from(a->params().grads());
  opt_a.step(ctx, 0.1);
  opt_b.step(ctx, 0.1);
  EXPECT_EQ(a->params().values().to_vector(), b->params().values().to_vector());

  // Weights alone (an evaluation checkpoint) cannot resume a run.
  save_checkpoint(path, *a, {});
  Optimizer opt_c(oc, b->params());
  const auto before = b->params().values().to_vector();
  try {
    load_checkpoint(path, *b, &opt_c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("holds no optimizer state"), std::string::npos) << e.what();
  }
  EXPECT_EQ(b->params().values().to_vector(), before);
}

TEST(Checkpoint, NonFiniteWeightsAreNeverWrittenNorLoaded) {
  TempDir dir;
  auto a = make_net(1);
  const std::string path = (dir.path / "c.safetensors").string();
  save_checkpoint(path, *a, {});
  Tensor w = a->params().value(a->params().find("l3.weight"));
  std::vector<double> v = w.to_vector();
  v[5] = std::nan("");
  w.copy_from(Tensor::from_vector(v, w.shape()));
  try {
    save_checkpoint(path, *a, {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not written: parameter 'l3.weight' holds 1 NaN or Inf values"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(std::isfinite(read_safetensors(path).find("l3.weight")->to_vector()[5]));  // the old file stays

  // A file written by something else with a NaN in it is refused on load, naming the tensor.
  std::vector<std::pair<std::string, Tensor>> tensors;
  SafetensorsFile f = read_safetensors(path);
  for (auto& [name, t] : f.tensors) tensors.emplace_back(name, name == "l3.weight" ? w : t);
  write_safetensors(path, tensors, f.metadata);
  auto b = make_net(2);
  try {
    load_checkpoint(path, *b);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'l3.weight' holds 1 NaN or Inf values"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_checkpoint_file(path), Error);
}

// A checkpoint's metadata with the same file rewritten: `key` set to `value`.
void rewrite_metadata(const std::string& path, const std::string& out, const std::string& key, const std::string& value) {
  SafetensorsFile f = read_safetensors(path);
  f.metadata[key] = value;
  write_safetensors(out, f.tensors, f.metadata);
}

// predict took normalize_std "0,0,0" or a NaN mean, and printed class names holding terminal escapes.
TEST(Checkpoint, UnusableNormalisationAndControlCharactersInNamesAreRefused) {
  TempDir dir;
  auto a = make_net(1);
  const std::string path = (dir.path / "c.safetensors").string(), bad = (dir.path / "bad.safetensors").string();
  save_checkpoint(path, *a, {"", 1, 1, {0.5}, {0.25}, -1, {"a", "b", "c"}});
  for (const auto& [key, value, message] :
       {std::tuple<std::string, std::string, std::string>{"normalize_std", "0", "'normalize_std' value 0 is 0, expected a positive number"},
        {"normalize_std", "-1", "'normalize_std' value 0 is -1"},
        {"normalize_mean", "nan", "'normalize_mean' value 0 is not finite"},
        {"class_names", "[\"a\", \"\\u001b[31mb\", \"c\"]", "name 1 holds a control character (code 27)"},
        {"class_names", "[\"a\", \"\\u009bb\", \"c\"]", "name 1 holds a control character (code 155)"},
        {"run_id", "\\x1b", "metadata 'run_id' is not a run id"}}) {
    rewrite_metadata(path, bad, key, value);
    auto b = make_net(2);
    try {
      load_checkpoint(bad, *b);
      ADD_FAILURE() << key << "=" << value << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  }
}

// `scn export` files (format "pt", no power vectors, no optimizer state) load for inference, never to train.
TEST(Checkpoint, AnExportLoadsForInferenceButNotToContinueTraining) {
  TempDir dir;
  auto a = make_net(1);
  const std::string path = (dir.path / "c.safetensors").string(), exported = (dir.path / "e.safetensors").string();
  save_checkpoint(path, *a, {"", 1, 1, {0.5}, {0.25}, -1, {"a", "b", "c"}});
  SafetensorsFile f = read_safetensors(path);
  std::vector<std::pair<std::string, Tensor>> kept;
  for (auto& [name, t] : f.tensors)
    if (name.find("power_vector") == std::string::npos) kept.emplace_back(name, t);
  write_safetensors(exported, kept, {{"format", "pt"}, {"scn_export", "1"}, {"normalize_mean", "0.5"}, {"normalize_std", "0.25"}});
  auto b = make_net(2);
  const CheckpointInfo info = load_checkpoint(exported, *b);
  EXPECT_TRUE(info.is_export);
  for (int i = 0; i < a->params().count(); ++i)
    if (a->params().spec(i).kind != "state") {
      EXPECT_EQ(a->params().value(i).to_vector(), b->params().value(i).to_vector()) << a->params().spec(i).name;
    }
  Optimizer optimizer(OptimizerConfig{}, b->params());
  try {
    load_checkpoint(exported, *b, &optimizer);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is an scn export"), std::string::npos) << e.what();
  }
  // Another "pt" file is still not a checkpoint.
  write_safetensors(exported, kept, {{"format", "pt"}});
  EXPECT_THROW(load_checkpoint(exported, *b), Error);
}

}  // namespace
}  // namespace scn::test
