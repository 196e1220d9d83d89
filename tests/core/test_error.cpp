#include <gtest/gtest.h>

#include "core/error.h"

namespace scn {
namespace {

TEST(Error, ChecksNameTheirSourceLocationAndUsersCanDropIt) {
  try {
    SCN_CHECK(1 + 1 == 3, "arithmetic: ", 2, " is not 3");
    FAIL() << "expected scn::Error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("arithmetic: 2 is not 3 (", 0), 0u) << what;
    EXPECT_NE(what.find("test_error.cpp:"), std::string::npos) << what;
    EXPECT_EQ(without_location(what), "arithmetic: 2 is not 3");
  }
  EXPECT_EQ(without_location("data.bin: size 7 (expected 9)"), "data.bin: size 7 (expected 9)");
  EXPECT_EQ(without_location("plain"), "plain");
}

}  // namespace
}  // namespace scn
