// FillMask's memory does not grow with the number of masks in a batch: the decoder's logits are
// computed a block of mask rows at a time. Its own binary, so that the process's peak RSS is this
// test's alone.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include "../model/test_util.h"
#include "mbert/context.h"
#include "mbert/model.h"
#include "mbert/tasks.h"

#if defined(__SANITIZE_ADDRESS__)
#define MBERT_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MBERT_TEST_ASAN 1
#endif
#endif

namespace mbert {
namespace {

int64_t PeakRssBytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<int64_t>(u.ru_maxrss) * 1024;
}

TEST(FillMaskMemory, LogitsDoNotGrowWithTheNumberOfMasks) {
#ifdef MBERT_TEST_ASAN
  // ASan's shadow memory and quarantine of freed blocks make the peak RSS say nothing here.
  GTEST_SKIP() << "peak RSS is not meaningful under AddressSanitizer";
#endif
  auto m = Model::Load(testing::TestDataDir() + "/tiny-mlm");
  ASSERT_TRUE(m.ok()) << m.status().message();
  Context ctx(m.value());
  ASSERT_TRUE(FillMask(ctx, {Input::Text("warm [MASK] up")}, {1}).ok());
  // 3,000 masks in one packed batch: all their logits at once would take 3,000 x 50,368 floats
  // (604 MB); a block of 256 rows takes 52 MB.
  std::vector<Input> in(600, Input::Text("[MASK] [MASK] [MASK] [MASK] [MASK] x"));
  const int64_t before = PeakRssBytes();
  auto r = FillMask(ctx, in, {1});
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), in.size());
  EXPECT_EQ(r.value()[599].masks.size(), 5u);
  const int64_t grown = PeakRssBytes() - before;
  EXPECT_LT(grown, int64_t{200} << 20) << "peak RSS grew by " << (grown >> 20) << " MB";
}

}  // namespace
}  // namespace mbert
