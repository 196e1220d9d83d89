#include "core/stream_graph.h"

#include "core/cuda_runtime.h"
#include "core/error.h"

namespace scn {

StreamGraph::~StreamGraph() {
  if (exec_) cuda_rt::graph_destroy(exec_);
}

void StreamGraph::capture(const std::function<void()>& work) {
  SCN_CHECK(ctx_.device().is_cuda(), "CUDA graphs need a CUDA device, the context is on ", ctx_.device().str());
  if (exec_) cuda_rt::graph_destroy(exec_);
  exec_ = nullptr;
  cuda_rt::graph_begin_capture(ctx_.device().index);
  try {
    work();
  } catch (...) {
    try {
      cuda_rt::graph_destroy(cuda_rt::graph_end_capture(ctx_.device().index));  // leave capture mode
    } catch (...) {
    }
    throw;
  }
  exec_ = cuda_rt::graph_end_capture(ctx_.device().index);
}

void StreamGraph::replay() {
  SCN_CHECK(exec_, "StreamGraph::replay before capture");
  cuda_rt::graph_launch(exec_, ctx_.device().index);
}

}  // namespace scn
