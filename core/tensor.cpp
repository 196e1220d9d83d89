#include "core/tensor.h"

#include <cstring>

#include "core/op_stats.h"

namespace scn {

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.storage_ = Storage::allocate(static_cast<size_t>(shape.numel()) * dtype_size(dtype), device);
  return t;
}

Tensor Tensor::borrow(void* data, const Shape& shape, DType dtype, Device device, std::shared_ptr<void> owner) {
  SCN_CHECK(data || shape.numel() == 0, "borrow: a null pointer for ", shape.numel(), " elements");
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.storage_ = Storage::borrow(data, static_cast<size_t>(shape.numel()) * dtype_size(dtype), device, std::move(owner));
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.zero_();
  return t;
}

namespace {
template <class T>
void store_from_double(T* dst, const double* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<T>(src[i]);
}
template <class T>
void load_to_double(double* dst, const T* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<double>(src[i]);
}
void convert_from_double(void* dst, DType dtype, const double* src, int64_t n) {
  switch (dtype) {
    case DType::f32: store_from_double(static_cast<float*>(dst), src, n); break;
    case DType::f64: store_from_double(static_cast<double*>(dst), src, n); break;
    case DType::i32: store_from_double(static_cast<int32_t*>(dst), src, n); break;
    case DType::u8: store_from_double(static_cast<uint8_t*>(dst), src, n); break;
  }
}
void convert_to_double(double* dst, const void* src, DType dtype, int64_t n) {
  switch (dtype) {
    case DType::f32: load_to_double(dst, static_cast<const float*>(src), n); break;
    case DType::f64: load_to_double(dst, static_cast<const double*>(src), n); break;
    case DType::i32: load_to_double(dst, static_cast<const int32_t*>(src), n); break;
    case DType::u8: load_to_double(dst, static_cast<const uint8_t*>(src), n); break;
  }
}
}  // namespace

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype) {
  SCN_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "from_vector: ", values.size(),
            " values for shape ", shape.str());
  Tensor t = empty(shape, dtype);
  convert_from_double(t.raw(), dtype, values.data(), shape.numel());
  op_stats().host_writes++;
  return t;
}

Tensor Tensor::view(const Shape& shape) const {
  SCN_CHECK(defined(), "view of an undefined tensor");
  SCN_CHECK(shape.numel() == numel(), "view: cannot view ", shape_.str(), " as ", shape.str());
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

Tensor Tensor::slice(int64_t begin, int64_t end) const {
  SCN_CHECK(defined() && rank() >= 1, "slice of an undefined or scalar tensor");
  SCN_CHECK(0 <= begin && begin <= end && end <= shape_[0], "slice [", begin, ", ", end, ") out of range for ",
            shape_.str());
  Tensor t = *this;
  const int64_t row = shape_[0] ? numel() / shape_[0] : 0;
  t.offset_bytes_ += static_cast<size_t>(begin * row) * dtype_size(dtype_);
  t.shape_[0] = end - begin;
  return t;
}

Tensor Tensor::to(Device device) const {
  SCN_CHECK(defined(), "to(device) of an undefined tensor");
  // A copy to the host is a read on the host (a synchronisation on a GPU), counted even where the tensor is
  // already there so that CPU runs show what a GPU run would wait for.
  if (device.is_cpu()) op_stats().host_reads++;
  if (device == this->device()) return *this;
  Tensor t = empty(shape_, dtype_, device);
  copy_bytes(t.raw(), device, raw(), this->device(), bytes());
  return t;
}

Tensor Tensor::to(DType dtype) const {
  SCN_CHECK(defined(), "to(dtype) of an undefined tensor");
  SCN_CHECK(device().is_cpu(), "to(dtype) converts CPU tensors only; copy ", str(), " to the CPU first");
  std::vector<double> values = to_vector();
  return from_vector(values, shape_, dtype);
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_, dtype_, device());
  t.copy_from(*this);
  return t;
}

void Tensor::copy_from(const Tensor& src) const {
  SCN_CHECK(defined() && src.defined(), "copy_from with an undefined tensor");
  SCN_CHECK(src.shape_.numel() == shape_.numel() && src.dtype_ == dtype_, "copy_from: ", src.str(), " into ", str());
  count_op("copy_from");
  copy_bytes(raw(), device(), src.raw(), src.device(), bytes());
}

void Tensor::zero_() const {
  if (!defined()) return;
  count_op("zero_");
  zero_bytes(raw(), device(), bytes());
}

std::vector<double> Tensor::to_vector() const {
  SCN_CHECK(defined(), "to_vector of an undefined tensor");
  Tensor host = to(Device::cpu());
  std::vector<double> out(static_cast<size_t>(numel()));
  convert_to_double(out.data(), host.raw(), dtype_, numel());
  return out;
}

double Tensor::item() const {
  SCN_CHECK(numel() == 1, "item() of ", str(), ": not a single element");
  return to_vector()[0];
}

std::string Tensor::str() const {
  if (!defined()) return "undefined tensor";
  return std::string(dtype_name(dtype_)) + shape_.str() + " on " + device().str();
}

void check_defined(const char* op, const char* name, const Tensor& t) {
  SCN_CHECK(t.defined(), op, ": ", name, " is undefined");
}

void check_shape(const char* op, const char* name, const Tensor& t, const Shape& expected) {
  check_defined(op, name, t);
  SCN_CHECK(t.shape() == expected, op, ": ", name, " has shape ", t.shape().str(), ", expected ", expected.str());
}

void check_same_device(const char* op, std::initializer_list<const Tensor*> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (!t->defined()) continue;
    if (!first) {
      first = t;
      continue;
    }
    SCN_CHECK(t->device() == first->device(), op, ": tensors on different devices (", first->device().str(), " and ",
              t->device().str(), "); copy explicitly with to(device)");
  }
}

void check_dtype(const char* op, const char* name, const Tensor& t, DType expected) {
  check_defined(op, name, t);
  SCN_CHECK(t.dtype() == expected, op, ": ", name, " is ", dtype_name(t.dtype()), ", expected ", dtype_name(expected));
}

}  // namespace scn
