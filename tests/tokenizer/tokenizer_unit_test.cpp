// Behaviour beyond the goldens: input and file errors, batch/thread invariance, padding to the
// batch's longest, lossy UTF-8 decoding, lookups.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "golden_reader.h"
#include "mbert/tokenizer.h"
#include "tokenizer/utf8.h"

namespace mbert {
namespace {

EncodeOptions NoSpecials() {
  EncodeOptions o;
  o.add_special_tokens = false;
  return o;
}

const Tokenizer& Tok() {
  static const Tokenizer* t = [] {
    auto r = Tokenizer::FromFile(testing::ModernBertTokenizerJson());
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().message().c_str());
      std::abort();  // every test needs it; MBERT_SHARED_DIR must point at ../shared
    }
    return new Tokenizer(std::move(r).value());
  }();
  return *t;
}

nlohmann::json RealJson() {
  static const nlohmann::json j = [] {
    auto r = ReadJsonFile(testing::ModernBertTokenizerJson());
    EXPECT_TRUE(r.ok());
    return r.value();
  }();
  return j;
}

TEST(Tokenizer, SpecialIdsAndLookups) {
  const Tokenizer& t = Tok();
  EXPECT_EQ(t.cls_id(), 50281);
  EXPECT_EQ(t.sep_id(), 50282);
  EXPECT_EQ(t.pad_id(), 50283);
  EXPECT_EQ(t.mask_id(), 50284);
  EXPECT_EQ(t.unk_id(), 50280);
  EXPECT_EQ(t.vocab_size(), 50368u);
  EXPECT_EQ(t.TokenToId("ĠWorld"), 3645);
  EXPECT_EQ(t.IdToToken(3645), "ĠWorld");
  EXPECT_EQ(t.TokenToId("no such token"), -1);
  EXPECT_EQ(t.IdToToken(1 << 20), "");
  EXPECT_TRUE(t.IsSpecial(50284));
  EXPECT_FALSE(t.IsSpecial(50300));  // [unusedN] are added but not special
}

TEST(Tokenizer, InvalidUtf8IsAnErrorNamingTheByte) {
  const Tokenizer& t = Tok();
  for (const std::string& bad :
       {std::string("ab\xff"), std::string("\xc3"), std::string("a\xed\xa0\x80"),
        std::string("\xf4\x90\x80\x80"), std::string("x\xc0\xafy")}) {
    auto r = t.Encode(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("invalid UTF-8 at byte"), std::string::npos)
        << r.status().message();
  }
  auto p = t.EncodePair("fine", "bad\x80");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("text_pair"), std::string::npos);
  EXPECT_TRUE(t.Encode(std::string("nul\0inside", 10)).ok());
}

TEST(Tokenizer, Utf8LossyReplacesMaximalSubparts) {
  // One U+FFFD per maximal ill-formed subpart (Unicode 3.9 / Rust from_utf8_lossy).
  EXPECT_EQ(tok::Utf8Lossy("a\xF0\x9F\x98"), "a\xEF\xBF\xBD");
  EXPECT_EQ(tok::Utf8Lossy("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(tok::Utf8Lossy("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(tok::Utf8Lossy("\xE2\x82x"), "\xEF\xBF\xBDx");
  EXPECT_EQ(tok::Utf8Lossy("ok\xC3\xA9"), "ok\xC3\xA9");
}

TEST(Tokenizer, DecodeOfSplitCharacterIsLossy) {
  const Tokenizer& t = Tok();
  auto e = t.Encode("\xF0\x9F\x91\x8D", NoSpecials());  // 👍: several byte tokens
  ASSERT_TRUE(e.ok());
  ASSERT_GT(e->size(), 1u);
  auto d = t.Decode({e->ids[0]});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.value(), "\xEF\xBF\xBD");
  EXPECT_EQ(t.Decode(e->ids).value(), "\xF0\x9F\x91\x8D");
}

TEST(Tokenizer, BatchEqualsSingleOnAnyThreadCount) {
  const Tokenizer& t = Tok();
  std::vector<std::string> texts;
  for (int i = 0; i < 300; ++i)
    texts.push_back("Sentence " + std::to_string(i) + std::string(i % 7, ' ') +
                    " caf\xC3\xA9 [MASK] " + std::string(static_cast<size_t>(i % 13), 'z'));
  std::vector<TextPair> in;
  for (size_t i = 0; i < texts.size(); ++i) {
    if (i % 3 == 0) {
      in.emplace_back(texts[i], texts[(i * 7) % texts.size()]);
    } else {
      in.emplace_back(texts[i]);
    }
  }
  for (int threads : {1, 2, 4}) {
    auto out = t.EncodeBatch(in, {}, threads);
    ASSERT_EQ(out.size(), in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      auto single =
          in[i].has_pair ? t.EncodePair(in[i].text, in[i].text_pair) : t.Encode(in[i].text);
      ASSERT_TRUE(out[i].ok() && single.ok());
      EXPECT_EQ(out[i]->ids, single->ids);
      EXPECT_EQ(out[i]->offsets, single->offsets);
    }
  }
}

TEST(Tokenizer, BatchPadsToLongestAndMultiple) {
  const Tokenizer& t = Tok();
  EncodeOptions o;
  o.padding.enabled = true;
  o.padding.multiple_of = 8;
  o.padding.side = Side::kLeft;
  using std::string_view_literals::operator""sv;
  std::vector<TextPair> in = {"a"sv, "a much longer sentence with many words in it"sv,
                              "bad \xff"sv};
  auto out = t.EncodeBatch(in, o, 2);
  ASSERT_TRUE(out[0].ok() && out[1].ok());
  EXPECT_FALSE(out[2].ok());  // one bad input does not harm the others
  EXPECT_EQ(out[0]->size(), out[1]->size());
  EXPECT_EQ(out[0]->size() % 8, 0u);
  EXPECT_EQ(out[0]->ids.front(), t.pad_id());
  EXPECT_EQ(out[0]->attention_mask.front(), 0);
  EXPECT_EQ(out[0]->ids.back(), t.sep_id());
}

TEST(Tokenizer, TruncationBelowSpecialCountIsAnError) {
  EncodeOptions o;
  o.truncation.enabled = true;
  o.truncation.max_length = 1;
  auto r = Tok().Encode("hello world", o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("max_length"), std::string::npos);
  o.truncation.strategy = TruncationStrategy::kOnlySecond;
  o.truncation.max_length = 10;
  EXPECT_FALSE(Tok().Encode(std::string(200, 'x') + " y z", o).ok());  // needs a pair
}

TEST(Tokenizer, DecodeCleanUp) {
  const Tokenizer& t = Tok();
  auto e = t.Encode("I do n't know , he said .", NoSpecials());
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(
      t.Decode(e->ids, {.skip_special_tokens = true, .clean_up_tokenization_spaces = true}).value(),
      "I don't know, he said.");
}

// Loads the real file with one field replaced; the error must name the component.
void ExpectRejected(const std::string& pointer, const nlohmann::json& value,
                    const std::string& needle) {
  nlohmann::json j = RealJson();
  j[nlohmann::json::json_pointer(pointer)] = value;
  auto r = Tokenizer::FromJsonString(j.dump(), "tokenizer.json");
  ASSERT_FALSE(r.ok()) << pointer;
  EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("tokenizer.json"), std::string::npos);
}

TEST(TokenizerLoader, RejectsWhatItDoesNotImplement) {
  ExpectRejected("/normalizer", {{"type", "Lowercase"}}, "Lowercase");
  ExpectRejected("/pre_tokenizer", {{"type", "Whitespace"}}, "Whitespace");
  ExpectRejected("/pre_tokenizer", nullptr, "pre_tokenizer");
  ExpectRejected("/model/type", "WordPiece", "WordPiece");
  ExpectRejected("/model/dropout", 0.1, "dropout");
  ExpectRejected("/model/continuing_subword_prefix", "##", "continuing_subword_prefix");
  ExpectRejected("/post_processor", {{"type", "BertProcessing"}}, "BertProcessing");
  ExpectRejected("/decoder", {{"type", "WordPiece"}}, "decoder");
  ExpectRejected("/truncation", {{"max_length", 8}}, "truncation");
  ExpectRejected("/model/merges/0", "Ġ", "merges[0]");
  ExpectRejected("/model/merges/1", "Ġ zzzzqqq", "merges[1]");
  ExpectRejected("/model/vocab/a", "x", "vocab");
  ExpectRejected("/model/unk_token", "nope", "unk_token");
  ExpectRejected("/added_tokens/3/id", "x", "added_tokens[3]");
  ExpectRejected("/post_processor/single/0/SpecialToken/id", "[NOPE]", "[NOPE]");
  ExpectRejected("/post_processor/single/1/Sequence/id", "B", "sequence B");
}

TEST(TokenizerLoader, ErrorsNameTheFile) {
  auto r = Tokenizer::FromFile("/nonexistent/tokenizer.json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/tokenizer.json"), std::string::npos);
  auto d = Tokenizer::FromModelDir("/nonexistent");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("tokenizer.json"), std::string::npos);
  EXPECT_FALSE(Tokenizer::FromJsonString("{not json", "x.json").ok());
  EXPECT_FALSE(Tokenizer::FromJsonString("[1,2]", "x.json").ok());
}

TEST(TokenizerLoader, MergesAsPairsEqualMergesAsStrings) {
  nlohmann::json j = RealJson();
  for (auto& m : j["model"]["merges"]) {
    const std::string s = m.get<std::string>();
    const size_t sp = s.find(' ');
    m = nlohmann::json::array({s.substr(0, sp), s.substr(sp + 1)});
  }
  auto t = Tokenizer::FromJsonString(j.dump(), "pairs.json");
  ASSERT_TRUE(t.ok()) << t.status().message();
  const std::string text = "Merges stored as pairs tokenize the same: caf\xC3\xA9, 12345, [MASK]!";
  EXPECT_EQ(t->Encode(text)->ids, Tok().Encode(text)->ids);
}

}  // namespace
}  // namespace mbert
