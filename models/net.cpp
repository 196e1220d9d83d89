#include "models/net.h"

#include <algorithm>
#include <iomanip>
#include <map>
#include <sstream>

#include "kernels/elementwise.h"
#include "layers/registry.h"
#include "models/run_config.h"

namespace scn {

std::string with_thousands(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::unique_ptr<Net> Net::build(const ConfigNode& model) {
  register_builtin_layers();
  model.expect_map();
  model.allow_keys({"input", "classes", "layers", "defaults"});
  std::unique_ptr<Net> net(new Net());
  ConfigNode input = model.require("input");
  std::vector<int64_t> dims = input.as_int_list(1, kMaxChannels);
  if (dims.size() != 3 || dims[0] <= 0 || dims[1] <= 0 || dims[2] <= 0) input.fail("expected [C, H, W] with positive sizes");
  net->input_ = Shape{dims[0], dims[1], dims[2]};
  if (net->input_.numel() > kMaxActivationElements)
    input.fail("the input has " + with_thousands(net->input_.numel()) + " elements per image, more than the limit of " +
               with_thousands(kMaxActivationElements));
  net->classes_ = static_cast<int>(model.require("classes").as_positive_int(kMaxChannels));
  // Repeat blocks and model.defaults are expanded first: the net is built from the flat list, and that is what
  // to_yaml() writes back (the resolved config has neither).
  const std::vector<ConfigNode> layers = expand_layers(model);

  std::map<std::string, int> index_of;
  for (size_t i = 0; i < layers.size(); ++i) {
    const ConfigNode& node = layers[i];
    node.expect_map();
    NetNode n;
    n.type = node.require("type").as_string();
    n.name = node.get_string("name", "l" + std::to_string(i));
    // Names become tensor names "<node>.<param>" in checkpoints, beside "optimizer/…": keep them plain.
    if (n.name.empty() || n.name.size() > 64 || n.name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos)
      node["name"].fail("a node name is 1 to 64 letters, digits, '_' or '-', got \"" + shorten(n.name) + "\"");
    if (index_of.count(n.name) || n.name == "input") node["name"].fail("node name '" + n.name + "' is used twice");
    n.layer = LayerRegistry::instance().create(n.type, node);
    ConfigNode inputs = node["inputs"];
    if (inputs.defined()) {
      if (!inputs.is_sequence()) inputs.fail("expected a list of node names");
      for (size_t k = 0; k < inputs.size(); ++k) {
        const std::string src = inputs.at(k).as_string();
        if (src == "input") {
          n.inputs.push_back(-1);
        } else if (index_of.count(src)) {
          n.inputs.push_back(index_of[src]);
        } else {
          inputs.at(k).fail("no earlier node named '" + src + "'");
        }
      }
    } else {
      n.inputs.push_back(static_cast<int>(i) - 1);
    }
    const int arity = n.layer->arity();
    if (arity > 0 && static_cast<int>(n.inputs.size()) != arity)
      node.fail("layer '" + n.name + "' (" + n.type + ") takes " + std::to_string(arity) + " input(s), got " +
                std::to_string(n.inputs.size()));
    if (arity < 0 && static_cast<int>(n.inputs.size()) < -arity)
      node.fail("layer '" + n.name + "' (" + n.type + ") takes at least " + std::to_string(-arity) + " inputs");
    Shapes in_shapes;
    for (int src : n.inputs) in_shapes.push_back(src < 0 ? net->input_ : net->nodes_[src].shape);
    try {
      n.shape = n.layer->output_shape(in_shapes);
    } catch (const ConfigError&) {
      throw;
    } catch (const Error& e) {
      // Shape errors come from the layer; say which node and where.
      std::string what = e.what();
      what = what.substr(0, what.rfind(" ("));  // drop the source location of the check
      std::string shapes;
      for (const auto& s : in_shapes) shapes += (shapes.empty() ? "" : ", ") + s.str();
      node.fail("layer '" + n.name + "' (" + n.type + ") does not fit its input " + shapes + ": " + what);
    }
    // The product of bounded sizes may still be absurd; refuse it here, before anything multiplies it further.
    double elements = 1;
    for (int d = 0; d < n.shape.rank(); ++d) elements *= static_cast<double>(n.shape[d]);
    if (elements > static_cast<double>(kMaxActivationElements))
      node.fail("layer '" + n.name + "' (" + n.type + ") would output " + n.shape.str() + " per image, more than " +
                with_thousands(kMaxActivationElements) + " elements");
    for (int src : n.inputs)
      if (src >= 0) net->nodes_[src].consumers++;
    index_of[n.name] = static_cast<int>(i);
    n.layer->register_params(net->arena_, n.name);
    n.state = n.layer->make_state();
    net->nodes_.push_back(std::move(n));
  }
  // A node nothing reads would get no gradient: say so instead of training it on garbage.
  for (size_t i = 0; i + 1 < net->nodes_.size(); ++i)
    if (net->nodes_[i].consumers == 0)
      layers[i].fail("node '" + net->nodes_[i].name + "' is read by no later node (only the last node may be unused)");
  const Shape& last = net->nodes_.back().shape;
  if (!(last.rank() == 1 && last[0] == net->classes_))
    layers.back().fail("the last layer must output one value per class ([" + std::to_string(net->classes_) +
                       "]), but outputs " + last.str());
  return net;
}

void Net::initialize(Device device, uint64_t seed) {
  arena_.allocate(device);
  Context& ctx = Context::get(device);
  for (size_t i = 0; i < nodes_.size(); ++i)
    nodes_[i].layer->init_params(ctx, seed * 1000003ull + i);
}

void Net::reset_states() {
  for (NetNode& n : nodes_) n.state = n.layer->make_state();
}

const Tensor& Net::input_of(int node, int k, const Tensor& x) const {
  const int src = nodes_[node].inputs[k];
  return src < 0 ? x : nodes_[src].output;
}

const Tensor& Net::forward(Context& ctx, const Tensor& x, Mode mode) {
  SCN_CHECK(x.rank() == 4 && x.size(1) == input_[0] && x.size(2) == input_[1] && x.size(3) == input_[2],
            "net input ", x.shape().str(), " does not match the model's input ", input_.str(), " (with a batch dimension)");
  SCN_CHECK(x.device() == device(), "net input on ", x.device().str(), " but the net is on ", device().str());
  const int64_t batch = x.size(0);
  input_seen_ = x;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    NetNode& n = nodes_[i];
    Shape shape{batch};
    for (int d = 0; d < n.shape.rank(); ++d) shape.push(n.shape[d]);
    ensure_tensor(n.output, shape, x.dtype(), x.device());
    Tensors inputs;
    for (size_t k = 0; k < n.inputs.size(); ++k) inputs.push_back(input_of(static_cast<int>(i), static_cast<int>(k), x));
    if (observer_) observer_->before(static_cast<int>(i), false);
    n.layer->forward(ctx, inputs, n.output, mode, *n.state);
    if (observer_) observer_->after(static_cast<int>(i), false);
  }
  return nodes_.back().output;
}

void Net::backward(Context& ctx, const Tensor& grad_logits) {
  const Tensor& x = input_seen_;
  SCN_CHECK(x.defined(), "Net::backward before forward");
  SCN_CHECK(grad_logits.shape() == nodes_.back().output.shape(), "Net::backward: gradient ", grad_logits.shape().str(),
            " does not match the logits ", nodes_.back().output.shape().str());
  // A node read by several others sums their gradients: zero it first, each consumer adds its part.
  for (NetNode& n : nodes_) {
    ensure_tensor(n.grad, n.output.shape(), n.output.dtype(), n.output.device());
    if (n.consumers > 1) n.grad.zero_();
  }
  nodes_.back().grad.copy_from(grad_logits);
  for (int i = static_cast<int>(nodes_.size()) - 1; i >= 0; --i) {
    NetNode& n = nodes_[i];
    Tensors inputs, grad_inputs;
    n.edge_grads.resize(n.inputs.size());
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const int src = n.inputs[k];
      inputs.push_back(input_of(i, static_cast<int>(k), x));
      if (src < 0) {
        grad_inputs.push_back(Tensor());  // nothing upstream of the input
      } else if (nodes_[src].consumers > 1) {
        // Write into scratch, then add: the node's buffer collects every consumer's part.
        ensure_tensor(n.edge_grads[k], nodes_[src].output.shape(), x.dtype(), x.device());
        grad_inputs.push_back(n.edge_grads[k]);
      } else {
        grad_inputs.push_back(nodes_[src].grad);
      }
    }
    if (observer_) observer_->before(i, true);
    n.layer->backward(ctx, inputs, n.output, n.grad, grad_inputs, *n.state);
    n.layer->add_regularizer_gradient(ctx);
    if (observer_) observer_->after(i, true);
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const int src = n.inputs[k];
      if (src >= 0 && nodes_[src].consumers > 1) axpy(ctx, nodes_[src].grad, 1.0f, n.edge_grads[k]);
    }
  }
}

ParamCounts Net::param_counts() const {
  ParamCounts c;
  for (const ParamSpec& s : arena_.specs()) {
    const int64_t n = s.shape.numel();
    if (s.kind == "thresholds") c.thresholds += n;
    else if (s.kind == "steps") c.steps += n;
    else if (s.kind == "norm") c.norm += n;
    else if (s.kind == "statistics" || s.kind == "state") c.statistics += n;
    else c.weights += n;
    if (s.trainable) c.trainable += n;
  }
  return c;
}

Shapes Net::input_shapes(int node) const {
  Shapes s;
  for (int src : nodes_.at(node).inputs) s.push_back(src < 0 ? input_ : nodes_[src].shape);
  return s;
}

int64_t Net::flops() const {
  int64_t f = 0;
  for (const NetNode& n : nodes_) f = saturated_count(static_cast<double>(f) + static_cast<double>(n.layer->flops()));
  return f;
}

TrainingMemory Net::training_memory(int64_t batch) const {
  TrainingMemory m;
  int64_t params = 0;
  for (const ParamSpec& s : arena_.specs()) params += s.shape.numel();
  // Values, gradients and up to two optimizer moments.
  m.parameter_bytes = 4.0 * 4.0 * static_cast<double>(params);
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const NetNode& n = nodes_[i];
    // The output and its gradient, plus what the layer keeps for backward; doubles, so that absurd
    // configs overflow nothing.
    const double per_image = 2.0 * static_cast<double>(n.shape.numel()) +
                             static_cast<double>(n.layer->saved_elements(input_shapes(static_cast<int>(i)), n.shape));
    const double bytes = 4.0 * per_image * static_cast<double>(batch);
    m.activation_bytes += bytes;
    if (bytes > m.largest_node_bytes) {
      m.largest_node_bytes = bytes;
      m.largest_node = static_cast<int>(i);
    }
  }
  return m;
}

namespace {
// Columns as wide as their widest cell, two spaces apart, so that no value runs into the next.
std::string format_table(const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& right) {
  std::vector<size_t> width(rows.at(0).size(), 0);
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  std::ostringstream os;
  for (const auto& r : rows) {
    std::string line;
    for (size_t c = 0; c < r.size(); ++c) {
      const std::string pad(width[c] - r[c].size(), ' ');
      line += (c ? "  " : "") + (right[c] ? pad + r[c] : r[c] + (c + 1 < r.size() ? pad : ""));
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    os << line << "\n";
  }
  return os.str();
}
}  // namespace

std::string Net::summary() const {
  std::ostringstream os;
  std::map<std::string, int64_t> per_node;
  for (const ParamSpec& s : arena_.specs()) {
    if (s.kind != "weights") continue;
    per_node[s.name.substr(0, s.name.find('.'))] += s.shape.numel();  // node names hold no '.'
  }
  std::vector<std::vector<std::string>> rows{{"node", "type", "output", "params", "FLOPs", "details"}};
  for (const NetNode& n : nodes_)
    rows.push_back({n.name, n.type, n.shape.str(), with_thousands(per_node[n.name]), with_thousands(n.layer->flops()),
                    n.layer->describe()});
  os << format_table(rows, {false, false, false, true, true, false});
  const ParamCounts c = param_counts();
  os << "parameters (dictionaries, weights and biases): " << with_thousands(c.weights) << "\n"
     << "also: thresholds " << with_thousands(c.thresholds) << ", steps " << with_thousands(c.steps)
     << ", batch-norm affine " << with_thousands(c.norm) << ", buffers (running statistics, power-iteration vectors) " << with_thousands(c.statistics)
     << "\n"
     << "trainable parameters in all (thresholds and steps included): " << with_thousands(c.trainable)
     << "\n"
     << "FLOPs per image (forward): " << with_thousands(flops()) << "\n";
  return os.str();
}

YAML::Node Net::to_yaml() const {
  YAML::Node model;
  model["input"].push_back(input_[0]);
  model["input"].push_back(input_[1]);
  model["input"].push_back(input_[2]);
  model["input"].SetStyle(YAML::EmitterStyle::Flow);
  model["classes"] = classes_;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const NetNode& n = nodes_[i];
    YAML::Node layer;
    layer["type"] = n.type;
    layer["name"] = n.name;
    const bool default_input = n.inputs.size() == 1 && n.inputs[0] == static_cast<int>(i) - 1;
    if (!default_input) {
      for (int src : n.inputs) layer["inputs"].push_back(src < 0 ? std::string("input") : nodes_[src].name);
      layer["inputs"].SetStyle(YAML::EmitterStyle::Flow);
    }
    n.layer->to_yaml(layer);
    model["layers"].push_back(layer);
  }
  return model;
}

double Net::regularizer_value(Context& ctx) const {
  double total = 0;
  for (const NetNode& n : nodes_) total += n.layer->regularizer_value(ctx);
  return total;
}

}  // namespace scn
