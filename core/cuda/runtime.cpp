// CUDA services for core: device discovery (0 devices, never an error, without a driver), stream-ordered
// allocation and the per-context stream and library handles.
#include <cstdint>
#include <mutex>

#include "core/cuda/check.h"
#include "core/cuda/resources.h"
#include "core/cuda_runtime.h"

#include <cudnn.h>

namespace scn {

namespace detail {
const char* cublas_message(cublasStatus_t status) { return cublasGetStatusString(status); }
const char* cufft_message(cufftResult status) {
  switch (status) {
    case CUFFT_INVALID_PLAN: return "invalid plan";
    case CUFFT_ALLOC_FAILED: return "allocation failed";
    case CUFFT_INVALID_VALUE: return "invalid value";
    case CUFFT_INTERNAL_ERROR: return "internal error";
    case CUFFT_EXEC_FAILED: return "execution failed";
    case CUFFT_SETUP_FAILED: return "setup failed";
    case CUFFT_INVALID_SIZE: return "invalid size";
    default: return "cuFFT error";
  }
}
}  // namespace detail

bool built_with_cuda() { return true; }
int cuda_device_count() { return cuda_rt::device_count(); }
DeviceInfo cuda_device_info(int index) { return cuda_rt::device_info(index); }

CudaResources* make_cuda_resources(int device) {
  auto r = std::make_unique<CudaResources>();
  r->device = device;
  SCN_CUDA_CHECK(cudaSetDevice(device));
  SCN_CUDA_CHECK(cudaGetDeviceProperties(&r->properties, device));
  SCN_CUDA_CHECK(cudaStreamCreateWithFlags(&r->stream, cudaStreamNonBlocking));
  // Keep freed memory in the pool: a training step frees and re-allocates the same sizes every step.
  cudaMemPool_t pool;
  SCN_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
  uint64_t threshold = UINT64_MAX;
  SCN_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
  SCN_CUDNN_CHECK(cudnnCreate(&r->cudnn));
  SCN_CUDNN_CHECK(cudnnSetStream(r->cudnn, r->stream));
  SCN_CUBLAS_CHECK(cublasCreate(&r->cublas));
  SCN_CUBLAS_CHECK(cublasSetStream(r->cublas, r->stream));
  return r.release();
}

void release_cached_device_memory(Context& ctx) {
  cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
  SCN_CUDA_CHECK(cudaStreamIsCapturing(stream_of(ctx), &capturing));
  if (capturing != cudaStreamCaptureStatusNone) return;
  SCN_CUDA_CHECK(cudaStreamSynchronize(stream_of(ctx)));
  cudaMemPool_t pool;
  SCN_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, ctx.cuda().device));
  SCN_CUDA_CHECK(cudaMemPoolTrimTo(pool, 0));
}

void destroy_cuda_resources(CudaResources* r) {
  if (!r) return;
  if (r->cublas) cublasDestroy(r->cublas);
  if (r->cudnn) cudnnDestroy(r->cudnn);
  if (r->stream) SCN_CUDA_WARN(cudaStreamDestroy(r->stream));
  delete r;
}

namespace cuda_rt {

std::string versions() {
  auto dotted = [](int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); };
  int runtime = 0, driver = 0;
  std::string s = "CUDA runtime ";
  s += cudaRuntimeGetVersion(&runtime) == cudaSuccess ? dotted(runtime) : "?";
  if (cudaDriverGetVersion(&driver) == cudaSuccess && driver > 0) {
    s += ", driver " + dotted(driver);
  } else {
    cudaGetLastError();
    s += ", no driver";
  }
  const size_t cudnn = cudnnGetVersion();  // major·10000 + minor·100 + patch (cuDNN 9)
  s += ", cuDNN " + std::to_string(cudnn / 10000) + "." + std::to_string((cudnn % 10000) / 100) + "." +
       std::to_string(cudnn % 100);
  const int n = device_count();
  s += ", " + std::to_string(n) + (n == 1 ? " device" : " devices");
  return s;
}

int device_count() {
  static int count = [] {
    int n = 0;
    // No driver, no device or a broken installation all mean "no GPU" here; clear the sticky error.
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();
      return 0;
    }
    return n;
  }();
  return count;
}

DeviceInfo device_info(int device) {
  SCN_CHECK(device >= 0 && device < device_count(), "no CUDA device ", device);
  cudaDeviceProp p{};
  SCN_CUDA_CHECK(cudaGetDeviceProperties(&p, device));
  DeviceInfo info;
  info.name = p.name;
  info.major = p.major;
  info.minor = p.minor;
  info.multiprocessors = p.multiProcessorCount;
  info.memory_bytes = p.totalGlobalMem;
  info.l2_bytes = p.l2CacheSize;
  return info;
}

void* allocate(size_t bytes, int device) {
  Context& ctx = Context::get(Device::cuda(device));
  void* ptr = nullptr;
  SCN_CUDA_CHECK(cudaSetDevice(device));
  SCN_CUDA_CHECK(cudaMallocAsync(&ptr, bytes, ctx.cuda().stream));
  return ptr;
}

void release(void* ptr, int device) noexcept {
  Context& ctx = Context::get(Device::cuda(device));
  SCN_CUDA_WARN(cudaFreeAsync(ptr, ctx.cuda().stream));
}

void copy(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  // Copies run on the stream of the GPU involved so they are ordered with the kernels that use the data.
  Device gpu = dst_device.is_cuda() ? dst_device : src_device;
  cudaStream_t stream = Context::get(gpu).cuda().stream;
  cudaMemcpyKind kind = dst_device.is_cpu()   ? cudaMemcpyDeviceToHost
                        : src_device.is_cpu() ? cudaMemcpyHostToDevice
                                              : cudaMemcpyDeviceToDevice;
  SCN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, stream));
  // Host memory may be read or freed right after: finish the copy before returning.
  if (kind != cudaMemcpyDeviceToDevice) SCN_CUDA_CHECK(cudaStreamSynchronize(stream));
}

void zero(void* dst, int device, size_t bytes) {
  SCN_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, Context::get(Device::cuda(device)).cuda().stream));
}

void synchronize(int device) { SCN_CUDA_CHECK(cudaStreamSynchronize(Context::get(Device::cuda(device)).cuda().stream)); }

}  // namespace cuda_rt
}  // namespace scn
