// `mbert tokenize` end to end: its JSON output equals the library's Encoding for text lines and
// JSONL pairs, options are honoured, and bad input fails with exit code 1 and a message.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "golden_reader.h"
#include "mbert/tokenizer.h"

namespace mbert {
namespace {

std::string Shared() {
  const char* d = std::getenv("MBERT_SHARED_DIR");
  return std::string(d ? d : "../shared");
}

std::string Binary() {
  const char* d = std::getenv("MBERT_BUILD_DIR");
  return std::string(d ? d : ".") + "/tools/mbert/mbert";
}

// Runs the CLI with `input` on stdin; returns exit code, fills *out with stdout.
int RunCli(const std::string& args, const std::string& input, std::string* out) {
  const std::string in_path = ::testing::TempDir() + "/tokenize_cli_in.txt";
  std::ofstream(in_path, std::ios::binary) << input;
  const std::string cmd = Binary() + " tokenize --model " + Shared() + "/data/modernbert-base " +
                          args + " < " + in_path + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  out->clear();
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out->append(buf, n);
  const int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::vector<nlohmann::json> Lines(const std::string& s) {
  std::vector<nlohmann::json> v;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) v.push_back(nlohmann::json::parse(line));
  return v;
}

void ExpectSame(const nlohmann::json& j, const Encoding& e) {
  EXPECT_EQ(j["ids"].get<std::vector<int32_t>>(), e.ids);
  ASSERT_EQ(j["offsets"].size(), e.offsets.size());
  for (size_t i = 0; i < e.offsets.size(); ++i) {
    EXPECT_EQ(j["offsets"][i][0].get<uint32_t>(), e.offsets[i].first);
    EXPECT_EQ(j["offsets"][i][1].get<uint32_t>(), e.offsets[i].second);
  }
  EXPECT_EQ(j["tokens"].size(), e.tokens.size());
}

TEST(TokenizeCli, TextLinesMatchLibrary) {
  auto tok = Tokenizer::FromFile(testing::ModernBertTokenizerJson());
  ASSERT_TRUE(tok.ok()) << tok.status().message();
  const std::vector<std::string> texts = {"Hello World!", "The capital of France is [MASK].",
                                          "caf\xC3\xA9  x"};
  std::string input, out;
  for (const auto& t : texts) input += t + "\n";
  ASSERT_EQ(RunCli("", input, &out), 0) << Binary();
  auto lines = Lines(out);
  ASSERT_EQ(lines.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) ExpectSame(lines[i], tok->Encode(texts[i]).value());

  EncodeOptions o;
  o.add_special_tokens = false;
  o.truncation.enabled = true;
  o.truncation.max_length = 3;
  // Longer inputs than --max-length are an error unless --truncate, which marks the lines it cut.
  EXPECT_EQ(RunCli("--no-special-tokens --max-length 3", input, &out), 1);
  ASSERT_EQ(RunCli("--no-special-tokens --max-length 3 --truncate", input, &out), 0);
  lines = Lines(out);
  ASSERT_EQ(lines.size(), texts.size());
  EncodeOptions whole;
  whole.add_special_tokens = false;
  for (size_t i = 0; i < texts.size(); ++i) {
    ExpectSame(lines[i], tok->Encode(texts[i], o).value());
    const size_t full = tok->Encode(texts[i], whole).value().size();
    EXPECT_EQ(lines[i].contains("truncated"), full > 3) << i;
    if (full > 3) {
      EXPECT_EQ(lines[i]["original_length"].get<size_t>(), full) << i;
    }
  }
}

TEST(TokenizeCli, JsonlPairs) {
  auto tok = Tokenizer::FromFile(testing::ModernBertTokenizerJson());
  ASSERT_TRUE(tok.ok());
  std::string out;
  ASSERT_EQ(RunCli("--format jsonl", "{\"text\": \"a question?\", \"text_pair\": \"an answer.\"}\n",
                   &out),
            0);
  auto lines = Lines(out);
  ASSERT_EQ(lines.size(), 1u);
  ExpectSame(lines[0], tok->EncodePair("a question?", "an answer.").value());
}

TEST(TokenizeCli, InvalidUtf8FailsCleanly) {
  std::string out;
  EXPECT_EQ(RunCli("", "fine\nbad \xFF byte\n", &out), 1);
}

}  // namespace
}  // namespace mbert
