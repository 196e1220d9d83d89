#include "models/batch_norm_statistics.h"

#include <cmath>
#include <algorithm>
#include <cstdio>
#include <tuple>

#include "core/error.h"

namespace scn {

BatchNormStatistics parse_batch_norm_statistics(const std::string& name) {
  if (name == "running") return BatchNormStatistics::running;
  if (name == "batch") return BatchNormStatistics::batch;
  if (name == "recalibrate") return BatchNormStatistics::recalibrate;
  throw Error("batch-norm statistics '" + shorten(name) + "': expected running, batch or recalibrate");
}

bool has_batch_norm(const Net& net) {
  for (const NetNode& n : net.nodes())
    if (n.type == "batch_norm") return true;
  return false;
}

Mode evaluation_mode(BatchNormStatistics statistics) {
  return statistics == BatchNormStatistics::batch ? Mode::eval_batch_statistics : Mode::eval;
}

int64_t recalibrate_batch_norm(Context& ctx, Net& net, BatchSource& source, int64_t images, int64_t batch) {
  SCN_CHECK(images > 0, "recalibrate: the number of images must be positive, got ", images);
  net.reset_states();  // restarts every batch norm's calibration average
  source.start_epoch(0);
  Tensor x, y;
  int64_t used = 0;
  for (int64_t i = 0; i < source.batches(batch) && used < images; ++i) {
    used += source.batch(ctx, i, batch, x, y);  // whole batches: the last one may pass `images`
    net.forward(ctx, x, Mode::calibrate);
  }
  return used;
}

namespace {
struct OutputStats {
  double diff2 = 0, ref2 = 0;
  int64_t active_a = 0, active_b = 0, either = 0, mismatch = 0, count = 0;
};
OutputStats compare(const std::vector<double>& a, const std::vector<double>& b) {
  OutputStats s;
  s.count = static_cast<int64_t>(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    s.diff2 += (a[i] - b[i]) * (a[i] - b[i]);
    s.ref2 += b[i] * b[i];
    const bool ia = a[i] != 0, ib = b[i] != 0;
    s.active_a += ia;
    s.active_b += ib;
    s.either += ia || ib;
    s.mismatch += ia != ib;
  }
  return s;
}
double median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// For a batch norm reading `input` (N, C, ...): medians over channels of |running mean − μ_B|/σ_B and |μ_B|/σ_B.
std::pair<double, double> channel_offsets(const Tensor& input, const std::vector<double>& running_mean) {
  const std::vector<double> v = input.to_vector();
  const int64_t n = input.size(0), c = input.size(1), inner = input.numel() / (n * c);
  std::vector<double> offset, ratio;
  for (int64_t ch = 0; ch < c; ++ch) {
    double sum = 0, sum2 = 0;
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < inner; ++i) {
        const double x = v[static_cast<size_t>((b * c + ch) * inner + i)];
        sum += x;
        sum2 += x * x;
      }
    const double count = static_cast<double>(n * inner), mean = sum / count;
    const double std = std::sqrt(std::max(sum2 / count - mean * mean, 0.0));
    if (std <= 0) continue;  // a channel with no variation in this batch says nothing
    offset.push_back(std::abs(running_mean[static_cast<size_t>(ch)] - mean) / std);
    ratio.push_back(std::abs(mean) / std);
  }
  return {median(offset), median(ratio)};
}
}  // namespace

std::vector<NodeStatisticsGap> compare_batch_norm_statistics(Context& ctx, Net& net, const Tensor& x) {
  net.forward(ctx, x, Mode::eval);
  std::vector<std::vector<double>> running;
  for (const NetNode& n : net.nodes()) running.push_back(n.output.to_vector());
  net.forward(ctx, x, Mode::eval_batch_statistics);
  std::vector<NodeStatisticsGap> gaps;
  for (size_t i = 0; i < net.nodes().size(); ++i) {
    const NetNode& n = net.nodes()[i];
    const OutputStats s = compare(running[i], n.output.to_vector());
    NodeStatisticsGap g;
    g.name = n.name;
    g.type = n.type;
    g.relative_difference = std::sqrt(s.diff2) / std::max(std::sqrt(s.ref2), 1e-30);
    g.active_running = static_cast<double>(s.active_a) / static_cast<double>(std::max<int64_t>(s.count, 1));
    g.active_batch = static_cast<double>(s.active_b) / static_cast<double>(std::max<int64_t>(s.count, 1));
    g.support_mismatch = s.either ? static_cast<double>(s.mismatch) / static_cast<double>(s.either) : 0.0;
    if (n.type == "batch_norm" && net.params().find(n.name + ".running_mean") >= 0) {
      const int src = n.inputs.at(0);
      const Tensor& input = src < 0 ? x : net.nodes()[static_cast<size_t>(src)].output;
      const std::vector<double> rm = net.params().value(net.params().find(n.name + ".running_mean")).to_vector();
      std::tie(g.mean_offset_in_std, g.mean_over_std) = channel_offsets(input, rm);
    }
    gaps.push_back(g);
  }
  return gaps;
}

std::string format_statistics_gaps(const std::vector<NodeStatisticsGap>& gaps) {
  std::string out =
      "node     type             rel. difference  active (running)  active (batch)  support mismatch  "
      "|mean run - mean B|/std B  |mean B|/std B\n";
  char line[300];
  for (const NodeStatisticsGap& g : gaps) {
    std::snprintf(line, sizeof line, "%-8s %-16s %15.3g  %15.1f%%  %13.1f%%  %15.1f%%", g.name.c_str(), g.type.c_str(),
                  g.relative_difference, 100 * g.active_running, 100 * g.active_batch, 100 * g.support_mismatch);
    out += line;
    if (g.mean_offset_in_std >= 0) {
      std::snprintf(line, sizeof line, "  %25.3f  %14.2f", g.mean_offset_in_std, g.mean_over_std);
      out += line;
    }
    out += "\n";
  }
  return out;
}

std::string batch_norm_gap_warning(double top1_running, double top1_batch, double points) {
  if (100 * (top1_batch - top1_running) <= points) return "";
  char buf[400];
  std::snprintf(buf, sizeof buf,
                "warning: with batch-norm running statistics top-1 is %.2f%%, with each batch's own statistics "
                "%.2f%%: the running statistics do not represent what the net learned (try `scn eval --bn "
                "recalibrate 5000`, and see docs/batch-norm-in-unrolled-pursuits.md)",
                100 * top1_running, 100 * top1_batch);
  return buf;
}

}  // namespace scn
