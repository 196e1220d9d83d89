#include <gtest/gtest.h>

#include <memory>

#include "core/context.h"
#include "core/tensor.h"

namespace scn {
namespace {

TEST(Tensor, ViewsShareStorage) {
  Tensor t = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor v = t.view({3, 2});
  v.data<float>()[5] = 60;
  EXPECT_EQ(t.data<float>()[5], 60);
  Tensor row = t.slice(1, 2);
  EXPECT_EQ(row.shape(), Shape({1, 3}));
  EXPECT_EQ(row.data<float>()[0], 4);
}

TEST(Tensor, HostMemoryIs64ByteAligned) {
  for (int64_t n : {1, 3, 17, 1000}) {
    Tensor t = Tensor::empty({n});
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 64, 0u);
  }
}

TEST(Tensor, DtypeMismatchIsAClearError) {
  Tensor t = Tensor::zeros({3}, DType::f64);
  try {
    t.data<float>();
    FAIL() << "expected scn::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("f64"), std::string::npos) << e.what();
  }
}

TEST(Tensor, BadViewAndSliceAreErrors) {
  Tensor t = Tensor::zeros({2, 3});
  EXPECT_THROW(t.view({4, 2}), Error);
  EXPECT_THROW(t.slice(1, 3), Error);
}

TEST(Tensor, ConvertsBetweenFloatTypes) {
  Tensor t = Tensor::from_vector({0.5, -1.25}, {2});
  Tensor d = t.to(DType::f64);
  EXPECT_EQ(d.dtype(), DType::f64);
  EXPECT_EQ(d.data<double>()[1], -1.25);
}

TEST(Device, CountIsZeroWithoutAGpuAndNeverThrows) {
  int n = -1;
  EXPECT_NO_THROW(n = cuda_device_count());
  EXPECT_GE(n, 0);
  if (n == 0) {
    EXPECT_THROW(parse_device("cuda"), Error);
  }
  EXPECT_EQ(parse_device("cpu"), Device::cpu());
  EXPECT_NO_THROW(parse_device("auto"));
  EXPECT_THROW(parse_device("tpu"), Error);
}

TEST(Tensor, RoundTripsThroughTheGpu) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device on this machine";
  Tensor t = Tensor::from_vector({1, 2, 3, 4, 5}, {5});
  Tensor g = t.to(Device::cuda(0));
  EXPECT_TRUE(g.is_cuda());
  EXPECT_EQ(g.to(Device::cpu()).to_vector(), t.to_vector());
}

TEST(Context, WorkspaceGrowsAndIsReused) {
  Context& ctx = Context::get(Device::cpu());
  void* a = ctx.workspace(1000);
  const int64_t allocations = memory_stats().allocations();
  void* b = ctx.workspace(500);
  EXPECT_EQ(a, b);
  EXPECT_EQ(memory_stats().allocations(), allocations);
  EXPECT_GE(ctx.workspace_bytes(), 1000u);
}

// Borrowed memory (PyTorch's tensors in python/ops): scn writes into it in place, keeps its owner alive for as
// long as any view lives, and never frees it (the sanitizer pass would report a free of a stack array).
TEST(Tensor, BorrowedMemoryIsWrittenInPlaceAndNeverFreed) {
  float values[7] = {1, 2, 3, 4, 5, 6, 7};
  auto owner = std::make_shared<int>(42);
  {
    Tensor t = Tensor::borrow(values, Shape{7}, DType::f32, Device::cpu(), owner);
    EXPECT_EQ(t.data<float>(), values);
    EXPECT_EQ(owner.use_count(), 2);
    Tensor tail = t.slice(4, 7);
    t.zero_();
    tail.copy_from(Tensor::from_vector({8, 9, 10}, Shape{3}));
    t = Tensor();
    EXPECT_EQ(owner.use_count(), 2) << "the slice still holds the owner";
  }
  EXPECT_EQ(owner.use_count(), 1);
  const std::vector<float> expected{0, 0, 0, 0, 8, 9, 10};
  EXPECT_EQ(std::vector<float>(values, values + 7), expected);
}

TEST(Tensor, BorrowingNothingForElementsIsAnError) {
  EXPECT_THROW(Tensor::borrow(nullptr, Shape{3}, DType::f32, Device::cpu()), Error);
  EXPECT_NO_THROW(Tensor::borrow(nullptr, Shape{0}, DType::f32, Device::cpu()));
}

}  // namespace
}  // namespace scn
