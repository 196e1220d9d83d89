#pragma once
// Data-parallel training over ranks (core/distributed/communicator.h): how a global batch is split, and the
// few things the trainer does only when it has ranks. Every rank walks the same shuffled epoch (the order is a
// function of seed and epoch alone); global batch k is images [k·B, k·B + b) of it, and rank r takes the r-th
// of R nearly equal, contiguous parts. The union is the single-process batch, image for image, augmentation
// included, so R ranks train the model one process would, up to the order of floating-point sums.
#include <cstdint>

#include "core/distributed/communicator.h"
#include "models/net.h"

namespace scn {

struct BatchShare {
  int64_t begin = 0;        // the first image of this rank's part, in the epoch's order
  int64_t count = 0;        // its images (the first b mod R ranks have one more)
  // What this rank's mean loss is multiplied by so that every rank's gradients are those of the global
  // batch's mean loss times R: averaging them over the ranks gives the single-process gradient, and the sums
  // of a synchronised batch norm add up (R·count/b; 1 when the batch splits evenly).
  double loss_scale = 1.0;
};

// Rank `rank` of `ranks`' part of the global batch of `batch` images starting at `batch_begin`.
BatchShare batch_share(int64_t batch_begin, int64_t batch, int rank, int ranks);

// Steps in an epoch of n images at global batch B over R ranks. The last partial batch is dropped when it
// cannot give every rank two images (batch norm needs two values per channel): for R = 1, when it has one.
int64_t steps_per_epoch(int64_t n, int64_t batch, int ranks);

// The running statistics of every batch norm averaged over the ranks: with per-rank statistics each rank's
// running averages follow its own batches; before evaluating and saving, all ranks hold the same ones.
void average_running_statistics(Context& ctx, Net& net, Communicator& comm);

// Debug check (`scn train --check-ranks N`): the parameters, optimizer-visible state and power-iteration
// vectors are bit for bit the same on every rank (running statistics are left out: per-rank by default).
// Throws naming the first parameter that differs.
void check_ranks_agree(Net& net, Communicator& comm, int64_t step);

}  // namespace scn
