#pragma once
// Tensor: a contiguous block of elements (NCHW for images) on one device, sharing its storage with its
// views. No autograd: layers own their backward. Copies between devices are explicit (`to`).
#include <memory>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/memory.h"
#include "core/shape.h"

namespace scn {

class Tensor {
 public:
  Tensor() = default;  // undefined; `defined()` is false

  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  // The contiguous elements at `data` that another framework owns (python/ops wraps PyTorch's tensors): no
  // copy, no allocation; `owner` is kept alive with the tensor and its views.
  static Tensor borrow(void* data, const Shape& shape, DType dtype, Device device, std::shared_ptr<void> owner = {});
  // A CPU tensor holding `values` (converted to `dtype`).
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype = DType::f32);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  int64_t size(int dim) const { return shape_[dim]; }
  int64_t numel() const { return shape_.numel(); }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device() : Device::cpu(); }
  bool is_cuda() const { return device().is_cuda(); }
  size_t bytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }

  void* raw() const { return static_cast<char*>(storage_->data()) + offset_bytes_; }
  template <class T>
  T* data() const {
    SCN_CHECK(defined(), "data() of an undefined tensor");
    SCN_CHECK(dtype_ == dtype_of<T>(), "tensor is ", dtype_name(dtype_), ", accessed as ", dtype_name(dtype_of<T>()));
    return static_cast<T*>(raw());
  }

  // The same elements under another shape of equal size.
  Tensor view(const Shape& shape) const;
  // Rows [begin, end) of dimension 0, sharing storage.
  Tensor slice(int64_t begin, int64_t end) const;
  // A copy on `device` (the tensor itself, not a copy, when it is already there).
  Tensor to(Device device) const;
  // A CPU copy converted to `dtype` (float types).
  Tensor to(DType dtype) const;
  Tensor clone() const;
  // Copies the elements of `src` (same shape and dtype, any device) into this tensor.
  void copy_from(const Tensor& src) const;  // const: writes elements, not the handle
  // Sets every element to zero (stream-ordered on a GPU).
  void zero_() const;
  // Host copies of the elements as double (tests, small reads).
  std::vector<double> to_vector() const;
  // The single element of a one-element tensor, as double.
  double item() const;

  std::string str() const;  // "f32[2, 3] on cpu"

 private:
  std::shared_ptr<Storage> storage_;
  size_t offset_bytes_ = 0;
  Shape shape_;
  DType dtype_ = DType::f32;
};

// Argument checks shared by ops; the messages name the op and the tensor.
void check_defined(const char* op, const char* name, const Tensor& t);
void check_shape(const char* op, const char* name, const Tensor& t, const Shape& expected);
void check_same_device(const char* op, std::initializer_list<const Tensor*> tensors);
void check_dtype(const char* op, const char* name, const Tensor& t, DType expected);

}  // namespace scn
