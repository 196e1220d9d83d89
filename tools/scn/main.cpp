// scn: train, evaluate, inspect, convert, export and profile deep sparse coding networks.
// Exit status: 0 success, 1 an error (with a message), 2 bad usage (with a one-line reason), 130 interrupted.
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <exception>
#include <filesystem>
#include <new>
#include <string>
#include <typeinfo>

#include "commands.h"
#include "core/error.h"
#include "core/memory.h"

namespace {

// OpenMP threads that wait at a barrier spin for a while before they sleep (libgomp: 300,000 spins by
// default). When other processes share the cores, a spinning thread burns the time slice its partner needs.
// Measured on 2 cores, a 6,000-image quick-start epoch beside three busy processes: 146 images/s with the
// default, 274 with a spin of 10,000 (alone: 931 and 971, no cost); fully passive waiting (OMP_WAIT_POLICY=
// passive) reached 266 loaded but lost 17 % alone. libgomp reads the setting only when it loads, so scn sets
// it and starts itself again, once, unless the user chose a wait policy or spin count already.
void use_short_openmp_spin(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  ::setenv("GOMP_SPINCOUNT", "10000", 1);
  ::execv("/proc/self/exe", argv);  // returns only when it fails: then run on with the default spin
}

}  // namespace

int main(int argc, char** argv) {
  use_short_openmp_spin(argv);
  CLI::App app{"scn: deep sparse coding networks: train, evaluate, analyse and profile them", "scn"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show the help of every subcommand");
  scn::cli::Action run;
  scn::cli::add_train(app, run);
  scn::cli::add_eval(app, run);
  scn::cli::add_info(app, run);
  scn::cli::add_data(app, run);
  scn::cli::add_export(app, run);
  scn::cli::add_profile(app, run);
  scn::cli::add_analyze(app, run);
  scn::cli::add_synth(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "scn: %s (see scn --help)\n", e.what());
    return 2;
  }
  try {
    return run ? run() : 2;
  } catch (const scn::Error& e) {
    // The source location of the check helps with bugs, not with a missing file: shown with SCN_VERBOSE=1.
    std::fprintf(stderr, "scn: error: %s\n", std::getenv("SCN_VERBOSE") ? e.what() : scn::without_location(e.what()).c_str());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "scn: error: out of memory (%s of host memory available); lower train.batch or the data "
                 "or net sizes\n", scn::format_bytes(static_cast<double>(scn::host_memory_available())).c_str());
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {
    // Names the path(s) and the system's reason.
    std::fprintf(stderr, "scn: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    // Every expected failure is an scn::Error with a message of ours; anything else is a bug to report.
    std::fprintf(stderr, "scn: error: %s (an unexpected %s; please report it)\n", scn::shorten(e.what(), 300).c_str(),
                 typeid(e).name());
    return 1;
  }
}
