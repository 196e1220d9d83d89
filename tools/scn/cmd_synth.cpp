// scn synth [--out DIR] [--trials N] [--seed S] [--quick] [--threads N] [--force]
//           [--contrast V,...] [--sparsity V,...] [--noise V,...] [--depth V,...] [--sweeps NAME,...]
// Synthetic ML-CSC experiments (analysis/synthetic_mlcsc.h, docs/theory.md): layered thresholding against
// layered basis pursuit as the contrast, the local sparsity, the noise and the depth vary; a table per
// sweep on stdout and DIR/synth.json for `tools/plot`. A parameter given one value is held at it in every
// sweep (and its own sweep is not run); given several, they are its sweep's points.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <omp.h>

#include "analysis/synthetic_mlcsc.h"
#include "commands.h"
#include "option_checks.h"
#include "core/atomic_file.h"
#include "output_file.h"

namespace scn::cli {

namespace {

struct SynthArgs {
  std::string out = "synth";
  int64_t trials = 10;
  int64_t seed = 1;
  // Comma-separated values of each swept parameter, and the sweeps to run ("" = the defaults).
  std::string contrast, sparsity, noise, depth, sweeps;
  bool quick = false;
  bool force = false;
  // One by default: the pursuits here are thousands of convolutions of a few images each, which a second
  // thread hardly speeds up alone, while on a shared machine every OpenMP barrier waits for a descheduled
  // partner. Measured on this 2-core machine beside other builds (load ≈ 5): --quick in 13 s on one
  // thread, 58 s on two.
  int threads = 1;
};

struct Sweep {
  std::string name, parameter, x_label;
  std::vector<SweepPoint> points;
};

struct SynthPlan {
  int64_t height = 32, width = 32;
  std::vector<SyntheticLayerSpec> layers;
  std::vector<Sweep> sweeps;
  SweepPoint base;  // the values a sweep holds fixed
};

// The model and the sweeps. Each sweep moves one parameter away from one base point: two layers, full
// contrast, no noise and ‖Γ₂‖₀,∞ = 1 — inside the uniqueness bound of the deepest layer, so that what
// fails there is the pursuit, not the model. The deepest code holds kNonzerosPerUnit·‖Γ_L‖₀,∞ non-zeros per
// image, so a higher local sparsity also means a denser code, as in a real signal.
constexpr int kNonzerosPerUnit = 4;

// "1,0.5,0.1" → values, each checked against [lo, hi] (above lo when lo_open; whole numbers when `whole`).
std::vector<double> parse_values(const std::string& option, const std::string& text, double lo, double hi,
                                 bool lo_open, bool whole) {
  std::vector<double> values;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    char* end = nullptr;
    const double v = item.empty() ? NAN : std::strtod(item.c_str(), &end);
    const bool ok = !item.empty() && end && *end == '\0' && std::isfinite(v) && (lo_open ? v > lo : v >= lo) &&
                    v <= hi && (!whole || v == std::floor(v));
    SCN_CHECK(ok, option, " ", shorten(text), ": \"", shorten(item), "\" is not ", whole ? "a whole number" : "a number",
              lo_open ? " above " : " from ", lo, " to ", hi);
    values.push_back(v);
    SCN_CHECK(values.size() <= 64, option, ": at most 64 values");
    start = comma + 1;
  }
  return values;
}

// The parameters of the sweeps as the options give them (empty: the defaults).
struct SweepValues {
  std::vector<double> contrast, sparsity, noise, depth;
  std::vector<std::string> sweeps;  // the sweeps to run, by name
};

SweepValues parse_sweep_values(const SynthArgs& a, int max_depth) {
  SweepValues v;
  if (!a.contrast.empty()) v.contrast = parse_values("--contrast", a.contrast, 0, 1, true, false);
  if (!a.sparsity.empty()) v.sparsity = parse_values("--sparsity", a.sparsity, 1, 16, false, true);
  if (!a.noise.empty()) v.noise = parse_values("--noise", a.noise, 0, 10, false, false);
  if (!a.depth.empty()) v.depth = parse_values("--depth", a.depth, 1, max_depth, false, true);
  for (size_t start = 0; !a.sweeps.empty() && start <= a.sweeps.size();) {
    const size_t comma = std::min(a.sweeps.find(',', start), a.sweeps.size());
    const std::string name = a.sweeps.substr(start, comma - start);
    SCN_CHECK(name == "contrast" || name == "sparsity" || name == "noise" || name == "depth", "--sweeps ",
              shorten(a.sweeps), ": \"", shorten(name), "\" is not a sweep (contrast, sparsity, noise or depth)");
    v.sweeps.push_back(name);
    start = comma + 1;
  }
  return v;
}

SynthPlan make_plan(bool quick, const SweepValues& given) {
  SynthPlan plan;
  // Layer 1: dense 7×7 atoms on the image. Deeper layers: 3×3 atoms over the 16 channels below with two
  // non-zeros each, so that Γᵢ₋₁ = DᵢΓᵢ has at most twice the non-zeros of Γᵢ.
  plan.layers.push_back(SyntheticLayerSpec{16, 1, 7, 1, 0});
  for (int i = 1; i < 4; ++i) plan.layers.push_back(SyntheticLayerSpec{16, 16, 3, 1, 2});
  SweepPoint base;
  base.local_sparsity = 1;
  base.contrast = 1.0;
  base.noise = 0.0;
  base.depth = 2;
  // A parameter given one value holds it in every sweep, and is not swept.
  if (given.contrast.size() == 1) base.contrast = given.contrast[0];
  if (given.sparsity.size() == 1) base.local_sparsity = static_cast<int>(given.sparsity[0]);
  if (given.noise.size() == 1) base.noise = given.noise[0];
  if (given.depth.size() == 1) base.depth = static_cast<int>(given.depth[0]);
  const auto chosen = [&](const std::string& name, const std::vector<double>& values) {
    const bool named = std::find(given.sweeps.begin(), given.sweeps.end(), name) != given.sweeps.end();
    if (!given.sweeps.empty()) {
      SCN_CHECK(!named || values.size() != 1, "--sweeps names ", name, ", but --", name, " gives it one value: a sweep "
                "needs two or more (or leave --", name, " out for the default points)");
      return named;
    }
    return values.size() != 1;
  };
  auto sweep = [&](std::string name, std::string parameter, std::string label, const std::vector<double>& values,
                   void (*set)(SweepPoint&, double)) {
    Sweep s{std::move(name), std::move(parameter), std::move(label), {}};
    for (double v : values) {
      SweepPoint p = base;
      set(p, v);
      p.max_nonzeros = kNonzerosPerUnit * p.local_sparsity;
      s.points.push_back(p);
    }
    plan.sweeps.push_back(std::move(s));
  };
  // The user's points, else the default ones (two of them with --quick).
  const auto pick = [quick](const std::vector<double>& user, std::vector<double> full, std::vector<double> small) {
    return !user.empty() ? user : quick ? small : full;
  };
  if (chosen("contrast", given.contrast))
    sweep("contrast", "contrast", "contrast |Γ_min|/|Γ_max| of the deepest code",
          pick(given.contrast, {1.0, 0.7, 0.5, 0.3, 0.2, 0.1, 0.05}, {1.0, 0.1}),
          [](SweepPoint& p, double v) { p.contrast = v; });
  if (chosen("sparsity", given.sparsity))
    sweep("sparsity", "local_sparsity", "local sparsity ‖Γ_L‖₀,∞ of the deepest code",
          pick(given.sparsity, {1, 2, 3, 4, 6, 8}, {1, 4}),
          [](SweepPoint& p, double v) { p.local_sparsity = static_cast<int>(v); });
  if (chosen("noise", given.noise))
    sweep("noise", "noise", "noise σ (the largest |Γ_L| is 1)", pick(given.noise, {0.0, 0.02, 0.05, 0.1, 0.2}, {0.0, 0.1}),
          [](SweepPoint& p, double v) { p.noise = v; });
  if (chosen("depth", given.depth))
    sweep("depth", "depth", "depth L (layers)", pick(given.depth, {1, 2, 3, 4}, {1, 3}),
          [](SweepPoint& p, double v) { p.depth = static_cast<int>(v); });
  plan.base = base;
  return plan;
}

double parameter_value(const Sweep& sweep, const SweepPoint& p) {
  if (sweep.parameter == "contrast") return p.contrast;
  if (sweep.parameter == "local_sparsity") return p.local_sparsity;
  if (sweep.parameter == "noise") return p.noise;
  return p.depth;
}

// ---- output -------------------------------------------------------------------------------------------

void print_model(const SyntheticModel& model, int64_t trials, int64_t tuning_trials) {
  std::printf("synthetic ML-CSC: image 1×%lld×%lld, %lld evaluation + %lld tuning draws per point\n",
              static_cast<long long>(model.height), static_cast<long long>(model.width),
              static_cast<long long>(trials), static_cast<long long>(tuning_trials));
  std::printf("layer  atoms  channels  kernel  atom nnz  stripe  μ(D)    ½(1+1/μ)  ⅓(1+1/μ)  ‖D‖²\n");
  for (int i = 0; i < model.depth(); ++i) {
    const SyntheticLayerSpec& s = model.specs[static_cast<size_t>(i)];
    const double mu = model.coherence[static_cast<size_t>(i)].mutual;
    const std::string nnz = s.atom_nonzeros ? std::to_string(s.atom_nonzeros) : "dense";
    std::printf("%5d  %5d  %8d  %6d  %8s  %6d  %.4f  %8.3f  %8.3f  %6.2f\n", i + 1, s.atoms, s.channels, s.kernel,
                nnz.c_str(), model.stripe(i), mu, uniqueness_bound(mu), stability_bound(mu),
                model.lipschitz[static_cast<size_t>(i)]);
  }
}

void print_sweep(const Sweep& sweep, const std::vector<PointResult>& results) {
  // The parameters this sweep holds fixed, from its first point.
  const SweepPoint& p = sweep.points.front();
  std::string fixed;
  auto add = [&](const std::string& parameter, const std::string& text) {
    if (sweep.parameter != parameter) fixed += (fixed.empty() ? "" : ", ") + text;
  };
  char buffer[64];
  add("depth", "depth " + std::to_string(p.depth));
  add("local_sparsity", "‖Γ_L‖₀,∞ = " + std::to_string(p.local_sparsity));
  std::snprintf(buffer, sizeof buffer, "contrast %g", p.contrast);
  add("contrast", buffer);
  std::snprintf(buffer, sizeof buffer, "σ = %g", p.noise);
  add("noise", buffer);
  std::printf("\nsweep %s — %s\n", sweep.name.c_str(), sweep.x_label.c_str());
  std::printf("fixed: %s; Γ_L holds %d·‖Γ_L‖₀,∞ non-zeros per image. ‖Γᵢ‖₀,∞: the truth's, mean over the draws; "
              "β, λ: tuned on separate draws\n", fixed.c_str(), kNonzerosPerUnit);
  std::printf("%9s  layer  ‖Γᵢ‖₀,∞ │ thresholding: prec  recall  ℓ2,∞ err  (β)     │ layered BP: prec  recall  "
              "ℓ2,∞ err  (λ)\n", sweep.parameter.c_str());
  for (const PointResult& r : results) {
    for (size_t i = 0; i < r.thresholding.size(); ++i) {
      const LayerScore& t = r.thresholding[i];
      const LayerScore& b = r.layered_bp[i];
      char value[32] = "";
      if (i == 0) std::snprintf(value, sizeof value, "%g", parameter_value(sweep, r.point));
      std::printf("%9s  %5zu  %7.1f │               %5.3f  %5.3f   %7.4f  (%.4f) │             %5.3f  %5.3f   "
                  "%7.4f  (%.4f)\n", value, i + 1, t.true_local_sparsity, t.precision, t.recall,
                  t.l2_inf_error, t.threshold, b.precision, b.recall, b.l2_inf_error, b.threshold);
    }
  }
}

nlohmann::json layers_json(const std::vector<LayerScore>& scores) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerScore& s : scores)
    layers.push_back({{"precision", s.precision}, {"recall", s.recall}, {"l2_inf_error", s.l2_inf_error}});
  return {{"layers", layers}};
}

nlohmann::json synth_json(const SyntheticModel& model, int64_t trials, uint64_t seed, const SynthPlan& plan,
                          const std::vector<std::vector<PointResult>>& results) {
  const std::vector<Sweep>& sweeps = plan.sweeps;
  nlohmann::json layers = nlohmann::json::array();
  for (int i = 0; i < model.depth(); ++i) {
    const SyntheticLayerSpec& s = model.specs[static_cast<size_t>(i)];
    const double mu = model.coherence[static_cast<size_t>(i)].mutual;
    layers.push_back({{"atoms", s.atoms}, {"channels", s.channels}, {"kernel", s.kernel}, {"stride", s.stride},
                      {"mutual_coherence", mu}, {"uniqueness_bound", uniqueness_bound(mu)},
                      {"stability_bound", stability_bound(mu)}});
  }
  nlohmann::json out_sweeps = nlohmann::json::array();
  for (size_t k = 0; k < sweeps.size(); ++k) {
    nlohmann::json points = nlohmann::json::array();
    for (const PointResult& r : results[k]) {
      const SweepPoint& p = r.point;
      points.push_back({{"value", parameter_value(sweeps[k], p)}, {"local_sparsity", p.local_sparsity},
                        {"contrast", p.contrast}, {"noise", p.noise}, {"depth", p.depth},
                        {"methods", {{method_key(LayeredMethod::thresholding), layers_json(r.thresholding)},
                                     {method_key(LayeredMethod::basis_pursuit), layers_json(r.layered_bp)}}}});
    }
    out_sweeps.push_back({{"name", sweeps[k].name}, {"parameter", sweeps[k].parameter},
                          {"x_label", sweeps[k].x_label}, {"points", points}});
  }
  const SweepPoint& b = plan.base;
  return {{"kind", "scn-synth"},
          {"seed", seed},
          {"model", {{"image", {model.height, model.width}}, {"trials", trials}, {"layers", layers}}},
          {"base", {{"local_sparsity", b.local_sparsity}, {"contrast", b.contrast}, {"noise", b.noise}, {"depth", b.depth}}},
          {"sweeps", out_sweeps}};
}

// ---- the run ------------------------------------------------------------------------------------------

int run_synth(const SynthArgs& a) {
  namespace fs = std::filesystem;
  const std::string json_path = (fs::path(a.out) / "synth.json").string();
  fs::create_directories(a.out);
  check_output_file(json_path, a.force, {});  // before minutes of sweeps
  omp_set_num_threads(std::min(a.threads, std::max(1, omp_get_num_procs())));
  const auto start = std::chrono::steady_clock::now();
  const SynthPlan plan = make_plan(a.quick, parse_sweep_values(a, 4));
  SCN_CHECK(!plan.sweeps.empty(), "no sweep left to run: every parameter was given one value (give one of them two "
            "or more, or name the sweeps with --sweeps)");
  Context& ctx = Context::get(Device::cpu());
  const SyntheticModel model = make_synthetic_model(ctx, plan.height, plan.width, plan.layers, static_cast<uint64_t>(a.seed));
  ProtocolOptions options;
  options.trials = a.quick ? std::min<int64_t>(a.trials, 3) : a.trials;
  // As many tuning draws as scored ones: with fewer, the chosen thresholds (and so the curves) jitter.
  options.tuning_trials = options.trials;
  options.seed = static_cast<uint64_t>(a.seed);
  print_model(model, options.trials, options.tuning_trials);
  size_t total = 0, done = 0;
  for (const Sweep& s : plan.sweeps) total += s.points.size();
  std::vector<std::vector<PointResult>> results;
  uint64_t stream = 0;
  for (const Sweep& s : plan.sweeps) {
    results.emplace_back();
    for (const SweepPoint& p : s.points) {
      const PointResult r = evaluate_point(ctx, model, p, options, stream++);
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "synth: %zu/%zu  %s = %g  (%lld FISTA steps%s)  %.0f s\n", ++done, total,
                   s.parameter.c_str(), parameter_value(s, p), static_cast<long long>(r.lasso_iterations),
                   r.lasso_unconverged ? (", " + std::to_string(r.lasso_unconverged) + " solves unconverged").c_str()
                                       : "",
                   elapsed);
      results.back().push_back(r);
    }
    print_sweep(s, results.back());
    std::fflush(stdout);  // each table as soon as its sweep is done, also into a pipe or file
  }
  write_string_atomically(json_path, synth_json(model, options.trials, a.seed, plan, results).dump(1) + "\n");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("\nresults written to %s (%.0f s)\n", json_path.c_str(), seconds);
  return 0;
}

}  // namespace

void add_synth(CLI::App& app, Action& run) {
  auto a = std::make_shared<SynthArgs>();
  CLI::App* sub = app.add_subcommand(
      "synth", "Synthetic ML-CSC experiments: layered thresholding vs layered basis pursuit (docs/theory.md)");
  sub->add_option("--out", a->out, "Folder for synth.json (created)");
  sub->add_option("--trials", a->trials, "Evaluation draws per sweep point")->check(whole_number(1, 1000));
  sub->add_option("--seed", a->seed, "Seed of the dictionaries and the draws (recorded in synth.json)")
      ->check(whole_number(0, kMaxSeed, "NONNEGATIVE"));
  sub->add_flag("--quick", a->quick, "Two points per sweep and three draws: a smoke test of about 15 s");
  sub->add_option("--threads", a->threads, "CPU threads (default 1: see cmd_synth.cpp)")->check(whole_number(1, 1024));
  sub->add_flag("--force", a->force, "Replace an existing synth.json");
  const char* how = ": one value holds it in every sweep (and skips its own), several are its sweep's points";
  sub->add_option("--contrast", a->contrast, std::string("Contrast |Γ_min|/|Γ_max| of the deepest code, in (0, 1]") + how);
  sub->add_option("--sparsity", a->sparsity, std::string("Local sparsity ‖Γ_L‖₀,∞ of the deepest code, 1 to 16") + how);
  sub->add_option("--noise", a->noise, std::string("Noise σ, 0 to 10 (the largest |Γ_L| is 1)") + how);
  sub->add_option("--depth", a->depth, std::string("Depth L, 1 to 4 layers") + how);
  sub->add_option("--sweeps", a->sweeps,
                  "The sweeps to run, comma-separated among contrast, sparsity, noise, depth (default: every one "
                  "not held at one value)");
  sub->callback([a, &run] { run = [a] { return run_synth(*a); }; });
}

}  // namespace scn::cli
