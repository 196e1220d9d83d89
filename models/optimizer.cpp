#include "models/optimizer.h"


namespace scn {

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

namespace {
std::string state_name(const char* what) { return std::string(kOptimizerPrefix) + what; }
}  // namespace

void Optimizer::append_state(std::vector<std::pair<std::string, Tensor>>& tensors,
                             std::map<std::string, std::string>& metadata) const {
  if (m_.defined()) tensors.emplace_back(state_name(c_.type == "sgd" ? "velocity" : "m"), m_);
  if (v_.defined()) tensors.emplace_back(state_name("v"), v_);
  metadata["optimizer"] = c_.type;
  metadata["optimizer_steps"] = std::to_string(steps_);
}

void Optimizer::load_state(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                           const std::map<std::string, std::string>& metadata) {
  auto type = metadata.find("optimizer");
  SCN_CHECK(type != metadata.end(), path, ": holds no optimizer state, so a resumed run would not continue the same "
            "trajectory (evaluate or export it instead)");
  SCN_CHECK(type->second == c_.type, path, ": optimizer state of '", shorten(type->second), "', but the config uses '",
            c_.type, "'");
  auto steps = metadata.find("optimizer_steps");
  int64_t steps_read = -1;
  if (steps != metadata.end()) {
    try {
      size_t used = 0;
      steps_read = std::stoll(steps->second, &used);
      if (used != steps->second.size()) steps_read = -1;
    } catch (const std::exception&) {
    }
  }
  SCN_CHECK(steps_read >= 0, path, ": metadata 'optimizer_steps' is missing or not a non-negative integer");
  ensure_state();
  const Shape want = arena_.values().shape();
  auto find = [&](const std::string& name) -> const Tensor* {
    for (const auto& [n, t] : tensors)
      if (n == name) return &t;
    return nullptr;
  };
  std::vector<std::pair<Tensor*, const Tensor*>> copies;
  auto take = [&](const char* what, Tensor& dst) {
    if (!dst.defined()) return;
    const Tensor* t = find(state_name(what));
    SCN_CHECK(t, path, ": optimizer tensor '", state_name(what), "' is missing");
    SCN_CHECK(t->shape() == want && t->dtype() == dst.dtype(), path, ": optimizer tensor '", state_name(what),
              "' has shape ", t->shape().str(), ", the net's parameters need ", want.str());
    copies.emplace_back(&dst, t);
  };
  take(c_.type == "sgd" ? "velocity" : "m", m_);
  take("v", v_);
  for (auto [dst, src] : copies) dst->copy_from(*src);
  steps_ = steps_read;
}

}  // namespace scn
