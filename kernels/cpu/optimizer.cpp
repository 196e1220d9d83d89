#include "kernels/optimizer.h"

#include <cmath>
#include <cstring>

#include "core/dispatch.h"
#include "kernels/optimizer_math.h"

namespace scn {

namespace {

// A byte copy of `items` on `device` (u8 tensor), for kernels that read the table on a GPU.
template <class Item>
Tensor device_copy(const std::vector<Item>& items, Device device) {
  const int64_t bytes = static_cast<int64_t>(items.size() * sizeof(Item));
  Tensor host = Tensor::empty({std::max<int64_t>(bytes, 1)}, DType::u8);
  if (bytes) std::memcpy(host.raw(), items.data(), static_cast<size_t>(bytes));
  return host.to(device);
}

void add_tiles(std::vector<ParamTile>& tiles, const ParamSegment& s, int32_t index) {
  for (int64_t b = s.offset; b < s.offset + s.count; b += kParamTileElements)
    tiles.push_back(ParamTile{b, std::min(b + kParamTileElements, s.offset + s.count), index, 0});
}

// values and every defined state buffer: (total), the table's dtype and device.
void check_buffers(const char* op, const ParamTable& table,
                   std::initializer_list<std::pair<const char*, const Tensor*>> ts) {
  for (const auto& [name, t] : ts) {
    if (!t->defined()) continue;
    check_shape(op, name, *t, Shape{table.total});
    SCN_CHECK(t->dtype() == table.dtype, op, ": ", name, " is ", dtype_name(t->dtype()), ", the parameter table is ",
              dtype_name(table.dtype));
    SCN_CHECK(t->device() == table.device, op, ": ", name, " is on ", t->device().str(),
              " but the parameter table was built for ", table.device.str(),
              " (build it again after moving the arena)");
  }
}

template <class T>
void sgd_cpu(const ParamTable& table, const Tensor& values, const Tensor& velocity, const Tensor& grads,
             const SgdOptions& o) {
  T* w = values.data<T>();
  T* v = velocity.defined() ? velocity.data<T>() : nullptr;
  const T* g = grads.data<T>();
  const bool use_v = o.momentum != 0.f;
  const T base_lr = static_cast<T>(o.lr) * (o.lr_scale.defined() ? o.lr_scale.data<T>()[0] : T(1));
  const int64_t tiles = static_cast<int64_t>(table.step_tiles.size());
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < tiles; ++t) {
    const ParamTile& tile = table.step_tiles[static_cast<size_t>(t)];
    const ParamSegment& s = table.segments[static_cast<size_t>(tile.segment)];
    const T lr = base_lr * static_cast<T>(s.lr_mult);
    const T wd = static_cast<T>(o.weight_decay) * static_cast<T>(s.decay_mult);
    T unused = 0;
    for (int64_t i = tile.begin; i < tile.end; ++i)
      w[i] = sgd_element<T>(w[i], g[i], use_v ? v[i] : unused, lr, static_cast<T>(o.momentum), wd, use_v, o.nesterov);
  }
}

template <class T>
void adam_cpu(const ParamTable& table, const Tensor& values, const Tensor& m, const Tensor& v, const Tensor& grads,
              const AdamOptions& o) {
  T* w = values.data<T>();
  T* mp = m.data<T>();
  T* vp = v.data<T>();
  const T* g = grads.data<T>();
  double c1, c2;
  adam_bias_corrections(o.beta1, o.beta2, o.step, c1, c2);
  const int64_t tiles = static_cast<int64_t>(table.step_tiles.size());
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < tiles; ++t) {
    const ParamTile& tile = table.step_tiles[static_cast<size_t>(t)];
    const ParamSegment& s = table.segments[static_cast<size_t>(tile.segment)];
    const T lr = static_cast<T>(o.lr) * static_cast<T>(s.lr_mult);
    const T wd = static_cast<T>(o.weight_decay) * static_cast<T>(s.decay_mult);
    for (int64_t i = tile.begin; i < tile.end; ++i)
      w[i] = adam_element<T>(w[i], g[i], mp[i], vp[i], lr, wd, static_cast<T>(o.beta1), static_cast<T>(o.beta2),
                             static_cast<T>(o.eps), static_cast<T>(c1), static_cast<T>(c2), o.decoupled);
  }
}

template <class T>
void project_cpu(const ParamTable& table, const Tensor& values) {
  T* w = values.data<T>();
  const int64_t tiles = static_cast<int64_t>(table.clamp_tiles.size());
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < tiles; ++t) {
    const ParamTile& tile = table.clamp_tiles[static_cast<size_t>(t)];
    const ParamSegment& s = table.segments[static_cast<size_t>(tile.segment)];
    const T lo = static_cast<T>(s.clamp_min), hi = static_cast<T>(s.clamp_max);
    for (int64_t i = tile.begin; i < tile.end; ++i) w[i] = clamp_element(w[i], lo, hi);
  }
}

}  // namespace

ParamTable make_param_table(const ParamArena& arena) {
  SCN_CHECK(arena.allocated(), "make_param_table: the parameter arena is not allocated yet");
  ParamTable table;
  table.device = arena.values().device();
  table.dtype = arena.values().dtype();
  table.total = arena.values().numel();
  for (int i = 0; i < arena.count(); ++i) {
    const ParamSpec& spec = arena.spec(i);
    ParamSegment s;
    s.offset = arena.offset(i);
    s.count = spec.shape.numel();
    s.lr_mult = spec.lr_mult;
    s.decay_mult = spec.decay_mult;
    s.clamp_min = spec.clamp_min;
    s.clamp_max = spec.clamp_max;
    s.trainable = spec.trainable ? 1 : 0;
    s.projected = spec.projected() ? 1 : 0;
    SCN_CHECK(!s.projected || s.clamp_min <= s.clamp_max, "make_param_table: parameter '", spec.name,
              "' has clamp_min ", s.clamp_min, " > clamp_max ", s.clamp_max);
    table.segments.push_back(s);
    if (s.trainable) add_tiles(table.step_tiles, s, i);
    if (s.projected) add_tiles(table.clamp_tiles, s, i);
  }
  if (table.device.is_cuda()) {
    table.device_segments = device_copy(table.segments, table.device);
    table.device_step_tiles = device_copy(table.step_tiles, table.device);
    table.device_clamp_tiles = device_copy(table.clamp_tiles, table.device);
  }
  return table;
}

void sgd_step(Context& ctx, const ParamTable& table, const Tensor& values, const Tensor& velocity, const Tensor& grads,
              const SgdOptions& options) {
  const char* op = "sgd_step";
  check_defined(op, "values", values);
  check_defined(op, "grads", grads);
  SCN_CHECK(options.momentum >= 0.f, op, ": momentum ", options.momentum, " is negative");
  SCN_CHECK(!options.nesterov || options.momentum > 0.f, op, ": Nesterov momentum needs momentum > 0");
  SCN_CHECK(options.momentum == 0.f || velocity.defined(), op, ": momentum ", options.momentum,
            " needs a velocity buffer");
  check_buffers(op, table, {{"values", &values}, {"velocity", &velocity}, {"grads", &grads}});
  if (options.lr_scale.defined()) {
    check_shape(op, "lr_scale", options.lr_scale, Shape{1});
    check_dtype(op, "lr_scale", options.lr_scale, values.dtype());
    check_same_device(op, {&values, &options.lr_scale});
  }
  SCN_DISPATCH_CUDA(values, cuda::sgd_step(ctx, table, values, velocity, grads, options));
  if (values.dtype() == DType::f64) return sgd_cpu<double>(table, values, velocity, grads, options);
  sgd_cpu<float>(table, values, velocity, grads, options);
}

void adam_step(Context& ctx, const ParamTable& table, const Tensor& values, const Tensor& m, const Tensor& v,
               const Tensor& grads, const AdamOptions& options) {
  const char* op = "adam_step";
  for (const auto& [name, t] : {std::pair{"values", &values}, {"m", &m}, {"v", &v}, {"grads", &grads}})
    check_defined(op, name, *t);
  SCN_CHECK(options.step >= 1, op, ": step ", options.step, " (the first step is 1)");
  SCN_CHECK(options.beta1 >= 0.f && options.beta1 < 1.f && options.beta2 >= 0.f && options.beta2 < 1.f, op, ": betas (",
            options.beta1, ", ", options.beta2, ") outside [0, 1)");
  check_buffers(op, table, {{"values", &values}, {"m", &m}, {"v", &v}, {"grads", &grads}});
  SCN_DISPATCH_CUDA(values, cuda::adam_step(ctx, table, values, m, v, grads, options));
  if (values.dtype() == DType::f64) return adam_cpu<double>(table, values, m, v, grads, options);
  adam_cpu<float>(table, values, m, v, grads, options);
}

void project_params(Context& ctx, const ParamTable& table, const Tensor& values) {
  const char* op = "project_params";
  check_defined(op, "values", values);
  check_buffers(op, table, {{"values", &values}});
  SCN_DISPATCH_CUDA(values, cuda::project_params(ctx, table, values));
  if (values.dtype() == DType::f64) return project_cpu<double>(table, values);
  project_cpu<float>(table, values);
}

}  // namespace scn
