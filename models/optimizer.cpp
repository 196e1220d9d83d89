#include "models/optimizer.h"

#include "core/safetensors.h"

namespace scn {

std::string optimizer_state_path(const std::string& checkpoint_path) {
  const std::string suffix = ".safetensors";
  std::string base = checkpoint_path;
  if (base.size() > suffix.size() && base.compare(base.size() - suffix.size(), suffix.size(), suffix) == 0)
    base.resize(base.size() - suffix.size());
  return base + ".optim.safetensors";
}

Optimizer::Optimizer(const OptimizerConfig& config, ParamArena& arena) : c_(config), arena_(arena) {}

void Optimizer::ensure_state() {
  const Tensor& values = arena_.values();
  if (table_.segments.empty() || table_.device != values.device()) table_ = make_param_table(arena_);
  const bool adam = c_.type != "sgd";
  auto ensure = [&](Tensor& t) {
    if (!t.defined()) {
      t = Tensor::zeros(values.shape(), values.dtype(), values.device());
    } else if (t.device() != values.device()) {
      t = t.to(values.device());
    }
  };
  if (adam || c_.momentum > 0) ensure(m_);
  if (adam) ensure(v_);
}

void Optimizer::step(Context& ctx, double lr, const Tensor& lr_scale) {
  ensure_state();
  ++steps_;
  if (c_.type == "sgd") {
    SgdOptions o;
    o.lr = static_cast<float>(lr);
    o.momentum = static_cast<float>(c_.momentum);
    o.weight_decay = static_cast<float>(c_.weight_decay);
    o.nesterov = c_.nesterov;
    o.lr_scale = lr_scale;
    sgd_step(ctx, table_, arena_.values(), m_, arena_.grads(), o);
  } else {
    SCN_CHECK(!lr_scale.defined(), "Optimizer: a device learning rate is supported with sgd only");
    AdamOptions o;
    o.lr = static_cast<float>(lr);
    o.beta1 = static_cast<float>(c_.beta1);
    o.beta2 = static_cast<float>(c_.beta2);
    o.eps = static_cast<float>(c_.eps);
    o.weight_decay = static_cast<float>(c_.weight_decay);
    o.decoupled = c_.type == "adamw";
    o.step = steps_;
    adam_step(ctx, table_, arena_.values(), m_, v_, arena_.grads(), o);
  }
  project_params(ctx, table_, arena_.values());
}

void Optimizer::save(const std::string& path) const {
  std::vector<std::pair<std::string, Tensor>> tensors;
  if (m_.defined()) tensors.emplace_back(c_.type == "sgd" ? "velocity" : "m", m_);
  if (v_.defined()) tensors.emplace_back("v", v_);
  write_safetensors(path, tensors, {{"optimizer", c_.type}, {"steps", std::to_string(steps_)}});
}

void Optimizer::load(const std::string& path) {
  SafetensorsFile f = read_safetensors(path);
  auto type = f.metadata.find("optimizer");
  SCN_CHECK(type != f.metadata.end() && type->second == c_.type, path, ": optimizer state of '",
            type == f.metadata.end() ? std::string("?") : type->second, "', but the config uses '", c_.type, "'");
  ensure_state();
  const Shape want = arena_.values().shape();
  auto take = [&](const char* name, Tensor& dst) {
    if (!dst.defined()) return;
    const Tensor* t = f.find(name);
    SCN_CHECK(t, path, ": tensor '", name, "' is missing");
    SCN_CHECK(t->shape() == want && t->dtype() == dst.dtype(), path, ": tensor '", name, "' has shape ",
              t->shape().str(), ", the net's parameters need ", want.str());
    dst.copy_from(*t);
  };
  take(c_.type == "sgd" ? "velocity" : "m", m_);
  take("v", v_);
  auto steps = f.metadata.find("steps");
  try {
    steps_ = steps == f.metadata.end() ? 0 : std::stoll(steps->second);
  } catch (const std::exception&) {
    SCN_FAIL(path, ": metadata 'steps' is not an integer: \"", steps->second, "\"");
  }
}

}  // namespace scn
