#include "core/config/config_node.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/input_limits.h"

namespace scn {

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + items[i];
  return s;
}

// Splits "model.layers[3].iters" into {"model", "layers", "[3]", "iters"}.
std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : path) {
    if (c == '.' || c == '[') {
      if (!cur.empty()) parts.push_back(cur);
      cur = c == '[' ? "[" : "";
    } else if (c == ']') {
      parts.push_back(cur + "]");
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) parts.push_back(cur);
  return parts;
}

void apply_override_checked(YAML::Node root, const std::string& text);

[[noreturn]] void override_error(const std::string& text, const std::string& message) {
  throw ConfigError("command line: override '" + shorten(text) + "': " + message);
}

bool is_wildcard(const std::string& part) { return part == "[*]"; }

size_t parse_index(const std::string& part, const std::string& text) {
  const std::string digits = part.size() >= 2 && part.back() == ']' ? part.substr(1, part.size() - 2) : "";
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
    override_error(text, "bad list index '" + shorten(part) + "'");
  // No list in a config is this long; the bound also keeps the number from overflowing.
  if (digits.size() > 6) override_error(text, "list index " + shorten(part) + " is out of range");
  return std::stoul(digits);
}

// Whether the document already has `part` below `node` (a key of a map, an index of a list).
bool has_part(const YAML::Node& node, const std::string& part, const std::string& text) {
  if (part.front() == '[') return node.IsSequence() && (is_wildcard(part) || parse_index(part, text) < node.size());
  if (!node.IsMap()) return false;
  for (const auto& kv : node)
    if (kv.first.IsScalar() && kv.first.Scalar() == part) return true;
  return false;
}

// Sets parts[i..] below `cur` to `value`; returns the number of places set. Before any `[*]` the path is
// created as needed (maps for missing keys; list indices must exist). Below a `[*]` only elements that
// already have the rest of the path are changed, the others are skipped; `[*]` itself visits every element.
size_t set_path(YAML::Node cur, const std::vector<std::string>& parts, size_t i, const YAML::Node& value,
                const std::string& text, bool below_wildcard) {
  const std::string& p = parts[i];
  const bool last = i + 1 == parts.size();
  if (is_wildcard(p)) {
    if (!cur.IsSequence()) {
      if (below_wildcard) return 0;
      override_error(text, "[*] needs a list at that path");
    }
    size_t set = 0;
    for (size_t k = 0; k < cur.size(); ++k) {
      if (last) {
        cur[k] = YAML::Clone(value);
        ++set;
      } else {
        set += set_path(cur[k], parts, i + 1, value, text, true);
      }
    }
    if (set == 0 && !below_wildcard) {
      std::string rest;
      for (size_t k = i + 1; k < parts.size(); ++k)
        rest += (parts[k].front() == '[' || rest.empty() ? "" : ".") + parts[k];
      if (rest.empty()) override_error(text, "[*] matched no list element (the list is empty)");
      const bool one_key = i + 2 == parts.size() && parts.back().front() != '[';
      override_error(text,
                     "[*] matched no list element that has " + (one_key ? "key '" + rest + "'" : "'" + rest + "'"));
    }
    return set;
  }
  if (below_wildcard && !has_part(cur, p, text)) return 0;
  if (p.front() == '[') {
    const size_t idx = parse_index(p, text);
    if (!cur.IsSequence() || idx >= cur.size()) override_error(text, "no element " + p + " at that path");
    if (last) {
      // Each place gets its own copy: a later override of one of them must not change the others.
      cur[idx] = below_wildcard ? YAML::Clone(value) : value;
      return 1;
    }
    return set_path(cur[idx], parts, i + 1, value, text, below_wildcard);
  }
  if (last) {
    cur[p] = below_wildcard ? YAML::Clone(value) : value;
    return 1;
  }
  return set_path(cur[p], parts, i + 1, value, text, below_wildcard);
}

void apply_override(YAML::Node root, const std::string& text) {
  try {
    apply_override_checked(root, text);
  } catch (const YAML::Exception& e) {
    throw ConfigError("command line: override '" + shorten(text) + "': the path does not fit the config (" + e.msg + ")");
  }
}

void apply_override_checked(YAML::Node root, const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) override_error(text, "expected key.path=value");
  const std::string key = text.substr(0, eq), value = text.substr(eq + 1);
  if (value.find_first_not_of(" \t") == std::string::npos)
    override_error(text, "no value after '=' (leave the key out to keep the config's value)");
  YAML::Node parsed;
  try {
    parsed = YAML::Load(value);
  } catch (const YAML::Exception& e) {
    override_error(text, "value is not valid YAML: " + e.msg);
  }
  // "model..classes" would otherwise read as model.classes: every part of the path is named.
  if (key.front() == '.' || key.back() == '.' || key.find("..") != std::string::npos)
    override_error(text, "an empty key in the path (two dots in a row, or a dot at an end)");
  std::vector<std::string> parts = split_path(key);
  if (parts.empty()) override_error(text, "expected key.path=value");
  // Every index is checked first: a bad one is an error even where a [*] before it would skip it.
  for (const std::string& p : parts)
    if (p.front() == '[' && !is_wildcard(p)) parse_index(p, text);
  // yaml-cpp nodes are handles: set_path walks down the document itself.
  set_path(root, parts, 0, parsed, text, false);
}

// " (line N is indented with a tab: YAML indents with spaces only)" for the first line up to `line` (1-based)
// whose indentation holds a tab, else "". yaml-cpp's own message ("illegal map value") does not say so.
std::string tab_hint(const std::string& text, int line) {
  int n = 1;
  for (size_t start = 0; start < text.size() && n <= line; ++n) {
    const size_t end = std::min(text.find('\n', start), text.size());
    const size_t first = text.find_first_not_of(" \t", start);
    if (first != std::string::npos && text.find('\t', start) < std::min(first, end))
      return " (line " + std::to_string(n) + " is indented with a tab: YAML indents with spaces only)";
    start = end + 1;
  }
  return "";
}

ConfigNode load(const std::string& text, const std::string& name, const std::vector<std::string>& overrides) {
  YAML::Node root;
  try {
    std::vector<YAML::Node> documents = YAML::LoadAll(text);
    // A second document (after `---`) would be ignored: refuse it rather than train on half the file.
    for (size_t i = 1; i < documents.size(); ++i)
      if (documents[i].IsDefined() && !documents[i].IsNull())
        throw ConfigError(name + ":" + std::to_string(documents[i].Mark().line + 1) +
                          ": a second YAML document (after '---'): a config is one document");
    if (!documents.empty()) root = documents[0];
  } catch (const YAML::Exception& e) {
    throw ConfigError(name + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg +
                      tab_hint(text, e.mark.line + 1));
  }
  if (!root.IsDefined() || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) throw ConfigError(name + ":1: the document must be a map of sections");
  auto origin = std::make_shared<ConfigOrigin>();
  origin->file = name;
  for (const std::string& o : overrides) {
    apply_override(root, o);
    origin->overrides[o.substr(0, o.find('='))] = o;
  }
  return ConfigNode(root, origin, "", 1);
}

// Whether `path` ("model.layers[3].iters") is the override key `key` or lies below it; a `[*]` in the key
// stands for any index.
bool path_is_below(const std::string& path, const std::string& key) {
  size_t i = 0, j = 0;
  while (i < key.size()) {
    if (key.compare(i, 3, "[*]") == 0) {
      if (j >= path.size() || path[j] != '[') return false;
      const size_t close = path.find(']', j);
      if (close == std::string::npos) return false;
      i += 3;
      j = close + 1;
    } else {
      if (j >= path.size() || path[j] != key[i]) return false;
      ++i;
      ++j;
    }
  }
  return j == path.size() || path[j] == '.' || path[j] == '[';
}

}  // namespace

ConfigNode::ConfigNode(YAML::Node node, std::shared_ptr<const ConfigOrigin> origin, std::string path, int parent_line)
    : node_(std::move(node)), origin_(std::move(origin)), path_(std::move(path)), parent_line_(parent_line) {}

ConfigNode ConfigNode::load_file(const std::string& file, const std::vector<std::string>& overrides) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(file + ": cannot read the config file");
  // Read at most one byte past the budget: a config is a few kilobytes, and /dev/zero never ends.
  const uint64_t limit = input_limit(InputKind::config);
  std::string text(static_cast<size_t>(limit) + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) throw ConfigError(file + ": cannot read the config file");
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > limit) {
    try {
      fail_input_size(file, "the config file", InputKind::config);
    } catch (const Error& e) {
      throw ConfigError(without_location(e.what()));
    }
  }
  return load(text, file, overrides);
}

ConfigNode ConfigNode::load_string(const std::string& text, const std::string& name,
                                   const std::vector<std::string>& overrides) {
  return load(text, name, overrides);
}

int ConfigNode::line() const {
  if (node_.IsDefined() && !node_.Mark().is_null()) return node_.Mark().line + 1;
  return parent_line_;
}

std::string ConfigNode::where() const {
  // A node on an override's path that has no place in the file (a map the override created) is the
  // command line's too.
  const bool unplaced = !derived_ && (!node_.IsDefined() || node_.Mark().is_null());
  for (const auto& [key, text] : origin_->overrides)
    if (path_is_below(path_, key) || (unplaced && path_is_below(key, path_)))
      return "command line (" + shorten(text) + "): " + path_;
  return origin_->file + ":" + std::to_string(line()) + ": " + (path_.empty() ? "(top)" : path_);
}

void ConfigNode::fail(const std::string& message) const { throw ConfigError(where() + ": " + message); }

ConfigNode ConfigNode::derive(YAML::Node node, std::string path, int line,
                              std::map<std::string, ConfigNode> borrowed) const {
  ConfigNode d(std::move(node), origin_, std::move(path), line);
  d.derived_ = true;
  if (!borrowed.empty()) d.borrowed_ = std::make_shared<const std::map<std::string, ConfigNode>>(std::move(borrowed));
  return d;
}

ConfigNode ConfigNode::operator[](const std::string& key) const {
  if (borrowed_) {
    auto it = borrowed_->find(key);
    if (it != borrowed_->end()) return it->second;
  }
  const std::string child_path = path_.empty() ? key : path_ + "." + key;
  if (!node_.IsMap()) return ConfigNode(YAML::Node(), origin_, child_path, line());
  return ConfigNode(node_[key], origin_, child_path, line());
}

ConfigNode ConfigNode::at(size_t index) const {
  return ConfigNode(node_[index], origin_, path_ + "[" + std::to_string(index) + "]", line());
}

size_t ConfigNode::size() const { return defined() ? node_.size() : 0; }

std::string ConfigNode::key_text(const YAML::Node& key) const {
  if (!key.IsScalar()) ConfigNode(key, origin_, path_, line()).fail("a key must be a plain name, got " + ConfigNode(key, origin_, path_).shown_value());
  return key.Scalar();
}

std::vector<std::string> ConfigNode::keys() const {
  std::vector<std::string> out;
  if (node_.IsMap())
    for (const auto& kv : node_) out.push_back(key_text(kv.first));
  return out;
}

void ConfigNode::expect_map() const {
  if (!node_.IsMap()) fail("expected a map of keys, got " + shown_value());
}

void ConfigNode::allow_keys(const std::vector<std::string>& allowed) const {
  if (!defined()) return;
  expect_map();
  std::vector<std::string> seen;
  for (const auto& kv : node_) {
    const std::string key = key_text(kv.first);
    // yaml-cpp keeps both copies of a repeated key and reads the first: refuse instead of guessing.
    for (const auto& s : seen)
      if (s == key) ConfigNode(kv.first, origin_, path_.empty() ? key : path_ + "." + key, line()).fail("key '" + shorten(key) + "' appears twice");
    seen.push_back(key);
    bool ok = false;
    for (const auto& a : allowed) ok = ok || a == key;
    if (!ok) {
      ConfigNode child = (*this)[key];
      child.fail("unknown key '" + shorten(key) + "' (allowed here: " + join(allowed) + ")");
    }
  }
}

ConfigNode ConfigNode::require(const std::string& key) const {
  ConfigNode child = (*this)[key];
  if (!child.node_.IsDefined()) fail("missing key '" + key + "'");
  return child;
}

std::string ConfigNode::shown_value() const {
  if (!node_.IsDefined() || node_.IsNull()) return "nothing";
  if (node_.IsScalar()) return "\"" + shorten(node_.Scalar()) + "\"";
  if (node_.IsSequence()) return "a list";
  return "a map";
}

std::string ConfigNode::as_string() const {
  if (!node_.IsScalar()) fail("expected a string, got " + shown_value());
  return node_.Scalar();
}

int64_t ConfigNode::as_int(int64_t lo, int64_t hi) const {
  long long v = 0;
  bool parsed = false, too_large = false;
  if (node_.IsScalar()) {
    const std::string& s = node_.Scalar();
    size_t used = 0;
    try {
      v = std::stoll(s, &used);
      parsed = used == s.size();
    } catch (const std::out_of_range&) {
      too_large = true;
    } catch (const std::exception&) {
    }
    if (parsed && v >= lo && v <= hi) return v;
    too_large = too_large || (parsed && v > hi);
  }
  // The words people read: "a positive integer", "a non-negative integer up to 64", "an integer from -3 to 3".
  // The upper bound is named when it is the key's own or when the value exceeds it.
  const bool show_hi = too_large || hi < kMaxInt;
  std::string what = lo == 1 ? "a positive integer" : lo == 0 ? "a non-negative integer" : "an integer";
  if (lo < 0) what += " from " + std::to_string(lo) + " to " + std::to_string(hi);
  else if (lo > 1) what += " from " + std::to_string(lo) + (show_hi ? " to " + std::to_string(hi) : "");
  else if (show_hi) what += " up to " + std::to_string(hi);
  fail("expected " + what + ", got " + shown_value());
}

int64_t ConfigNode::as_nonneg_int(int64_t hi) const { return as_int(0, hi); }
int64_t ConfigNode::as_positive_int(int64_t hi) const { return as_int(1, hi); }

double ConfigNode::as_double() const {
  if (node_.IsScalar()) {
    const std::string& s = node_.Scalar();
    size_t used = 0;
    try {
      double v = std::stod(s, &used);
      if (used == s.size() && std::isfinite(v)) return v;
    } catch (const std::exception&) {
    }
  }
  fail("expected a number, got " + shown_value());
}

double ConfigNode::as_positive_double() const {
  double v = 0;
  try {
    v = as_double();
  } catch (const ConfigError&) {
    fail("expected a positive number, got " + shown_value());
  }
  if (!(v > 0)) fail("expected a positive number, got " + shown_value());
  return v;
}

bool ConfigNode::as_bool() const {
  if (node_.IsScalar()) {
    const std::string& s = node_.Scalar();
    if (s == "true" || s == "True" || s == "yes") return true;
    if (s == "false" || s == "False" || s == "no") return false;
  }
  fail("expected true or false, got " + shown_value());
}

std::string ConfigNode::as_enum(const std::vector<std::string>& choices) const {
  if (node_.IsScalar())
    for (const auto& c : choices)
      if (node_.Scalar() == c) return c;
  fail("expected one of " + join(choices) + ", got " + shown_value());
}

std::vector<int64_t> ConfigNode::as_int_list(int64_t lo, int64_t hi) const {
  if (!node_.IsSequence()) fail("expected a list of integers, got " + shown_value());
  std::vector<int64_t> out;
  for (size_t i = 0; i < node_.size(); ++i) out.push_back(at(i).as_int(lo, hi));
  return out;
}

std::vector<double> ConfigNode::as_double_list() const {
  if (!node_.IsSequence()) fail("expected a list of numbers, got " + shown_value());
  std::vector<double> out;
  for (size_t i = 0; i < node_.size(); ++i) out.push_back(at(i).as_double());
  return out;
}

ConfigNode ConfigNode::child_value(const std::string& key) const {
  ConfigNode c = (*this)[key];
  // `key:` with nothing after it is a mistake (a value lost in editing), not a request for the default.
  if (c.node_.IsDefined() && c.node_.IsNull()) c.fail("no value given (leave the key out to use its default)");
  return c;
}

std::string ConfigNode::get_string(const std::string& key, const std::string& fallback) const {
  ConfigNode c = child_value(key);
  return c.defined() ? c.as_string() : fallback;
}
int64_t ConfigNode::get_int(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) const {
  ConfigNode c = child_value(key);
  return c.defined() ? c.as_int(lo, hi) : fallback;
}
int64_t ConfigNode::get_nonneg_int(const std::string& key, int64_t fallback, int64_t hi) const {
  return get_int(key, fallback, 0, hi);
}
int64_t ConfigNode::get_positive_int(const std::string& key, int64_t fallback, int64_t hi) const {
  return get_int(key, fallback, 1, hi);
}
double ConfigNode::get_double(const std::string& key, double fallback) const {
  ConfigNode c = child_value(key);
  return c.defined() ? c.as_double() : fallback;
}
double ConfigNode::get_positive_double(const std::string& key, double fallback) const {
  ConfigNode c = child_value(key);
  return c.defined() ? c.as_positive_double() : fallback;
}
bool ConfigNode::get_bool(const std::string& key, bool fallback) const {
  ConfigNode c = child_value(key);
  return c.defined() ? c.as_bool() : fallback;
}
std::string ConfigNode::get_enum(const std::string& key, const std::string& fallback,
                                 const std::vector<std::string>& choices) const {
  ConfigNode c = child_value(key);
  return c.defined() ? c.as_enum(choices) : fallback;
}

}  // namespace scn
