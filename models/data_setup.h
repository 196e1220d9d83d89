#pragma once
// The data of a run, as its config asks: training split (optionally limited), validation split (held out
// from training, stratified and seeded, or the test split), normalisation statistics.
#include "core/data/dataset.h"
#include "core/shape.h"
#include "models/run_config.h"

namespace scn {

struct RunData {
  Dataset train;
  Dataset val;          // held out, or the test split when val_split is 0
  std::string val_name; // "val" or "test"
  std::vector<double> mean, std;
};

// Loads the splits of `config.data`. The test split is read only when needed.
RunData load_run_data(const RunConfig& config);
// One split ("train", "val" or "test") as evaluation sees it (val needs the seeded hold-out).
Dataset load_split(const RunConfig& config, const std::string& split);
// Refuses images whose shape is not the net's input (a data set converted with another --size, a config for
// another data set), naming both and the key to change, before any step.
void check_images_fit(const RunConfig& config, const Dataset& data, const Shape& input);

// Normalisation of a config: the training split's statistics (auto), the configured values, or none.
void normalisation(const RunConfig& config, const Dataset& train, std::vector<double>& mean, std::vector<double>& std);

}  // namespace scn
