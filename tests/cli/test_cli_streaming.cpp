// The CLI streams: `mbert tokenize` and `mbert embed` read, process and write their input a chunk
// at a time, so their peak RSS does not grow with the number of input lines (it did: 1e6 lines
// took 1.2 GB in `tokenize`), and every line still comes out, in order.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "cli_run.h"

#if defined(__SANITIZE_ADDRESS__)
#define MBERT_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MBERT_TEST_ASAN 1
#endif
#endif

namespace mbert {
namespace {

using testing::CliResult;
using testing::RunMbert;

std::string WriteLines(const std::string& name, int n) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (int i = 0; i < n; ++i) out << "line number " << i << " of the streaming test, some words\n";
  return path;
}

int64_t CountLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  int64_t n = 0;
  std::string line;
  while (std::getline(in, line)) ++n;
  return n;
}

// Peak RSS of `args` over `small` and over 10 x `small` input lines (all of which must be
// written); the difference must stay under `slack_mb`.
void ExpectFlatMemory(const std::vector<std::string>& args, int small, int64_t slack_mb) {
  const std::string out = ::testing::TempDir() + "/streaming_out.jsonl";
  int64_t rss_kb[2] = {0, 0};
  for (int k = 0; k < 2; ++k) {
    const int n = k == 0 ? small : 10 * small;
    const std::string in = WriteLines("streaming_in_" + std::to_string(n) + ".txt", n);
    const CliResult r = RunMbert(args, in, out);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(CountLines(out), n) << args[0];
    rss_kb[k] = r.max_rss_kb;
  }
#ifdef MBERT_TEST_ASAN
  // ASan keeps freed blocks in a quarantine (up to 256 MB): peak RSS grows with the work done.
  GTEST_SKIP() << "peak RSS is not meaningful under AddressSanitizer (outputs were checked)";
#endif
  EXPECT_LT(rss_kb[1] - rss_kb[0], slack_mb * 1024)
      << args[0] << ": peak RSS " << rss_kb[0] / 1024 << " MB for " << small << " lines, "
      << rss_kb[1] / 1024 << " MB for " << 10 * small;
}

TEST(CliStreaming, TokenizeMemoryIsFlatInTheNumberOfLines) {
  // Before streaming: ~1.2 KB per line held (records and encodings), 216 MB more for 10x lines.
  ExpectFlatMemory({"tokenize", "--model", testing::TestDataDir() + "/tiny-mlm"}, 20000, 40);
}

TEST(CliStreaming, EmbedMemoryIsFlatInTheNumberOfLines) { ExpectFlatMemory({"embed"}, 3000, 40); }

}  // namespace
}  // namespace mbert
