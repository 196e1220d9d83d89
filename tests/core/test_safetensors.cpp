// safetensors reader and writer: round trips, byte-exact agreement with the format as Python's safetensors
// writes it, and a refusal (with a message naming the problem) for each kind of corrupt file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/memory.h"
#include "core/safetensors.h"

namespace scn {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the system temp directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("scn_test_safetensors_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& entry : fs::directory_iterator(path_)) out.push_back(entry.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  fs::path path_;
};

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

template <class T>
std::string raw_bytes(std::initializer_list<T> values) {
  std::string s(values.size() * sizeof(T), '\0');
  std::memcpy(s.data(), values.begin(), s.size());
  return s;
}

// A file as the format lays it out: length, header padded with spaces to a multiple of 8, data.
std::string assemble(std::string json, const std::string& data, bool pad = true) {
  if (pad) json.append((8 - json.size() % 8) % 8, ' ');
  return le64(json.size()) + json + data;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string tensor_bytes(const Tensor& t) {
  const Tensor host = t.to(Device::cpu());
  return std::string(static_cast<const char*>(host.raw()), host.bytes());
}

// A valid two-tensor file that the corrupt cases start from.
const std::string kGoodJson = R"({"weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                              R"("bias":{"dtype":"F32","shape":[3],"data_offsets":[24,36]}})";
const std::string kGoodData = raw_bytes<float>({1, 2, 3, 4, 5, 6, 0.5f, -1.5f, 2.5f});

class Safetensors : public ::testing::Test {
 protected:
  // Writes `bytes` to a file and expects read_safetensors to refuse it with a message holding the file name
  // and every one of `parts`, having allocated nothing.
  void expect_refused(const std::string& bytes, const std::vector<std::string>& parts) {
    const std::string path = dir_.file("corrupt.safetensors");
    write_bytes(path, bytes);
    const int64_t allocations = memory_stats().host_allocations;
    try {
      read_safetensors(path);
      ADD_FAILURE() << "expected scn::Error for a file with header "
                    << bytes.substr(std::min<size_t>(8, bytes.size()), 200);
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(path), std::string::npos) << message;
      for (const std::string& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
    }
    EXPECT_EQ(memory_stats().host_allocations, allocations) << "memory allocated before the header was checked";
  }
  // A file whose header is `json` and whose data section is `data_bytes` bytes.
  void expect_refused_json(const std::string& json, size_t data_bytes, const std::vector<std::string>& parts) {
    expect_refused(assemble(json, std::string(data_bytes, '\x7f')), parts);
  }

  TempDir dir_;
};

TEST_F(Safetensors, RoundTripKeepsBytesShapesOrderAndMetadata) {
  std::vector<double> ramp(2 * 3 * 4 * 5);
  for (size_t i = 0; i < ramp.size(); ++i) ramp[i] = 0.37 * static_cast<double>(i) - 11.0;
  const Tensor rows = Tensor::from_vector({1, 2, 3, 4, 5, 6, 7, 8}, {4, 2});
  const std::vector<std::pair<std::string, Tensor>> tensors = {
      {"conv.weight", Tensor::from_vector(ramp, {2, 3, 4, 5})},                    // 4-d f32
      {"scale", Tensor::from_vector({1e-300, -2.5, 3.0 / 7.0}, {3}, DType::f64)},  // 1-d f64
      {"step", Tensor::from_vector({-42}, Shape{}, DType::i32)},                   // 0-d i32
      {"image", Tensor::from_vector({0, 1, 127, 128, 254, 255}, {2, 3}, DType::u8)},
      {"empty", Tensor::zeros({0, 3})},
      {"rows", rows.slice(1, 3)},  // a view that starts inside its storage
  };
  const std::map<std::string, std::string> metadata = {
      {"epoch", "3"}, {"config", "model:\n  layers: 2  # \"quoted\" é\n"}, {"", ""}};
  const std::string path = dir_.file("model.safetensors");
  write_safetensors(path, tensors, metadata);
  const std::string bytes = read_bytes(path);
  ASSERT_GE(bytes.size(), 9u);
  EXPECT_EQ(bytes.substr(0, 8), le64(bytes.size() - 8 - (120 * 4 + 3 * 8 + 4 + 6 + 2 * 2 * 4)));
  EXPECT_EQ(bytes[8], '{');
  EXPECT_EQ(bytes.size() % 8, (120 * 4 + 3 * 8 + 4 + 6 + 2 * 2 * 4) % 8) << "the header is not padded to 8 bytes";

  const SafetensorsFile file = read_safetensors(path);
  EXPECT_EQ(file.metadata, metadata);
  ASSERT_EQ(file.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    SCOPED_TRACE(tensors[i].first);
    EXPECT_EQ(file.tensors[i].first, tensors[i].first);
    const Tensor& got = file.tensors[i].second;
    EXPECT_EQ(got.dtype(), tensors[i].second.dtype());
    EXPECT_EQ(got.shape(), tensors[i].second.shape());
    EXPECT_TRUE(got.device().is_cpu());
    EXPECT_EQ(tensor_bytes(got), tensor_bytes(tensors[i].second));
  }
  EXPECT_EQ(file.find("rows")->to_vector(), (std::vector<double>{3, 4, 5, 6}));
  EXPECT_EQ(file.find("missing"), nullptr);
  EXPECT_EQ(dir_.names(), std::vector<std::string>{"model.safetensors"}) << "a temporary file was left behind";
}

TEST_F(Safetensors, WriterProducesTheBytesPythonSafetensorsWrites) {
  // What safetensors.torch.save_file({"bias": float32 [1, 2, 3], "weight": uint8 [[1, 2], [3, 4]]},
  // metadata={"format": "pt"}) writes: compact JSON, metadata first, offsets in order, spaces to 8 bytes.
  const std::string json =
      R"({"__metadata__":{"format":"pt"},"bias":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
      R"("weight":{"dtype":"U8","shape":[2,2],"data_offsets":[12,16]}})";
  const std::string expected = assemble(json, raw_bytes<float>({1, 2, 3}) + raw_bytes<uint8_t>({1, 2, 3, 4}));
  const std::string path = dir_.file("python.safetensors");
  write_safetensors(
      path,
      {{"bias", Tensor::from_vector({1, 2, 3}, {3})}, {"weight", Tensor::from_vector({1, 2, 3, 4}, {2, 2}, DType::u8)}},
      {{"format", "pt"}});
  EXPECT_EQ(read_bytes(path), expected);

  write_safetensors(path, {});
  EXPECT_EQ(read_bytes(path), assemble("{}", "")) << "an empty file is an empty header";
  EXPECT_TRUE(read_safetensors(path).tensors.empty());
}

TEST_F(Safetensors, ReadsAFileAssembledByHand) {
  const std::string json = R"({"__metadata__":{"format":"pt","note":"hand made"},)"
                           R"("w":{"dtype":"F32","shape":[1,2,1,2],"data_offsets":[0,16]},)"
                           R"("d":{"dtype":"F64","shape":[2],"data_offsets":[16,32]},)"
                           R"("n":{"dtype":"I32","shape":[],"data_offsets":[32,36]},)"
                           R"("z":{"dtype":"F32","shape":[0],"data_offsets":[36,36]},)"
                           R"("u":{"dtype":"U8","shape":[3],"data_offsets":[36,39]}})";
  const std::string data = raw_bytes<float>({0.25f, -1, 2, 1e30f}) + raw_bytes<double>({-0.125, 1e-300}) +
                           raw_bytes<int32_t>({-7}) + raw_bytes<uint8_t>({0, 200, 255});
  const std::string path = dir_.file("hand.safetensors");
  write_bytes(path, assemble(json, data));
  const SafetensorsFile file = read_safetensors(path);
  EXPECT_EQ(file.metadata, (std::map<std::string, std::string>{{"format", "pt"}, {"note", "hand made"}}));
  ASSERT_EQ(file.tensors.size(), 5u);
  const std::vector<std::string> order = {"w", "d", "n", "z", "u"};
  for (size_t i = 0; i < order.size(); ++i) EXPECT_EQ(file.tensors[i].first, order[i]);
  EXPECT_EQ(file.find("w")->shape(), Shape({1, 2, 1, 2}));
  EXPECT_EQ(file.find("w")->to_vector(), (std::vector<double>{0.25, -1, 2, static_cast<double>(1e30f)}));
  EXPECT_EQ(file.find("d")->dtype(), DType::f64);
  EXPECT_EQ(file.find("d")->to_vector(), (std::vector<double>{-0.125, 1e-300}));
  EXPECT_EQ(file.find("n")->rank(), 0);
  EXPECT_EQ(file.find("n")->item(), -7);
  EXPECT_EQ(file.find("z")->numel(), 0);
  EXPECT_EQ(file.find("u")->to_vector(), (std::vector<double>{0, 200, 255}));
}

TEST_F(Safetensors, FileOrderFollowsDataOffsetsAndUnpaddedHeadersAreRead) {
  // Header keys in another order than the data, and a header length that is not a multiple of 8 (older
  // writers did not pad): both are valid safetensors.
  const std::string json =
      R"({"b":{"dtype":"I32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})";
  ASSERT_NE(json.size() % 8, 0u);
  const std::string path = dir_.file("order.safetensors");
  write_bytes(path, assemble(json, raw_bytes<int32_t>({1, 2}), /*pad=*/false));
  const SafetensorsFile file = read_safetensors(path);
  ASSERT_EQ(file.tensors.size(), 2u);
  EXPECT_EQ(file.tensors[0].first, "a");
  EXPECT_EQ(file.tensors[0].second.item(), 1);
  EXPECT_EQ(file.tensors[1].first, "b");
  EXPECT_EQ(file.tensors[1].second.item(), 2);
}

TEST_F(Safetensors, WritesGpuTensors) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU";
  const Tensor host = Tensor::from_vector({1.5, -2, 3, 4, 5, 6}, {2, 3});
  const std::string path = dir_.file("gpu.safetensors");
  write_safetensors(path, {{"w", host.to(Device::cuda())}});
  const SafetensorsFile file = read_safetensors(path);
  ASSERT_NE(file.find("w"), nullptr);
  EXPECT_TRUE(file.find("w")->device().is_cpu());
  EXPECT_EQ(tensor_bytes(*file.find("w")), tensor_bytes(host));
}

TEST_F(Safetensors, WriterRefusesBadNamesAndLeavesTheOldFile) {
  const std::string path = dir_.file("keep.safetensors");
  write_safetensors(path, {{"a", Tensor::zeros({2})}});
  const std::string before = read_bytes(path);
  const Tensor t = Tensor::zeros({2});
  EXPECT_THROW(write_safetensors(path, {{"a", t}, {"a", t}}), Error);
  EXPECT_THROW(write_safetensors(path, {{"__metadata__", t}}), Error);
  EXPECT_THROW(write_safetensors(path, {{"a", Tensor()}}), Error);
  EXPECT_THROW(write_safetensors(path, {{std::string("\xff\xfe"), t}}), Error);  // not UTF-8
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(dir_.names(), std::vector<std::string>{"keep.safetensors"});
}

TEST_F(Safetensors, RefusesTruncatedFiles) {
  const std::string good = assemble(kGoodJson, kGoodData);
  expect_refused(good.substr(0, 5), {"shorter than the 8-byte header length"});
  expect_refused(good.substr(0, 8 + 40), {"header length", "truncated"});  // cut in the header
  expect_refused(good.substr(0, good.size() - 4), {"'bias'", "outside the data section", "truncated"});
  expect_refused("", {"shorter than the 8-byte header length"});
}

TEST_F(Safetensors, RefusesAnOversizedHeaderLength) {
  expect_refused(le64(kSafetensorsMaxHeaderBytes + 1) + "{}      ", {"header length", "exceeds the limit"});
  expect_refused(le64(~uint64_t{0}) + "{}      ", {"header length", "exceeds the limit"});
}

TEST_F(Safetensors, RefusesInvalidJson) {
  expect_refused(assemble(kGoodJson.substr(0, 50), kGoodData), {"not valid JSON"});
  expect_refused(assemble("", ""), {"not valid JSON"});
  expect_refused(assemble(R"({"a":1} trailing)", ""), {"not valid JSON"});
  expect_refused(assemble("[1,2]", ""), {"must be a JSON object"});
  expect_refused(assemble(R"({"a":{"dtype":"U8","shape":[[[[1]]]],"data_offsets":[0,1]}})", "x"), {"nests deeper"});
}

TEST_F(Safetensors, RefusesOverlappingOffsets) {
  expect_refused_json(R"({"a":{"dtype":"F32","shape":[6],"data_offsets":[0,24]},)"
                      R"("b":{"dtype":"F32","shape":[3],"data_offsets":[16,28]}})",
                      28, {"'b'", "overlap", "'a'"});
  expect_refused_json(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                      R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                      4, {"overlap"});
}

TEST_F(Safetensors, RefusesGapsInOffsets) {
  expect_refused_json(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
                      R"("b":{"dtype":"F32","shape":[3],"data_offsets":[16,28]}})",
                      28, {"'b'", "gap of 4 bytes"});
  expect_refused_json(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[4,16]}})", 16, {"'a'", "gap"});
  expect_refused_json(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})", 16, {"trailing bytes", "gap"});
}

TEST_F(Safetensors, RefusesUnsupportedDtypes) {
  expect_refused_json(R"({"half":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}})", 4,
                      {"'half'", "BF16", "not supported"});
  expect_refused_json(R"({"x":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", 8, {"'x'", "I64"});
  expect_refused_json(R"({"x":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})", 4, {"f32", "not supported"});
}

TEST_F(Safetensors, RefusesShapeSizeMismatch) {
  expect_refused_json(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", 20,
                      {"'w'", "[2, 3]", "does not match"});
  // A product that wraps around 2^64 must not pass for a small one (2^32 · 2^32 · 4 ≡ 0 mod 2^64).
  expect_refused_json(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", 0,
                      {"'w'", "does not match"});
}

TEST_F(Safetensors, RefusesOffsetsOutOfBounds) {
  expect_refused_json(R"({"w":{"dtype":"U8","shape":[1000],"data_offsets":[0,1000]}})", 24,
                      {"'w'", "outside the data section of 24 bytes"});
  expect_refused_json(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[18446744073709551615,0]}})", 24,
                      {"'w'", "end before they begin"});
}

TEST_F(Safetensors, RefusesDuplicateNames) {
  expect_refused_json(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                      R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                      2, {"duplicate tensor name 'a'"});
  expect_refused_json(R"({"a":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}})", 1,
                      {"duplicate key 'dtype'"});
}

TEST_F(Safetensors, RefusesMalformedEntriesAndMetadata) {
  const auto entry = [](const std::string& body) { return R"({"t":{)" + body + "}}"; };
  const std::string dtype = R"("dtype":"U8",)", shape = R"("shape":[2],)", offsets = R"("data_offsets":[0,2])";
  expect_refused_json(entry(shape + offsets), 2, {"'t'", "missing \"dtype\""});
  expect_refused_json(entry(dtype + offsets), 2, {"'t'", "missing \"shape\""});
  expect_refused_json(entry(dtype + R"("shape":[2])"), 2, {"'t'", "missing \"data_offsets\""});
  expect_refused_json(entry(R"("dtype":8,)" + shape + offsets), 2, {"'t'", "\"dtype\" must be a string"});
  expect_refused_json(entry(dtype + R"("shape":"2",)" + offsets), 2, {"'t'", "\"shape\" must be an array"});
  expect_refused_json(entry(dtype + R"("shape":[-2],)" + offsets), 2, {"'t'", "-2 is negative"});
  expect_refused_json(entry(dtype + R"("shape":[1.5],)" + offsets), 2, {"'t'", "non-negative integer"});
  expect_refused_json(entry(dtype + R"("shape":[2.0],)" + offsets), 2, {"'t'", "non-negative integer"});
  expect_refused_json(entry(dtype + R"("shape":[1,1,1,1,2],)" + offsets), 2, {"'t'", "at most 4"});
  expect_refused_json(entry(dtype + shape + R"("data_offsets":[0])"), 2, {"'t'", "[begin, end]"});
  expect_refused_json(entry(dtype + shape + R"("data_offsets":[0,"2"])"), 2, {"'t'", "non-negative integer"});
  expect_refused_json(entry(dtype + shape + offsets + R"(,"extra":1)"), 2, {"'t'", "unknown key 'extra'"});
  expect_refused_json(R"({"t":[1,2]})", 0, {"'t'", "must be an object"});
  expect_refused_json(R"({"__metadata__":{"epoch":3}})", 0, {"metadata 'epoch' must be a string"});
  expect_refused_json(R"({"__metadata__":["a"]})", 0, {"\"__metadata__\" must be an object"});
}

TEST_F(Safetensors, RefusesMissingFilesAndDirectories) {
  EXPECT_THROW(read_safetensors(dir_.file("absent.safetensors")), Error);
  fs::create_directory(dir_.file("folder"));
  try {
    read_safetensors(dir_.file("folder"));
    FAIL() << "expected scn::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace scn
