// Exactness against HF `tokenizers`: every golden record (real corpora, GLUE, SciFact, a generated
// stress set and random truncation/padding options) must give the same ids, offsets, masks,
// tokens and decodes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "core/file_io.h"
#include "golden_reader.h"
#include "mbert/tokenizer.h"

namespace mbert {
namespace {

using testing::GoldenRecord;

const Tokenizer& Tok() {
  static const Tokenizer* t = [] {
    auto r = Tokenizer::FromFile(testing::ModernBertTokenizerJson());
    if (!r.ok()) {
      ADD_FAILURE() << r.status().message();
      std::abort();
    }
    return new Tokenizer(std::move(r).value());
  }();
  return *t;
}

EncodeOptions OptionsOf(const GoldenRecord& r) {
  EncodeOptions o;
  if (!r.opts.present) return o;
  o.add_special_tokens = r.opts.add_special;
  o.truncation.enabled = r.opts.trunc_on;
  o.truncation.strategy = static_cast<TruncationStrategy>(r.opts.strategy);
  o.truncation.max_length = static_cast<size_t>(r.opts.max_len);
  o.truncation.side = r.opts.trunc_side ? Side::kLeft : Side::kRight;
  o.padding.enabled = r.opts.pad_on;
  o.padding.length = static_cast<size_t>(r.opts.pad_len);
  o.padding.multiple_of = static_cast<size_t>(r.opts.multiple);
  o.padding.side = r.opts.pad_side ? Side::kLeft : Side::kRight;
  return o;
}

std::string Show(const std::string& s) {
  std::string o;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7F) {
      char b[8];
      std::snprintf(b, sizeof(b), "\\x%02X", c);
      o += b;
    } else {
      o.push_back(static_cast<char>(c));
    }
  }
  return o.size() > 300 ? o.substr(0, 300) + "..." : o;
}

std::string Opts(const GoldenRecord& r) {
  if (!r.opts.present) return "default";
  const auto& o = r.opts;
  std::ostringstream ss;
  ss << "{special " << o.add_special << ", trunc " << o.trunc_on << " strategy " << o.strategy
     << " max " << o.max_len << " side " << o.trunc_side << ", pad " << o.pad_on << " len "
     << o.pad_len << " multiple " << o.multiple << " side " << o.pad_side << "}";
  return ss.str();
}

// Returns "" when the record matches, else a description of the first difference.
std::string Check(const Tokenizer& tok, const GoldenRecord& r) {
  const EncodeOptions o = OptionsOf(r);
  auto res = r.pair ? tok.EncodePair(r.text, r.text_pair, o) : tok.Encode(r.text, o);
  if (r.error) return res.ok() ? "HF raised an error, mbert did not" : "";
  if (!res.ok()) return "mbert error: " + res.status().message();
  const Encoding& e = res.value();
  std::ostringstream ss;
  if (e.ids != r.ids) {
    ss << "ids differ (mbert " << e.ids.size() << " vs HF " << r.ids.size() << ")";
    for (size_t i = 0; i < std::max(e.ids.size(), r.ids.size()); ++i) {
      const int32_t a = i < e.ids.size() ? e.ids[i] : -2, b = i < r.ids.size() ? r.ids[i] : -2;
      if (a != b) {
        ss << " first at " << i << ": " << a << " '"
           << (i < e.tokens.size() ? Show(e.tokens[i]) : "") << "' vs " << b << " '"
           << Show(tok.IdToToken(b)) << "'";
        break;
      }
    }
    return ss.str();
  }
  for (size_t i = 0; i < e.ids.size(); ++i) {
    if (e.offsets[i] != r.offsets[i]) {
      ss << "offset " << i << " (" << Show(e.tokens[i]) << "): (" << e.offsets[i].first << ","
         << e.offsets[i].second << ") vs HF (" << r.offsets[i].first << "," << r.offsets[i].second
         << ")";
      return ss.str();
    }
  }
  if (e.special_tokens_mask != r.special_mask) return "special_tokens_mask differs";
  if (e.attention_mask != r.attention_mask) return "attention_mask differs";
  if (r.has_tokens && e.tokens != r.tokens) {
    for (size_t i = 0; i < e.tokens.size(); ++i)
      if (e.tokens[i] != r.tokens[i])
        return "token " + std::to_string(i) + ": '" + Show(e.tokens[i]) + "' vs HF '" +
               Show(r.tokens[i]) + "'";
  }
  for (int k = 0; k < 3; ++k) {
    DecodeOptions d;
    d.skip_special_tokens = k != 1;
    d.clean_up_tokenization_spaces = k == 2;
    const std::string& want = k == 0 ? r.decode_skip : k == 1 ? r.decode_keep : r.decode_clean;
    auto got = tok.Decode(r.ids, d);
    if (!got.ok()) return "decode error: " + got.status().message();
    if (got.value() != want)
      return "decode(skip=" + std::to_string(d.skip_special_tokens) +
             ",clean=" + std::to_string(k == 2) + "): '" + Show(got.value()) + "' vs HF '" +
             Show(want) + "'";
  }
  return "";
}

class TokenizerGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerGolden, MatchesHuggingFace) {
  std::vector<GoldenRecord> records;
  std::string err;
  ASSERT_TRUE(testing::ReadGoldens(testing::GoldenDir() + "/" + GetParam(), &records, &err)) << err;
  ASSERT_GT(records.size(), 100u);
  size_t bad = 0, tokens = 0;
  for (const GoldenRecord& r : records) {
    tokens += r.ids.size();
    const std::string diff = Check(Tok(), r);
    if (!diff.empty()) {
      if (++bad <= 15)
        ADD_FAILURE() << "options " << Opts(r) << " text '" << Show(r.text) << "'"
                      << (r.pair ? " pair '" + Show(r.text_pair) + "'" : "") << ": " << diff;
    }
  }
  EXPECT_EQ(bad, 0u) << "of " << records.size() << " records";
  std::printf("%s: %zu records, %zu tokens, %zu mismatches\n", GetParam().c_str(), records.size(),
              tokens, bad);
}

INSTANTIATE_TEST_SUITE_P(Files, TokenizerGolden,
                         ::testing::Values("stress.bin.xz", "options.bin.xz", "corpora.bin.xz",
                                           "glue.bin.xz", "scifact.bin.xz"),
                         [](const auto& info) {
                           std::string n = info.param.substr(0, info.param.find('.'));
                           return n;
                         });

// The real tokenizer.json with the edits listed in variants.json (written by the golden script):
// options ModernBERT leaves off (add_prefix_space, use_regex false, rstrip/single_word/lstrip,
// ignore_merges, no normalizer, no post-processor) against HF on the same edited file.
TEST(TokenizerGoldenVariants, MatchHuggingFace) {
  auto specs = ReadJsonFile(testing::GoldenDir() + "/variants.json");
  ASSERT_TRUE(specs.ok()) << specs.status().message();
  auto base = ReadJsonFile(testing::ModernBertTokenizerJson());
  ASSERT_TRUE(base.ok()) << base.status().message();
  ASSERT_GE(specs->size(), 6u);
  for (const auto& [name, patches] : specs->items()) {
    nlohmann::json j = base.value();
    for (const auto& p : patches) j[nlohmann::json::json_pointer(p[0].get<std::string>())] = p[1];
    auto tok = Tokenizer::FromJsonString(j.dump(), "variant " + name);
    ASSERT_TRUE(tok.ok()) << tok.status().message();
    std::vector<GoldenRecord> records;
    std::string err;
    ASSERT_TRUE(
        testing::ReadGoldens(testing::GoldenDir() + "/variant-" + name + ".bin.xz", &records, &err))
        << err;
    size_t bad = 0;
    for (const GoldenRecord& r : records) {
      const std::string diff = Check(tok.value(), r);
      if (!diff.empty() && ++bad <= 10)
        ADD_FAILURE() << "variant " << name << " text '" << Show(r.text) << "'"
                      << (r.pair ? " pair '" + Show(r.text_pair) + "'" : "") << ": " << diff;
    }
    EXPECT_EQ(bad, 0u) << "variant " << name << ", " << records.size() << " records";
  }
}

}  // namespace
}  // namespace mbert
