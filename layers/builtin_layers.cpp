// The built-in layers other than sparse_code, registered by register_builtin_layers().
#include "layers/registry.h"

namespace scn {

void register_conv_layer(LayerRegistry& registry);
void register_activation_layers(LayerRegistry& registry);
void register_batch_norm_layer(LayerRegistry& registry);
void register_pool_layers(LayerRegistry& registry);
void register_linear_layer(LayerRegistry& registry);
void register_add_layer(LayerRegistry& registry);

void register_basic_layers(LayerRegistry& registry) {
  register_conv_layer(registry);
  register_activation_layers(registry);
  register_batch_norm_layer(registry);
  register_pool_layers(registry);
  register_linear_layer(registry);
  register_add_layer(registry);
}

}  // namespace scn
