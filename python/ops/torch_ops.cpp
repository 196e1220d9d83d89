// scn's layers as PyTorch operators (torch.ops.scn.*): the library that scn_torch loads when it was built
// (docs/pytorch.md). Any layer of scn runs this way; scn_torch uses it for `sparse_code` (both pursuits, every
// backward) and `ml_pursuit`.
//
//   layer = torch.classes.scn.Layer(yaml, input_shape, double)   one layer: parsed, shaped, its parameter arena
//   out, call = torch.ops.scn.layer_forward(layer, x, params, train)
//   grads = torch.ops.scn.layer_backward(call, grad_out, params, input_grad)
//
// PyTorch's tensors are borrowed, not copied: x, the output, its gradient and the input gradient are scn
// tensors over PyTorch's memory (contiguous; a non-contiguous x is made contiguous first). The parameters,
// a few kilobytes, are copied into the layer's arena before each call (scn's layers read their parameters from
// one arena) and their gradients out of it; forward writes the run state it updates (power-iteration vectors,
// η under step: auto) back into PyTorch's buffers. Autograd is scn_torch's (a torch.autograd.Function that calls
// these two ops), so that the backward is scn's own: unrolled, or implicit (conjugate gradients for the
// convolutional pursuit, the active-set solve for the patch pursuit).
#include <ATen/ATen.h>
#include <torch/custom_class.h>
#include <torch/library.h>

#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/context.h"
#include "layers/standalone_layer.h"
#include "python/ops/device_bridge.h"

namespace scn::torch_ops {
namespace {

// scn's contexts (workspace, plan caches) serve one call at a time: PyTorch may call from several threads
// (the autograd engine's device threads, DataParallel), so every call holds this lock.
// Recursive: a call's state may be released (LayerCall's destructor) while the lock is held.
std::recursive_mutex& scn_lock() {
  static std::recursive_mutex m;
  return m;
}

DType dtype_of(const at::Tensor& t, const char* what) {
  if (t.scalar_type() == at::kFloat) return DType::f32;
  if (t.scalar_type() == at::kDouble) return DType::f64;
  TORCH_CHECK(false, "scn: ", what, " must be float32 or float64, got ", t.scalar_type());
}

Device device_of(const at::Tensor& t, const char* what) {
  if (t.device().is_cpu()) return Device::cpu();
  TORCH_CHECK(t.device().is_cuda(), "scn: ", what, " is on ", t.device(), "; scn runs on CPUs and CUDA GPUs");
  return Device::cuda(t.device().index());
}

Shape to_shape(c10::IntArrayRef dims) {
  Shape s;
  for (int64_t d : dims) s.push(d);
  return s;
}
Shape shape_of(const at::Tensor& t) { return to_shape(t.sizes()); }
std::vector<int64_t> dims_of(const Shape& s) {
  std::vector<int64_t> dims;
  for (int i = 0; i < s.rank(); ++i) dims.push_back(s[i]);
  return dims;
}

// An scn tensor over a contiguous PyTorch tensor's elements; the PyTorch tensor is kept alive with it.
Tensor borrow(const at::Tensor& t) {
  TORCH_CHECK(t.is_contiguous(), "scn: internal: borrowing a non-contiguous tensor");
  auto owner = std::make_shared<at::Tensor>(t);
  return Tensor::borrow(t.data_ptr(), shape_of(t), dtype_of(t, "a tensor"), device_of(t, "a tensor"), owner);
}

// Runs `body`, turning scn's errors into PyTorch's (a RuntimeError in Python with scn's message).
template <class Body>
auto guarded(const char* op, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const c10::Error&) {
    throw;
  } catch (const std::exception& e) {
    TORCH_CHECK(false, "scn.", op, ": ", e.what());
  }
}

}  // namespace

// One layer for one input shape, dtype and device: the layer object (stateless between calls) and the arena
// its parameters are copied into. States of finished calls are kept for reuse, so that steady-state training
// allocates no state tensors.
struct LayerHandle : torch::CustomClassHolder {
  LayerHandle(const std::string& yaml, std::vector<int64_t> input_shape, bool double_precision, std::string device)
      : device(parse_device(device)),
        dtype(double_precision ? DType::f64 : DType::f32),
        layer(guarded("Layer", [&] {
          return std::make_unique<StandaloneLayer>(yaml, Shapes{to_shape(input_shape)}, dtype, this->device,
                                                   "scn_torch layer");
        })) {}

  static Device parse_device(const std::string& name) {
    if (name == "cpu") return Device::cpu();
    if (name.rfind("cuda:", 0) == 0) return Device::cuda(std::stoi(name.substr(5)));
    TORCH_CHECK(false, "scn: device '", name, "' is neither cpu nor cuda:<index>");
  }

  std::vector<std::string> param_names() const {
    std::vector<std::string> names;
    for (int i = 0; i < layer->arena().count(); ++i) names.push_back(layer->param_name(i));
    return names;
  }
  // 1 for a parameter the optimizer trains, 0 for run state (power-iteration vectors, η under step: auto).
  std::vector<int64_t> param_trainable() const {
    std::vector<int64_t> out;
    for (const ParamSpec& s : layer->arena().specs()) out.push_back(s.trainable ? 1 : 0);
    return out;
  }
  std::vector<int64_t> param_shape(const std::string& name) const {
    const int i = layer->arena().find(layer->node() + "." + name);
    TORCH_CHECK(i >= 0, "scn: the layer has no parameter '", name, "' (it has ", c10::Join(", ", param_names()), ")");
    return dims_of(layer->arena().spec(i).shape);
  }
  std::vector<int64_t> output_shape() const { return dims_of(layer->output_shape()); }
  std::string resolved_yaml() const { return layer->resolved_yaml(); }

  // Copies PyTorch's parameter tensors into the arena (in the arena's order, each of its shape).
  void load_params(const std::vector<at::Tensor>& params) {
    const ParamArena& arena = layer->arena();
    TORCH_CHECK(static_cast<int>(params.size()) == arena.count(), "scn: the layer has ", arena.count(),
                " parameters and buffers (", c10::Join(", ", param_names()), "), given ", params.size());
    for (int i = 0; i < arena.count(); ++i) {
      const at::Tensor& p = params[i];
      TORCH_CHECK(shape_of(p) == arena.spec(i).shape, "scn: ", param_names()[i], " has shape ", p.sizes(),
                  ", the layer's is ", arena.spec(i).shape.str());
      arena.value(i).copy_from(borrow(p.detach().to(arena.value(i).dtype() == DType::f64 ? at::kDouble : at::kFloat)
                                          .contiguous()));
    }
  }
  // Writes the run state forward updated (everything the optimizer does not train) back to PyTorch.
  void store_state(const std::vector<at::Tensor>& params) {
    const ParamArena& arena = layer->arena();
    for (int i = 0; i < arena.count(); ++i) {
      if (arena.spec(i).trainable) continue;
      const at::Tensor& p = params[i];
      if (p.is_contiguous() && p.scalar_type() == (dtype == DType::f64 ? at::kDouble : at::kFloat)) {
        borrow(p).copy_from(arena.value(i));
      } else {
        at::Tensor staged = at::empty(p.sizes(), p.options().dtype(dtype == DType::f64 ? at::kDouble : at::kFloat));
        borrow(staged).copy_from(arena.value(i));
        p.detach().copy_(staged);
      }
    }
  }

  std::unique_ptr<LayerState> take_state() {
    if (!free_states.empty()) {
      std::unique_ptr<LayerState> s = std::move(free_states.back());
      free_states.pop_back();
      return s;
    }
    return layer->layer().make_state();
  }
  void give_back(std::unique_ptr<LayerState> s) {
    if (free_states.size() < 4) free_states.push_back(std::move(s));
  }

  // Calls of this layer whose state autograd still holds (a test's view: it returns to 0 once autograd lets go
  // of the graphs, so a reference cycle that keeps calls alive shows).
  int64_t calls_alive() const { return live_calls; }

  Device device;
  DType dtype;
  std::unique_ptr<StandaloneLayer> layer;
  std::vector<std::unique_ptr<LayerState>> free_states;
  int64_t generation = 0;  // counts loads of the arena: backward reloads when another call loaded since
  int64_t live_calls = 0;
};

// One forward's state, handed to its backward (any number of times: backward reads it and writes only scratch).
struct LayerCall : torch::CustomClassHolder {
  ~LayerCall() override {
    std::lock_guard<std::recursive_mutex> lock(scn_lock());
    if (state) handle->give_back(std::move(state));
    --handle->live_calls;
  }
  c10::intrusive_ptr<LayerHandle> handle;
  std::unique_ptr<LayerState> state;
  // Aliases of the forward's input and output without autograd's history: the output PyTorch returns gets its
  // grad_fn set in place, and that node holds this call, so holding the output itself would be a reference
  // cycle that keeps every call (its tape, its output) alive for the life of the process.
  at::Tensor input, output;
  int64_t generation = 0;
  bool trained = false;  // a training forward (kept what backward needs)
};

namespace {

void check_input(const LayerHandle& h, const at::Tensor& x) {
  const Shape& in = h.layer->input_shapes()[0];
  TORCH_CHECK(x.dim() == in.rank() + 1, "scn: the layer takes (N, ", in.str(), ") inputs, got ", x.sizes());
  for (int d = 0; d < in.rank(); ++d)
    TORCH_CHECK(x.size(d + 1) == in[d], "scn: the layer was built for inputs (N, ", in.str(), "), got ", x.sizes());
  TORCH_CHECK(dtype_of(x, "the input") == h.dtype, "scn: the layer was built for ", dtype_name(h.dtype),
              " inputs, got ", x.scalar_type());
  TORCH_CHECK(device_of(x, "the input") == h.device, "scn: the layer was built for ", h.device.str(),
              ", the input is on ", x.device());
}

std::tuple<at::Tensor, c10::intrusive_ptr<LayerCall>> layer_forward(const c10::intrusive_ptr<LayerHandle>& h,
                                                                     const at::Tensor& x,
                                                                     const std::vector<at::Tensor>& params,
                                                                     bool train) {
  return guarded("layer_forward", [&] {
    check_input(*h, x);
    std::lock_guard<std::recursive_mutex> lock(scn_lock());
    DeviceBridge bridge(h->device);  // scn's stream waits for PyTorch's, and PyTorch's for scn's after
    auto call = c10::make_intrusive<LayerCall>();
    call->handle = h;
    ++h->live_calls;
    call->input = x.contiguous().detach();
    std::vector<int64_t> out_dims{x.size(0)};
    for (int64_t d : h->output_shape()) out_dims.push_back(d);
    at::Tensor output = at::empty(out_dims, x.options().memory_format(at::MemoryFormat::Contiguous));
    call->output = output.detach();
    h->load_params(params);
    call->generation = ++h->generation;
    call->state = h->take_state();
    call->trained = train;
    Context& ctx = Context::get(h->device);
    h->layer->layer().forward(ctx, {borrow(call->input)}, borrow(call->output), train ? Mode::train : Mode::eval,
                              *call->state);
    if (train) h->store_state(params);
    return std::make_tuple(output, call);
  });
}

std::vector<at::Tensor> layer_backward(const c10::intrusive_ptr<LayerCall>& call, const at::Tensor& grad_output,
                                       const std::vector<at::Tensor>& params, bool input_grad) {
  return guarded("layer_backward", [&] {
    LayerHandle& h = *call->handle;
    TORCH_CHECK(call->trained && call->state, "scn: backward of a forward that was not a training forward");
    TORCH_CHECK(grad_output.sizes() == call->output.sizes(), "scn: the output gradient has shape ",
                grad_output.sizes(), ", the output ", call->output.sizes());
    std::lock_guard<std::recursive_mutex> lock(scn_lock());
    DeviceBridge bridge(h.device);
    // Another call loaded its parameters since this forward: load this one's again (the optimizer has not
    // stepped in between, or autograd would have refused the modified saved tensors).
    if (h.generation != call->generation) {
      h.load_params(params);
      call->generation = ++h.generation;
    }
    ParamArena& arena = h.layer->arena();
    arena.zero_grads();
    const at::Tensor dy = grad_output.to(call->output.scalar_type()).contiguous();
    at::Tensor dx = input_grad ? at::empty_like(call->input) : at::Tensor();
    Context& ctx = Context::get(h.device);
    h.layer->layer().backward(ctx, {borrow(call->input)}, borrow(call->output), borrow(dy),
                              {input_grad ? borrow(dx) : Tensor()}, *call->state);
    std::vector<at::Tensor> grads{input_grad ? dx : at::zeros({0}, call->input.options())};
    for (int i = 0; i < arena.count(); ++i) {
      at::Tensor g = at::empty(params[i].sizes(), call->input.options());
      borrow(g).copy_from(arena.grad(i));
      grads.push_back(g);
    }
    // The state stays with the call until autograd lets go of it (a second backward, retain_graph=True,
    // reads it again), then goes back to the layer's pool.
    return grads;
  });
}

}  // namespace

TORCH_LIBRARY(scn, m) {
  m.class_<LayerHandle>("Layer")
      .def(torch::init<std::string, std::vector<int64_t>, bool, std::string>())
      .def("param_names", &LayerHandle::param_names)
      .def("param_trainable", &LayerHandle::param_trainable)
      .def("param_shape", &LayerHandle::param_shape)
      .def("output_shape", &LayerHandle::output_shape)
      .def("resolved_yaml", &LayerHandle::resolved_yaml)
      .def("calls_alive", &LayerHandle::calls_alive);
  m.class_<LayerCall>("LayerCall");
  m.def("layer_forward(__torch__.torch.classes.scn.Layer layer, Tensor x, Tensor[] params, bool train) -> "
        "(Tensor, __torch__.torch.classes.scn.LayerCall)");
  m.def("layer_backward(__torch__.torch.classes.scn.LayerCall call, Tensor grad_output, Tensor[] params, "
        "bool input_grad) -> Tensor[]");
}

TORCH_LIBRARY_IMPL(scn, CPU, m) {
  m.impl("layer_forward", layer_forward);
  m.impl("layer_backward", layer_backward);
}

#if SCN_TORCH_OPS_CUDA
TORCH_LIBRARY_IMPL(scn, CUDA, m) {
  m.impl("layer_forward", layer_forward);
  m.impl("layer_backward", layer_backward);
}
#endif

}  // namespace scn::torch_ops
