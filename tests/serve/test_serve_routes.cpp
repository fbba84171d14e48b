// Every route's response shape on the tiny models: tiny-mlm (text, real tokenizer), tiny-st
// (sentence-transformers, token ids only) and tiny-seqcls-cls (classifier, token ids only).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "mbert/context.h"
#include "mbert/model.h"
#include "mbert/tasks.h"
#include "serve_test_util.h"

namespace mbert::serve::testing {
namespace {

double Norm(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  return std::sqrt(s);
}

std::vector<float> DecodeBase64Floats(const std::string& b64) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::vector<uint8_t> bytes;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : b64) {
    const int v = value(c);
    if (v < 0) break;  // '=' padding
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<uint8_t>((acc >> bits) & 0xFF));
    }
  }
  std::vector<float> out(bytes.size() / 4);
  for (size_t i = 0; i < out.size(); ++i) {
    const uint32_t u = bytes[4 * i] | (bytes[4 * i + 1] << 8) | (bytes[4 * i + 2] << 16) |
                       (static_cast<uint32_t>(bytes[4 * i + 3]) << 24);
    std::memcpy(&out[i], &u, 4);
  }
  return out;
}

class MlmRoutes : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new TestServer(OptionsFor({{"mlm", "tiny-mlm"}})); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static TestServer* server_;
};
TestServer* MlmRoutes::server_ = nullptr;

TEST_F(MlmRoutes, EmbedMatchesTheLibrary) {
  ASSERT_TRUE(server_->ok());
  const std::vector<std::string> texts = {"Hello world.", "A somewhat longer sentence to embed."};
  auto r = server_->Post("/embed", {{"inputs", texts}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_TRUE(r->has_header("x-queue-time"));
  EXPECT_TRUE(r->has_header("x-inference-time"));
  EXPECT_TRUE(r->has_header("x-total-time"));
  EXPECT_GT(std::stoi(r->get_header_value("x-compute-tokens")), 4);
  const Json j = ParseJson(r);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 2u);

  auto model = Model::Load(ModelDir("tiny-mlm"));
  ASSERT_TRUE(model.ok());
  Context ctx(model.value());
  EmbedOptions opts;
  opts.normalize = true;  // TEI's default
  auto want = mbert::Embed(ctx, {Input::Text(texts[0]), Input::Text(texts[1])}, opts);
  ASSERT_TRUE(want.ok());
  for (size_t i = 0; i < 2; ++i) {
    const std::vector<float> got = Floats(j[i]);
    ASSERT_EQ(static_cast<int64_t>(got.size()), want->dim);
    EXPECT_NEAR(Norm(got), 1.0, 1e-4);
    ExpectRowsClose(got,
                    std::vector<float>(want->row(static_cast<int64_t>(i)),
                                       want->row(static_cast<int64_t>(i)) + want->dim),
                    "input " + std::to_string(i));
  }
  // A single string is still [[f32]]; normalize false keeps the raw mean pooling.
  auto single = server_->Post("/embed", {{"inputs", texts[0]}, {"normalize", false}});
  ASSERT_TRUE(single);
  ASSERT_EQ(single->status, 200);
  const Json s = ParseJson(single);
  ASSERT_EQ(s.size(), 1u);
  auto raw = mbert::Embed(ctx, {Input::Text(texts[0])});
  ASSERT_TRUE(raw.ok());
  ExpectRowsClose(Floats(s[0]), std::vector<float>(raw->row(0), raw->row(0) + raw->dim), "raw");
}

TEST_F(MlmRoutes, OpenAiEmbeddingsFloatBase64AndDimensions) {
  ASSERT_TRUE(server_->ok());
  const Json req = {{"input", {"first text", "second text"}}, {"model", "mlm"}};
  auto f = server_->Post("/v1/embeddings", req);
  ASSERT_TRUE(f);
  ASSERT_EQ(f->status, 200) << f->body;
  const Json jf = ParseJson(f);
  EXPECT_EQ(jf["object"], "list");
  EXPECT_EQ(jf["model"], "mlm");
  ASSERT_EQ(jf["data"].size(), 2u);
  EXPECT_EQ(jf["data"][1]["object"], "embedding");
  EXPECT_EQ(jf["data"][1]["index"], 1);
  EXPECT_GT(jf["usage"]["prompt_tokens"].get<int>(), 4);
  EXPECT_EQ(jf["usage"]["prompt_tokens"], jf["usage"]["total_tokens"]);

  Json req64 = req;
  req64["encoding_format"] = "base64";
  auto b = server_->Post("/v1/embeddings", req64);
  ASSERT_TRUE(b);
  ASSERT_EQ(b->status, 200);
  const Json jb = ParseJson(b);
  for (size_t i = 0; i < 2; ++i) {
    ASSERT_TRUE(jb["data"][i]["embedding"].is_string());
    const std::vector<float> decoded = DecodeBase64Floats(jb["data"][i]["embedding"]);
    const std::vector<float> floats = Floats(jf["data"][i]["embedding"]);
    // Same inputs, same batch: the same numbers, and JSON floats round-trip exactly.
    ASSERT_EQ(decoded.size(), floats.size());
    for (size_t k = 0; k < floats.size(); ++k) ASSERT_EQ(decoded[k], floats[k]) << k;
  }

  // Matryoshka: the first 16 values (tiny-mlm does not normalise, so they stay as they are).
  Json reqd = req;
  reqd["dimensions"] = 16;
  auto d = server_->Post("/embeddings", reqd);  // the alias
  ASSERT_TRUE(d);
  ASSERT_EQ(d->status, 200);
  const Json jd = ParseJson(d);
  const std::vector<float> cut = Floats(jd["data"][0]["embedding"]);
  ASSERT_EQ(cut.size(), 16u);
  const std::vector<float> full = Floats(jf["data"][0]["embedding"]);
  ExpectRowsClose(cut, std::vector<float>(full.begin(), full.begin() + 16), "dimensions");

  auto models = server_->Get("/v1/models");
  ASSERT_TRUE(models);
  ASSERT_EQ(models->status, 200);
  const Json jm = ParseJson(models);
  EXPECT_EQ(jm["object"], "list");
  ASSERT_EQ(jm["data"].size(), 1u);
  EXPECT_EQ(jm["data"][0]["id"], "mlm");
  EXPECT_EQ(jm["data"][0]["object"], "model");
  EXPECT_EQ(jm["data"][0]["owned_by"], "mbert");
  EXPECT_EQ(jm["data"][0]["created"], 0);
}

TEST_F(MlmRoutes, EmbedAllTokenizeDecode) {
  ASSERT_TRUE(server_->ok());
  const std::string text = "Hello world, again.";
  auto t = server_->Post("/tokenize", {{"inputs", text}});
  ASSERT_TRUE(t);
  ASSERT_EQ(t->status, 200) << t->body;
  const Json tok = ParseJson(t);
  ASSERT_EQ(tok.size(), 1u);
  const Json& tokens = tok[0];
  ASSERT_GE(tokens.size(), 4u);
  EXPECT_TRUE(tokens.front()["special"].get<bool>());
  EXPECT_TRUE(tokens.back()["special"].get<bool>());
  std::string joined;
  std::vector<int32_t> ids;
  for (const Json& tk : tokens) {
    ASSERT_TRUE(tk["id"].is_number_integer());
    ASSERT_TRUE(tk["text"].is_string());
    ASSERT_TRUE(tk["start"].is_number_integer());
    ASSERT_TRUE(tk["stop"].is_number_integer());
    ids.push_back(tk["id"]);
    if (!tk["special"].get<bool>()) {
      const size_t start = tk["start"], stop = tk["stop"];
      EXPECT_EQ(tk["text"], text.substr(start, stop - start));  // ASCII: code points = bytes
      joined += tk["text"].get<std::string>();
    }
  }
  EXPECT_EQ(joined, text);
  auto plain = server_->Post("/tokenize", {{"inputs", {text}}, {"add_special_tokens", false}});
  ASSERT_TRUE(plain);
  ASSERT_EQ(ParseJson(plain)[0].size(), tokens.size() - 2);

  auto d = server_->Post("/decode", {{"ids", ids}});
  ASSERT_TRUE(d);
  ASSERT_EQ(d->status, 200) << d->body;
  EXPECT_EQ(ParseJson(d), Json::array({text}));
  auto d2 = server_->Post("/decode", {{"ids", {ids, ids}}, {"skip_special_tokens", false}});
  ASSERT_TRUE(d2);
  const Json jd2 = ParseJson(d2);
  ASSERT_EQ(jd2.size(), 2u);
  EXPECT_NE(jd2[0].get<std::string>().find(text), std::string::npos);
  EXPECT_GT(jd2[0].get<std::string>().size(), text.size());

  auto a = server_->Post("/embed_all", {{"inputs", {text, "x"}}});
  ASSERT_TRUE(a);
  ASSERT_EQ(a->status, 200);
  const Json all = ParseJson(a);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].size(), tokens.size());  // one vector per token, specials included
  EXPECT_EQ(all[0][0].size(), 64u);         // hidden size
  EXPECT_EQ(all[1].size(), 3u);             // [CLS] x [SEP]
}

TEST_F(MlmRoutes, FillMaskShapes) {
  ASSERT_TRUE(server_->ok());
  auto one = server_->Post("/fill-mask", {{"inputs", "The capital of France is [MASK]."}});
  ASSERT_TRUE(one);
  ASSERT_EQ(one->status, 200) << one->body;
  const Json j1 = ParseJson(one);
  ASSERT_EQ(j1.size(), 5u);  // top_k 5
  for (size_t i = 0; i < j1.size(); ++i) {
    EXPECT_TRUE(j1[i]["score"].is_number());
    EXPECT_TRUE(j1[i]["token"].is_number_integer());
    EXPECT_TRUE(j1[i]["token_str"].is_string());
    EXPECT_TRUE(j1[i]["sequence"].is_string());
    if (i) {
      EXPECT_GE(j1[i - 1]["score"].get<double>(), j1[i]["score"].get<double>());
    }
  }
  auto two =
      server_->Post("/fill-mask", {{"inputs", "[MASK] is the capital of [MASK]."}, {"top_k", 3}});
  ASSERT_TRUE(two);
  ASSERT_EQ(two->status, 200);
  const Json j2 = ParseJson(two);
  ASSERT_EQ(j2.size(), 2u);  // one list per mask
  ASSERT_EQ(j2[0].size(), 3u);
  EXPECT_TRUE(j2[0][0].is_object());
  auto batch =
      server_->Post("/fill-mask", {{"inputs", {"A [MASK].", "[MASK] and [MASK]."}}, {"top_k", 2}});
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->status, 200);
  const Json jb = ParseJson(batch);
  ASSERT_EQ(jb.size(), 2u);
  ASSERT_EQ(jb[0].size(), 2u);  // input 1: one mask -> its candidates
  EXPECT_TRUE(jb[0][0].is_object());
  ASSERT_EQ(jb[1].size(), 2u);  // input 2: two masks -> a list each
  EXPECT_TRUE(jb[1][0].is_array());
  auto none = server_->Post("/fill-mask", {{"inputs", "No mask here."}});
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 422);
}

TEST_F(MlmRoutes, InfoHealthMetrics) {
  ASSERT_TRUE(server_->ok());
  auto i = server_->Get("/info");
  ASSERT_TRUE(i);
  ASSERT_EQ(i->status, 200);
  const Json info = ParseJson(i);
  EXPECT_EQ(info["model_id"], "mlm");
  EXPECT_EQ(info["model_dtype"], "float32");
  EXPECT_EQ(info["model_type"]["embedding"]["pooling"], "mean");
  EXPECT_EQ(info["max_input_length"], 8192);
  EXPECT_EQ(info["max_batch_tokens"], 16384);
  EXPECT_EQ(info["max_concurrent_requests"], 256);
  EXPECT_EQ(info["version"], "0.1.0");
  ASSERT_EQ(info["models"].size(), 1u);
  auto h = server_->Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_TRUE(h->body.empty());
  ASSERT_EQ(server_->Post("/embed", {{"inputs", "metrics"}})->status, 200);
  auto m = server_->Get("/metrics");
  ASSERT_TRUE(m);
  ASSERT_EQ(m->status, 200);
  for (const char* name :
       {"mbert_requests_total{route=\"/embed\",status=\"200\"}", "mbert_queue_depth 0",
        "mbert_queue_seconds_bucket", "mbert_inference_seconds_sum", "mbert_request_seconds_count",
        "mbert_batch_tokens_bucket", "mbert_tokens_total", "mbert_batch_requests_count"})
    EXPECT_NE(m->body.find(name), std::string::npos) << name;
  // Prediction routes need a classifier.
  auto p = server_->Post("/predict", {{"inputs", "x"}});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->status, 422);
}

TEST(StRoutes, TokenIdsDenseAndNormalize) {
  TestServer server(OptionsFor({{"st", "tiny-st"}}));
  ASSERT_TRUE(server.ok());
  const std::vector<std::vector<int>> ids = {{1, 5, 6, 2}, {1, 7, 8, 9, 10, 2}};
  auto r = server.Post("/embed", {{"inputs", ids}, {"normalize", false}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const Json j = ParseJson(r);
  ASSERT_EQ(j.size(), 2u);
  ASSERT_EQ(j[0].size(), 32u);                 // 2_Dense: 64 -> 32
  EXPECT_NEAR(Norm(Floats(j[1])), 1.0, 1e-4);  // 3_Normalize applies anyway
  auto model = Model::Load(ModelDir("tiny-st"));
  ASSERT_TRUE(model.ok());
  Context ctx(model.value());
  auto want = mbert::Embed(ctx, {Input::Ids({1, 5, 6, 2}), Input::Ids({1, 7, 8, 9, 10, 2})});
  ASSERT_TRUE(want.ok());
  ExpectRowsClose(Floats(j[1]), std::vector<float>(want->row(1), want->row(1) + want->dim),
                  "tiny-st");

  auto o = server.Post("/v1/embeddings", {{"input", ids[0]}, {"dimensions", 8}});
  ASSERT_TRUE(o);
  ASSERT_EQ(o->status, 200) << o->body;
  const Json jo = ParseJson(o);
  ASSERT_EQ(jo["data"].size(), 1u);
  const std::vector<float> cut = Floats(jo["data"][0]["embedding"]);
  ASSERT_EQ(cut.size(), 8u);
  EXPECT_NEAR(Norm(cut), 1.0, 1e-4);  // truncated, then normalised
  EXPECT_EQ(jo["usage"]["prompt_tokens"], 4);

  auto text = server.Post("/embed", {{"inputs", "text needs a tokenizer"}});
  ASSERT_TRUE(text);
  EXPECT_EQ(text->status, 422);
  EXPECT_EQ(ParseJson(text)["error_type"], "tokenizer");
  auto big = server.Post("/embed", {{"inputs", {1, 5000, 2}}});  // vocab 1024
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 422);
  auto dims = server.Post("/embed", {{"inputs", {1, 5, 2}}, {"dimensions", 33}});
  ASSERT_TRUE(dims);
  EXPECT_EQ(dims->status, 422);
}

TEST(ClassifierRoutes, PredictAndRerank) {
  TestServer server(OptionsFor({{"cls", "tiny-seqcls-cls"}}));
  ASSERT_TRUE(server.ok());
  auto model = Model::Load(ModelDir("tiny-seqcls-cls"));
  ASSERT_TRUE(model.ok());
  Context ctx(model.value());

  auto one = server.Post("/predict", {{"inputs", {1, 5, 6, 2}}});
  ASSERT_TRUE(one);
  ASSERT_EQ(one->status, 200) << one->body;
  const Json j1 = ParseJson(one);
  ASSERT_EQ(j1.size(), 3u);
  double sum = 0;
  std::vector<std::string> labels;
  for (size_t i = 0; i < j1.size(); ++i) {
    sum += j1[i]["score"].get<double>();
    labels.push_back(j1[i]["label"]);
    if (i) {
      EXPECT_GE(j1[i - 1]["score"].get<double>(), j1[i]["score"].get<double>());
    }
  }
  EXPECT_NEAR(sum, 1.0, 1e-5);
  std::sort(labels.begin(), labels.end());
  EXPECT_EQ(labels, (std::vector<std::string>{"negative", "neutral", "positive"}));

  auto raw = server.Post("/predict", {{"inputs", {{1, 5, 6, 2}, {1, 9, 2}}}, {"raw_scores", true}});
  ASSERT_TRUE(raw);
  ASSERT_EQ(raw->status, 200);
  const Json jr = ParseJson(raw);
  ASSERT_EQ(jr.size(), 2u);
  ASSERT_EQ(jr[1].size(), 3u);
  auto want = ClassifySequences(ctx, {Input::Ids({1, 5, 6, 2}), Input::Ids({1, 9, 2})});
  ASSERT_TRUE(want.ok());
  const std::vector<std::string>& names = model.value()->info().labels;
  for (const Json& e : jr[1]) {
    const size_t k = static_cast<size_t>(
        std::find(names.begin(), names.end(), e["label"].get<std::string>()) - names.begin());
    ASSERT_LT(k, names.size());
    EXPECT_NEAR(e["score"].get<double>(), want.value()[1].logits[k],
                1e-5 * (1 + std::fabs(want.value()[1].logits[k])));
  }

  const std::vector<int> query = {1, 5, 2};
  const std::vector<std::vector<int>> texts = {{6, 7, 2}, {8, 2}, {9, 10, 11, 2}};
  auto rr = server.Post("/rerank", {{"query", query}, {"texts", texts}});
  ASSERT_TRUE(rr);
  ASSERT_EQ(rr->status, 200) << rr->body;
  const Json jrr = ParseJson(rr);
  ASSERT_EQ(jrr.size(), 3u);
  std::vector<Input> pairs;
  for (const auto& t : texts) {
    std::vector<int32_t> ids(query.begin(), query.end());
    ids.insert(ids.end(), t.begin(), t.end());
    pairs.push_back(Input::Ids(ids));
  }
  auto rel = ClassifySequences(ctx, pairs);
  ASSERT_TRUE(rel.ok());
  std::vector<bool> seen(3, false);
  for (size_t i = 0; i < jrr.size(); ++i) {
    const size_t idx = jrr[i]["index"];
    ASSERT_LT(idx, 3u);
    seen[idx] = true;
    // 3 labels: the probability of the last one.
    EXPECT_NEAR(jrr[i]["score"].get<double>(), rel.value()[idx].scores.back(), 1e-5);
    EXPECT_FALSE(jrr[i].contains("text"));
    if (i) {
      EXPECT_GE(jrr[i - 1]["score"].get<double>(), jrr[i]["score"].get<double>());
    }
  }
  EXPECT_EQ(seen, std::vector<bool>(3, true));

  auto info = server.Get("/info");
  ASSERT_TRUE(info);
  const Json ji = ParseJson(info);
  EXPECT_EQ(ji["model_type"]["classifier"]["id2label"]["2"], "positive");
  EXPECT_EQ(ji["model_type"]["classifier"]["label2id"]["negative"], 0);
}

TEST(MultiModel, PicksByName) {
  TestServer server(OptionsFor({{"mlm", "tiny-mlm"}, {"st", "tiny-st"}}));
  ASSERT_TRUE(server.ok());
  const std::vector<int> ids = {1, 5, 6, 2};
  auto st = server.Post("/v1/embeddings", {{"input", ids}, {"model", "st"}});
  ASSERT_TRUE(st);
  ASSERT_EQ(st->status, 200) << st->body;
  EXPECT_EQ(ParseJson(st)["data"][0]["embedding"].size(), 32u);
  EXPECT_EQ(ParseJson(st)["model"], "st");
  auto mlm = server.Post("/v1/embeddings", {{"input", "text"}, {"model", "mlm"}});
  ASSERT_TRUE(mlm);
  ASSERT_EQ(mlm->status, 200);
  EXPECT_EQ(ParseJson(mlm)["data"][0]["embedding"].size(), 64u);
  auto tei = server.Post("/embed", {{"inputs", ids}, {"model", "st"}});
  ASSERT_TRUE(tei);
  ASSERT_EQ(tei->status, 200);
  EXPECT_EQ(ParseJson(tei)[0].size(), 32u);
  auto unknown = server.Post("/v1/embeddings", {{"input", "x"}, {"model", "gpt"}});
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 422);
  const Json e = ParseJson(unknown);
  EXPECT_TRUE(e["error"]["message"].is_string());
  EXPECT_EQ(e["error"]["type"], "invalid_request_error");
  EXPECT_EQ(e["error"]["code"], "validation");
  auto models = server.Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(ParseJson(models)["data"].size(), 2u);
}

}  // namespace
}  // namespace mbert::serve::testing
