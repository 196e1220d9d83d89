#pragma once
// Strict YAML reading. A ConfigNode is a YAML node that knows where it came from (file, line, key path), so
// every error names them: `configs/x.yaml:12: model.layers[3].iters: expected a non-negative integer, got "two"`.
// Unknown keys, wrong types and bad enum values are errors; nothing is silently ignored.
#include <yaml-cpp/yaml.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"

namespace scn {

// Where a document came from: its file and the command-line overrides applied to it.
struct ConfigOrigin {
  std::string file;
  std::map<std::string, std::string> overrides;  // key path -> "key.path=value" as typed
};

class ConfigNode {
 public:
  ConfigNode(YAML::Node node, std::shared_ptr<const ConfigOrigin> origin, std::string path, int parent_line = 0);

  // Reads `file`, then applies overrides "key.path=value" (value parsed as YAML; lists as [a, b]). A `[*]` in
  // the path stands for every element of that list that has the rest of the path (`model.layers[*].iters=4`
  // sets `iters` of every layer that sets it); an override that matches no element is an error.
  static ConfigNode load_file(const std::string& file, const std::vector<std::string>& overrides = {});
  static ConfigNode load_string(const std::string& text, const std::string& name = "<string>",
                                const std::vector<std::string>& overrides = {});

  bool defined() const { return node_.IsDefined() && !node_.IsNull(); }
  bool is_map() const { return node_.IsMap(); }
  bool is_sequence() const { return node_.IsSequence(); }
  bool is_scalar() const { return node_.IsScalar(); }
  const std::string& path() const { return path_; }
  const YAML::Node& yaml() const { return node_; }
  int line() const;
  // "file:line: path" (or "command line (key=value): path" for overridden values).
  std::string where() const;
  [[noreturn]] void fail(const std::string& message) const;

  // A node assembled from parts of this document (expanded `repeat:` blocks, `model.defaults`): `node` holds
  // the value, `path` and `line` say where it was written, and `borrowed` gives keys of `node` whose values
  // were written elsewhere; reading one of them returns that node, so its errors cite the place it came from.
  ConfigNode derive(YAML::Node node, std::string path, int line, std::map<std::string, ConfigNode> borrowed = {}) const;

  ConfigNode operator[](const std::string& key) const;  // child of a map (undefined when absent)
  ConfigNode at(size_t index) const;                    // element of a sequence
  size_t size() const;
  std::vector<std::string> keys() const;

  // Errors for keys not in `allowed`, naming the unknown key and listing the allowed ones.
  void allow_keys(const std::vector<std::string>& allowed) const;
  // Error when the key is absent: "missing key 'classes'".
  ConfigNode require(const std::string& key) const;
  void expect_map() const;

  // Typed reads of this node. Every integer is range-checked (nothing narrows silently when a caller stores
  // it in an int): the default upper bound is kMaxInt, and keys with a natural bound pass their own.
  static constexpr int64_t kMaxInt = 2147483647;
  std::string as_string() const;
  int64_t as_int(int64_t lo = -kMaxInt, int64_t hi = kMaxInt) const;
  int64_t as_nonneg_int(int64_t hi = kMaxInt) const;
  int64_t as_positive_int(int64_t hi = kMaxInt) const;
  double as_double() const;
  double as_positive_double() const;
  bool as_bool() const;
  std::string as_enum(const std::vector<std::string>& choices) const;
  std::vector<int64_t> as_int_list(int64_t lo = -kMaxInt, int64_t hi = kMaxInt) const;
  std::vector<double> as_double_list() const;

  // Typed reads of a child with a default when the key is absent (a key present without a value is an error).
  std::string get_string(const std::string& key, const std::string& fallback) const;
  int64_t get_int(const std::string& key, int64_t fallback, int64_t lo = -kMaxInt, int64_t hi = kMaxInt) const;
  int64_t get_nonneg_int(const std::string& key, int64_t fallback, int64_t hi = kMaxInt) const;
  int64_t get_positive_int(const std::string& key, int64_t fallback, int64_t hi = kMaxInt) const;
  double get_double(const std::string& key, double fallback) const;
  double get_positive_double(const std::string& key, double fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::string get_enum(const std::string& key, const std::string& fallback, const std::vector<std::string>& choices) const;

 private:
  std::string shown_value() const;
  std::string key_text(const YAML::Node& key) const;  // a map key, which must be a scalar
  ConfigNode child_value(const std::string& key) const;
  YAML::Node node_;
  std::shared_ptr<const ConfigOrigin> origin_;
  std::string path_;
  int parent_line_;
  std::shared_ptr<const std::map<std::string, ConfigNode>> borrowed_;  // see derive()
  bool derived_ = false;                                               // made by derive(): placed by its line
};

// Thrown for every config error; what() is the full "file:line: path: message".
class ConfigError : public Error {
 public:
  using Error::Error;
};

}  // namespace scn
