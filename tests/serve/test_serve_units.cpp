// The server's small pieces on their own: base64, constant-time compare, id truncation, model
// specs, request parsing and metrics rendering.
#include <gtest/gtest.h>

#include "serve/api_error.h"
#include "serve/base64.h"
#include "serve/json_requests.h"
#include "serve/metrics.h"
#include "serve/options.h"
#include "serve/prepare.h"
#include "serve/server.h"
#include "serve_test_util.h"

namespace mbert::serve {
namespace {

TEST(ServeUnits, Base64MatchesRfc4648) {
  auto enc = [](const std::string& s) {
    return Base64Encode(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  EXPECT_EQ(enc(""), "");
  EXPECT_EQ(enc("f"), "Zg==");
  EXPECT_EQ(enc("fo"), "Zm8=");
  EXPECT_EQ(enc("foo"), "Zm9v");
  EXPECT_EQ(enc("foobar"), "Zm9vYmFy");
  const float one = 1.0f;  // 0x3F800000, little-endian 00 00 80 3F
  EXPECT_EQ(Base64Floats(&one, 1), "AACAPw==");
}

TEST(ServeUnits, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secret2"));
  EXPECT_FALSE(ConstantTimeEquals("secret", ""));
  EXPECT_FALSE(ConstantTimeEquals("", "secret"));
  // Same bytes then zeros: the length still decides.
  EXPECT_FALSE(ConstantTimeEquals(std::string("ab\0", 3), "ab"));
}

TEST(ServeUnits, TruncateIdsKeepsClsAndSep) {
  const std::vector<int32_t> ids = {1, 10, 11, 12, 13, 2};
  EXPECT_EQ(TruncateIds(ids, 4, Side::kRight, 1, 2), (std::vector<int32_t>{1, 10, 11, 2}));
  EXPECT_EQ(TruncateIds(ids, 4, Side::kLeft, 1, 2), (std::vector<int32_t>{1, 12, 13, 2}));
  EXPECT_EQ(TruncateIds(ids, 6, Side::kRight, 1, 2), ids);
  EXPECT_EQ(TruncateIds({10, 11, 12}, 2, Side::kRight, 1, 2), (std::vector<int32_t>{10, 11}));
  EXPECT_EQ(TruncateIds({10, 11, 12}, 2, Side::kLeft, 1, 2), (std::vector<int32_t>{11, 12}));
  EXPECT_EQ(TruncateIds(ids, 1, Side::kRight, 1, 2), (std::vector<int32_t>{1}));
}

TEST(ServeUnits, ModelSpecs) {
  const std::string dir = testing::ModelDir("tiny-st");
  EXPECT_EQ(ParseModelSpec(dir).name, "tiny-st");
  EXPECT_EQ(ParseModelSpec(dir + "/").name, "tiny-st");
  EXPECT_EQ(ParseModelSpec("st=" + dir).name, "st");
  EXPECT_EQ(ParseModelSpec("st=" + dir).source, dir);
  EXPECT_EQ(ParseModelSpec("answerdotai/ModernBERT-base").name, "answerdotai/ModernBERT-base");
}

int StatusOf(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ApiError& e) {
    return e.status();
  }
  return 0;
}

TEST(ServeUnits, RequestParsing) {
  using nlohmann::json;
  EXPECT_EQ(StatusOf([] { ParseBody("{"); }), 400);
  EXPECT_EQ(StatusOf([] { ParseBody("[1]"); }), 422);
  EXPECT_EQ(ParseInputs(json("a"), "inputs").items.size(), 1u);
  EXPECT_FALSE(ParseInputs(json("a"), "inputs").batched);
  EXPECT_TRUE(ParseInputs(json::array({"a", "b"}), "inputs").batched);
  const ParsedInputs ids = ParseInputs(json::array({1, 2, 3}), "inputs");
  ASSERT_EQ(ids.items.size(), 1u);
  EXPECT_TRUE(ids.items[0].is_ids);
  EXPECT_EQ(ParseInputs(json::parse("[[1,2],[3]]"), "inputs").items.size(), 2u);
  EXPECT_EQ(StatusOf([] { ParseInputs(json(""), "inputs"); }), 422);
  EXPECT_EQ(StatusOf([] { ParseInputs(json::array(), "inputs"); }), 422);
  EXPECT_EQ(StatusOf([] { ParseInputs(json::parse("[[]]"), "inputs"); }), 422);
  EXPECT_EQ(StatusOf([] { ParseInputs(json::parse("[\"a\", 1]"), "inputs"); }), 422);
  EXPECT_EQ(StatusOf([] { ParseInputs(json::parse("[1.5]"), "inputs"); }), 422);
  EXPECT_EQ(StatusOf([] { ParseInputs(json::parse("[-1]"), "inputs"); }), 422);
  EXPECT_EQ(StatusOf([] { ParseInputs(json(5), "inputs"); }), 422);
  const ParsedInputs pair = ParsePredictInputs(json::array({"q", "t"}), "inputs");
  ASSERT_EQ(pair.items.size(), 1u);
  EXPECT_TRUE(pair.items[0].text_pair.has_value());
  EXPECT_EQ(ParsePredictInputs(json::parse("[[\"a\"],[\"b\",\"c\"]]"), "inputs").items.size(), 2u);
  EXPECT_EQ(StatusOf([] { ParsePredictInputs(json::parse("[\"a\",\"b\",\"c\"]"), "x"); }), 422);
  EXPECT_EQ(StatusOf([] { OptionalBool(json::parse("{\"b\": 1}"), "b"); }), 422);
  EXPECT_EQ(StatusOf([] { OptionalInt(json::parse("{\"i\": 1.5}"), "i"); }), 422);
  EXPECT_FALSE(OptionalInt(json::parse("{\"i\": null}"), "i").has_value());
}

TEST(ServeUnits, MetricsRenderHistograms) {
  Metrics m;
  m.CountRequest("/embed", 200);
  m.batch_requests.Observe(3);
  const std::string text = m.Render(2);
  EXPECT_NE(text.find("mbert_requests_total{route=\"/embed\",status=\"200\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("mbert_queue_depth 2"), std::string::npos);
  EXPECT_NE(text.find("mbert_batch_requests_bucket{le=\"2\"} 0"), std::string::npos);
  EXPECT_NE(text.find("mbert_batch_requests_bucket{le=\"4\"} 1"), std::string::npos);
  EXPECT_NE(text.find("mbert_batch_requests_count 1"), std::string::npos);
  EXPECT_NE(text.find("mbert_batch_requests_sum 3"), std::string::npos);
}

}  // namespace
}  // namespace mbert::serve
