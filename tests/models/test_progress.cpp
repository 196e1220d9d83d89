// The progress line off a terminal (a log file, a batch system, `| cat`): permanent lines, throttled to one
// per interval, never carriage returns.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <thread>

#include "models/progress.h"

namespace scn {
namespace {

std::string contents(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  for (int c; (c = std::fgetc(f)) != EOF;) s += static_cast<char>(c);
  return s;
}

TEST(ProgressLine, OffATerminalPrintsAPermanentLinePerInterval) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    ProgressLine p(f, false, 0.2);
    EXPECT_FALSE(p.interactive());
    EXPECT_FALSE(p.due());  // not before the first interval has passed
    p.update(1, 3, 1, 10, 2.5, 0.1, 100, 60);
    EXPECT_EQ(contents(f), "");
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    EXPECT_TRUE(p.due());
    for (int step = 2; step <= 5; ++step) p.update(1, 3, step, 10, 2.0, 0.2, 120, 50);  // one line, then throttled
    p.line("epoch 1/3 done");
  }
  const std::string s = contents(f);
  EXPECT_EQ(s, "epoch 1/3  step 2/10  loss 2.0000  acc 20.00%  120 img/s  ETA 50s\nepoch 1/3 done\n");
  EXPECT_EQ(s.find('\r'), std::string::npos);
  std::fclose(f);
}

TEST(ProgressLine, AnIntervalOfZeroPrintsEveryStep) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  ProgressLine p(f, false, 0);
  for (int step = 1; step <= 3; ++step) p.update(2, 2, step, 3, 1.0, 0.5, 10, 1);
  const std::string s = contents(f);
  EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 3);
  std::fclose(f);
}

}  // namespace
}  // namespace scn
