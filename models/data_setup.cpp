#include "models/data_setup.h"

#include "core/data/load.h"

namespace scn {

namespace {
Dataset load(const RunConfig& c, const std::string& split, int64_t limit) {
  LoadOptions o;
  o.label = c.data.label;
  o.limit = limit > 0 ? limit : -1;
  try {
    return load_dataset(c.data.format, c.data.dir, split, o);
  } catch (const Error& e) {
    // Say how to get the data, not only what is missing.
    const std::string what = without_location(e.what());
    if (what.find("no such file") == std::string::npos) throw;
    throw Error(what + "; data.dir of " + (c.source.empty() ? std::string("the config") : c.source) +
                " must hold the " + c.data.format + " files (configs/README.md, section Data, says how to get them)");
  }
}
}  // namespace

void check_images_fit(const RunConfig& config, const Dataset& data, const Shape& input) {
  if (data.size() == 0 || input.rank() != 3) return;
  const bool fits = data.channels() == input[0] && data.height() == input[1] && data.width() == input[2];
  SCN_CHECK(fits, config.source.empty() ? std::string("the config") : config.source, ": the images of ", data.source,
            " are ", data.channels(), "x", data.height(), "x", data.width(), ", but model.input is [", input[0], ", ",
            input[1], ", ", input[2], "]: set model.input=[", data.channels(), ",", data.height(), ",", data.width(),
            "] (or use data of the net's size)");
}

void normalisation(const RunConfig& config, const Dataset& train, std::vector<double>& mean, std::vector<double>& std) {
  const int channels = train.channels();
  if (config.data.normalize_auto) {
    ChannelStats s = channel_stats(train);
    mean = s.mean;
    std = s.std;
    for (double& v : std) v = v > 1e-8 ? v : 1.0;
  } else if (!config.data.mean.empty()) {
    SCN_CHECK(static_cast<int>(config.data.mean.size()) == channels, config.source, ": data.normalize has ",
              config.data.mean.size(), " values, the images have ", channels, " channels");
    mean = config.data.mean;
    std = config.data.std;
  } else {
    mean.assign(channels, 0.0);
    std.assign(channels, 1.0);
  }
}

Dataset load_split(const RunConfig& config, const std::string& split) {
  if (split == "test") return load(config, "test", config.data.test_limit);
  Dataset train = load(config, "train", config.data.limit);
  if (config.data.val_split <= 0) {
    SCN_CHECK(split == "train", "split 'val' asked for, but the config holds out no validation images (data.val_split)");
    return train;
  }
  SCN_CHECK(config.data.val_split < train.size(), "data.val_split ", config.data.val_split, " leaves no training images (",
            train.size(), " in all)");
  TrainValSplit s = split_train_val(train, config.data.val_split, config.seed);
  return split == "val" ? s.val : s.train;
}

RunData load_run_data(const RunConfig& config) {
  RunData d;
  if (config.data.val_split > 0) {
    d.train = load_split(config, "train");
    d.val = load_split(config, "val");
    d.val_name = "val";
  } else {
    d.train = load(config, "train", config.data.limit);
    d.val = load(config, "test", config.data.test_limit);
    d.val_name = "test";
  }
  normalisation(config, d.train, d.mean, d.std);
  return d;
}

}  // namespace scn
