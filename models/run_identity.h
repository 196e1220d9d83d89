#pragma once
// Which run a run folder and a checkpoint belong to. A fresh `scn train` draws a run id (16 hex digits) and
// records it in the folder's config.yaml (`run_id:`) and in every checkpoint it writes (metadata `run_id`); a
// resumed run keeps its checkpoint's id. `--resume CK --out DIR` continues in DIR only when DIR holds no
// earlier run, or holds CK's own run:
//   - both ids known: they must be equal;
//   - CK older than run ids (no `run_id`), or DIR's config.yaml without one: CK must lie in DIR itself (the
//     folder it was written in), since nothing else tells the runs apart.
// Anything else is refused unless --force, which removes the other run's files (best.safetensors,
// metrics.jsonl, steps.jsonl, and last.safetensors unless it is CK) so that nothing of it survives.
#include <string>

namespace scn {

// A new id: 16 hex digits from the system's random source.
std::string new_run_id();

// The `run_id` recorded in DIR/config.yaml ("" when there is none, or no readable config.yaml).
std::string folder_run_id(const std::string& dir);

// Checks that resuming `checkpoint` (whose metadata holds `checkpoint_run`, "" for an older checkpoint) may
// write into `dir`, as above; with `force`, clears the other run's files instead of refusing. Returns the id
// the resumed run goes on with: the checkpoint's, else the folder's when the checkpoint lies in it, else a new
// one.
std::string claim_folder_for_resume(const std::string& dir, const std::string& checkpoint,
                                    const std::string& checkpoint_run, bool force);

}  // namespace scn
