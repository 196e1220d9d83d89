#include "layers/layer.h"

namespace scn {

void ensure_tensor(Tensor& t, const Shape& shape, DType dtype, Device device) {
  if (t.defined() && t.shape() == shape && t.dtype() == dtype && t.device() == device) return;
  t = Tensor::empty(shape, dtype, device);
}

}  // namespace scn
