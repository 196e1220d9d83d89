#include <cmath>
#include <sstream>

#include "core/philox.h"
#include "kernels/op_case.h"

namespace scn::test {

Tensor random_uniform(const Shape& shape, DType dtype, uint64_t seed, int stream, double lo, double hi) {
  RngKey key{seed, RngPurpose::test, static_cast<uint64_t>(stream) << 40};
  std::vector<double> v(static_cast<size_t>(shape.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = lo + (hi - lo) * philox_uniform(key, i);
  return Tensor::from_vector(v, shape, dtype);
}

Tensor random_away_from(const Shape& shape, DType dtype, uint64_t seed, int stream, const Tensor& thresholds,
                        double margin, bool two_sided) {
  Tensor t = random_uniform(shape, DType::f64, seed, stream);
  std::vector<double> v = t.to_vector();
  std::vector<double> th = thresholds.to_vector();
  const int64_t channels = shape.rank() > 1 ? shape[1] : 1;
  const int64_t inner = shape.rank() > 2 ? shape.numel() / (shape[0] * shape[1]) : 1;
  for (size_t i = 0; i < v.size(); ++i) {
    const int64_t c = (static_cast<int64_t>(i) / inner) % channels;
    const double theta = th.size() == 1 ? th[0] : th[c];
    // Kinks at v = θ (and v = −θ when two-sided): push each value out of the band (θ − m, θ + m).
    for (double kink : {theta, two_sided ? -theta : theta}) {
      if (std::abs(v[i] - kink) < margin) v[i] = kink + (v[i] >= kink ? margin : -margin) * 2;
    }
  }
  return Tensor::from_vector(v, shape, dtype);
}

void expect_error_mentions(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "expected scn::Error mentioning \"" << (parts.empty() ? "" : parts[0]) << "\"";
  } catch (const Error& e) {
    for (const auto& part : parts) EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, Tolerance tol, const std::string& what) {
  if (!actual.defined() || !expected.defined()) {
    if (actual.defined() == expected.defined()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << what << ": one tensor is undefined";
  }
  if (actual.numel() != expected.numel())
    return ::testing::AssertionFailure() << what << ": " << actual.str() << " vs " << expected.str();
  std::vector<double> a = actual.to_vector(), e = expected.to_vector();
  double worst_excess = 0;
  int64_t worst = -1;
  for (size_t i = 0; i < a.size(); ++i) {
    const double err = std::abs(a[i] - e[i]);
    const double allowed = tol.atol + tol.rtol * std::abs(e[i]);
    if (!(err <= allowed) && (worst < 0 || err - allowed > worst_excess || std::isnan(err))) {
      worst_excess = err - allowed;
      worst = static_cast<int64_t>(i);
    }
  }
  if (worst < 0) return ::testing::AssertionSuccess();
  std::ostringstream os;
  os.precision(10);
  os << what << ": worst element " << worst << " of " << a.size() << " (shape " << expected.shape().str()
     << "): got " << a[worst] << ", expected " << e[worst] << ", error " << std::abs(a[worst] - e[worst])
     << " > atol " << tol.atol << " + rtol " << tol.rtol << "·|expected|";
  return ::testing::AssertionFailure() << os.str();
}

}  // namespace scn::test
