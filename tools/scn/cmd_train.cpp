// scn train CONFIG [key.path=value ...] [--resume CKPT] [--device cpu|cuda|auto] [--out DIR] [--force]
//           [--ranks auto|mpi|env|off] [--rendezvous DIR] [--collective-timeout S] [--check-ranks N]
// Data-parallel: mpirun -np N scn train CONFIG (or srun --mpi=pmix, or --ranks env with NCCL on GPUs).
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "option_checks.h"
#include "core/distributed/communicator.h"
#include "core/error.h"
#include "models/rank_agreement.h"
#include "models/trainer.h"
#include "scn_version.h"

namespace scn::cli {

namespace {
struct TrainArgs {
  std::string config, resume, device, out;
  std::vector<std::string> overrides;
  bool force = false;
  RanksOptions ranks;
  int64_t check_ranks = 0;
};
}  // namespace

std::string default_run_dir(const RunConfig& config);

void add_train(CLI::App& app, Action& run) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* sub = app.add_subcommand("train", "Train a net from a config file");
  sub->add_option("config", args->config, "Config file (YAML)")->required()->check(CLI::ExistingFile);
  sub->add_option("overrides", args->overrides, "Config overrides key.path=value");
  sub->add_option("--resume", args->resume, "Continue from this checkpoint (it holds the optimizer state too)")
      ->check(CLI::ExistingFile);
  sub->add_option("--device", args->device, "cpu, cuda, cuda:N or auto (default: train.device)");
  sub->add_option("--out", args->out, "Run folder (default: output.dir or runs/<config name>)");
  sub->add_flag("--force", args->force, "Start afresh in a run folder that holds a run, replacing its files");
  sub->add_option("--ranks", args->ranks.mode,
                  "Data-parallel ranks: auto (MPI when mpirun or srun --mpi=pmix started scn), mpi, env "
                  "(SCN_RANK/SCN_WORLD_SIZE or Slurm's variables; GPUs, NCCL bootstrapped through --rendezvous) "
                  "or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "mpi", "env", "off"}));
  sub->add_option("--rendezvous", args->ranks.rendezvous,
                  "--ranks env: a folder every rank reaches (rank 0 writes the NCCL id there)");
  sub->add_option("--collective-timeout", args->ranks.timeout_seconds,
                  "Seconds a rank waits in a collective for the others before it stops the run")
      ->capture_default_str()
      ->check(finite_number(0, 1e7, true, "POSITIVE"));
  sub->add_option("--check-ranks", args->check_ranks,
                  "Debug: every N steps, check that every rank holds the same parameters (0: never)")
      ->capture_default_str()
      ->check(whole_number(0, kMaxCount, "NONNEGATIVE"));
  sub->callback([args, &run] {
    run = [args] {
      RunConfig config = RunConfig::load(args->config, args->overrides);
      TrainOptions o;
      o.resume = args->resume;
      o.device = args->device;
      o.force = args->force;
      o.out_dir = !args->out.empty() ? args->out : default_run_dir(config);
      o.check_ranks_every = args->check_ranks;
      o.version = std::string(SCN_VERSION) + " (git " + SCN_GIT_REVISION + ")";
      install_interrupt_handler();
      const LaunchInfo launch = detect_launch();
      std::unique_ptr<Communicator> ranks =
          connect_ranks(args->ranks, rank_device(o.device.empty() ? config.train.device : o.device, launch.local_rank));
      o.ranks = ranks.get();
      TrainSummary s;
      try {
        s = train(config, o);
      } catch (const RanksDisagree&) {
        // Every rank found it and stops: rank 0 says it once.
        if (ranks->is_root()) throw;
        return 1;
      } catch (const Error& e) {
        if (!ranks) throw;
        // The other ranks cannot know of this rank's error: say it, then end them all.
        std::fprintf(stderr, "scn: error on rank %d of %d: %s\n", ranks->rank(), ranks->size(),
                     std::getenv("SCN_VERBOSE") ? e.what() : without_location(e.what()).c_str());
        ranks->abort(1);
      }
      if (s.interrupted) return 128 + interrupt_signal();
      if (ranks && !ranks->is_root()) return 0;
      if (s.last_val_acc < 0) return 0;  // nothing was trained
      std::printf("done: %lld epochs, %.0f images/s, %s accuracy %.2f%% (best %.2f%%), checkpoint %s\n",
                  static_cast<long long>(s.epochs_done), s.images_per_s, s.val_name.c_str(), 100 * s.last_val_acc,
                  100 * s.best_val_acc, s.last_checkpoint.c_str());
      return 0;
    };
  });
}

std::string default_run_dir(const RunConfig& config) {
  if (!config.output.dir.empty()) return config.output.dir;
  return (std::filesystem::path("runs") / std::filesystem::path(config.source).stem()).string();
}

}  // namespace scn::cli
