// Limits and errors (status, TEI error_type), none of which disturbs other requests; the full
// queue (429) and the graceful shutdown (in-flight request completes, then the server stops).
#include <gtest/gtest.h>

#include "serve_test_util.h"

namespace mbert::serve::testing {
namespace {

const httplib::Headers kAuth = {{"Authorization", "Bearer s3cret"}};

ServeOptions LimitedOptions() {
  ServeOptions o = OptionsFor({{"mlm", "tiny-mlm"}});
  o.api_key = "s3cret";
  o.max_body_bytes = 32768;
  o.max_input_tokens = 16;
  o.max_queue = 1;
  o.cors_origin = "https://example.org";
  return o;
}

void ExpectError(const httplib::Result& r, int status, const std::string& type) {
  ASSERT_TRUE(r) << "no response";
  EXPECT_EQ(r->status, status) << r->body;
  const Json j = ParseJson(r);
  ASSERT_TRUE(j.is_object()) << r->body;
  EXPECT_TRUE(j["error"].is_string()) << r->body;
  EXPECT_EQ(j["error_type"], type) << r->body;
}

class Errors : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new TestServer(LimitedOptions()); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static TestServer* server_;
};
TestServer* Errors::server_ = nullptr;

TEST_F(Errors, EveryCodeThenANormalRequest) {
  TestServer& s = *server_;
  ASSERT_TRUE(s.ok());
  const Json ok_body = {{"inputs", "fine"}};
  // 401: missing, wrong (also same length, and a prefix), then right.
  ExpectError(s.Post("/embed", ok_body), 401, "auth");
  ExpectError(s.Post("/embed", ok_body, {{"Authorization", "Bearer s3creT"}}), 401, "auth");
  ExpectError(s.Post("/embed", ok_body, {{"Authorization", "Bearer s3c"}}), 401, "auth");
  ExpectError(s.Post("/embed", ok_body, {{"Authorization", "s3cret"}}), 401, "auth");
  auto authed = s.Post("/embed", ok_body, kAuth);
  ASSERT_TRUE(authed);
  EXPECT_EQ(authed->status, 200);
  EXPECT_EQ(authed->get_header_value("Access-Control-Allow-Origin"), "https://example.org");
  auto health = s.Get("/health");  // probes need no key
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  // OpenAI shape on /v1/.
  auto v1 = s.Post("/v1/embeddings", {{"input", "x"}});
  ASSERT_TRUE(v1);
  EXPECT_EQ(v1->status, 401);
  EXPECT_EQ(ParseJson(v1)["error"]["type"], "authentication_error");

  // 404, 405.
  ExpectError(s.Get("/nope", kAuth), 404, "not_found");
  ExpectError(s.Post("/nope", ok_body, kAuth), 404, "not_found");
  auto wrong_method = s.Get("/embed", kAuth);
  ExpectError(wrong_method, 405, "not_found");
  EXPECT_EQ(wrong_method->get_header_value("Allow"), "POST");
  ExpectError(s.Post("/health", ok_body, kAuth), 405, "not_found");

  // 400: malformed JSON.
  ExpectError(s.PostRaw("/embed", "{\"inputs\": ", kAuth), 400, "validation");

  // Chunked bodies: read within the same limit (cpp-httplib 0.11 alone would read them whole).
  auto chunked = [&](size_t bytes) {
    return s.Client()->Post(
        "/embed", kAuth,
        [bytes](size_t, httplib::DataSink& sink) {
          const std::string body = R"({"inputs": ")" + std::string(bytes, 'a') + R"("})";
          sink.write(body.data(), body.size());
          sink.done();
          return true;
        },
        "application/json");
  };
  auto small = chunked(10);
  ASSERT_TRUE(small);
  EXPECT_EQ(small->status, 200) << small->body;
  ExpectError(chunked(40000), 413, "validation");

  // 413: body too large (32 KiB limit), and an input over 16 tokens.
  const Json huge = {{"inputs", std::string(40000, 'a')}};
  ExpectError(s.Post("/embed", huge, kAuth), 413, "validation");
  const std::string long_text =
      "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen";
  auto too_long = s.Post("/embed", {{"inputs", long_text}}, kAuth);
  ExpectError(too_long, 413, "validation");
  const std::string msg = ParseJson(too_long)["error"];
  EXPECT_NE(msg.find("17 tokens"), std::string::npos) << msg;  // 15 words + [CLS] [SEP]
  EXPECT_NE(msg.find("limit of 16"), std::string::npos) << msg;
  auto truncated = s.Post("/embed_all", {{"inputs", long_text}, {"truncate", true}}, kAuth);
  ASSERT_TRUE(truncated);
  ASSERT_EQ(truncated->status, 200) << truncated->body;
  EXPECT_EQ(ParseJson(truncated)[0].size(), 16u);
  auto left =
      s.Post("/embed",
             {{"inputs", long_text}, {"truncate", true}, {"truncation_direction", "Left"}}, kAuth);
  ASSERT_TRUE(left);
  EXPECT_EQ(left->status, 200) << left->body;
  std::vector<int> ids(20, 300);
  ids.front() = 50281;
  ids.back() = 50282;
  ExpectError(s.Post("/embed", {{"inputs", ids}}, kAuth), 413, "validation");
  auto ids_cut = s.Post("/embed_all", {{"inputs", ids}, {"truncate", true}}, kAuth);
  ASSERT_TRUE(ids_cut);
  ASSERT_EQ(ids_cut->status, 200);
  EXPECT_EQ(ParseJson(ids_cut)[0].size(), 16u);

  // 422: wrong types, empty inputs, unknown model, ids out of range, too many inputs.
  ExpectError(s.Post("/embed", {{"inputs", 5}}, kAuth), 422, "validation");
  ExpectError(s.Post("/embed", {{"nothing", "x"}}, kAuth), 422, "validation");
  ExpectError(s.Post("/embed", {{"inputs", "x"}, {"normalize", "yes"}}, kAuth), 422, "validation");
  ExpectError(s.Post("/embed", {{"inputs", "x"}, {"truncation_direction", "up"}}, kAuth), 422,
              "validation");
  ExpectError(s.Post("/embed", {{"inputs", ""}}, kAuth), 422, "empty");
  ExpectError(s.Post("/embed", {{"inputs", Json::array()}}, kAuth), 422, "empty");
  ExpectError(s.Post("/embed", {{"inputs", "x"}, {"model", "nope"}}, kAuth), 422, "validation");
  ExpectError(s.Post("/embed", {{"inputs", {1, 60000, 2}}}, kAuth), 422, "validation");
  ExpectError(s.Post("/decode", {{"ids", {1, 60000}}}, kAuth), 422, "validation");
  ExpectError(s.Post("/embed", {{"inputs", std::vector<std::string>(2049, "a")}}, kAuth), 422,
              "validation");
  auto openai = s.Post("/v1/embeddings", {{"input", "x"}, {"model", "nope"}}, kAuth);
  ASSERT_TRUE(openai);
  EXPECT_EQ(openai->status, 422);
  EXPECT_TRUE(ParseJson(openai)["error"]["message"].is_string());
  auto fmt = s.Post("/v1/embeddings", {{"input", "x"}, {"encoding_format", "hex"}}, kAuth);
  ASSERT_TRUE(fmt);
  EXPECT_EQ(fmt->status, 422);

  // CORS preflight.
  auto pre = s.Client()->Options("/embed");
  ASSERT_TRUE(pre);
  EXPECT_EQ(pre->status, 204);
  EXPECT_NE(pre->get_header_value("Access-Control-Allow-Methods").find("POST"), std::string::npos);
  EXPECT_NE(pre->get_header_value("Access-Control-Allow-Headers").find("Authorization"),
            std::string::npos);

  // None of it disturbed the server.
  auto after = s.Post("/embed", ok_body, kAuth);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
  auto metrics = s.Get("/metrics", kAuth);
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("mbert_requests_total{route=\"/embed\",status=\"401\"}"),
            std::string::npos);
  EXPECT_NE(metrics->body.find("mbert_requests_total{route=\"other\",status=\"404\"}"),
            std::string::npos);
}

TEST_F(Errors, FullQueueAnswers429) {
  TestServer& s = *server_;
  ASSERT_TRUE(s.ok());
  Scheduler& sched = s.server().scheduler(0);
  sched.SetPaused(true);
  int first_status = 0;
  std::thread first([&] {
    auto r = s.Post("/embed", {{"inputs", "first"}}, kAuth);
    if (r) first_status = r->status;
  });
  ASSERT_TRUE(WaitFor([&] { return sched.queue_depth() == 1; }));
  // --max-queue 1: the queue is full, the second request is refused at once.
  ExpectError(s.Post("/embed", {{"inputs", "second"}}, kAuth), 429, "overloaded");
  auto v1 = s.Post("/v1/embeddings", {{"input", "third"}}, kAuth);
  ASSERT_TRUE(v1);
  EXPECT_EQ(v1->status, 429);
  EXPECT_EQ(ParseJson(v1)["error"]["type"], "rate_limit_error");
  sched.SetPaused(false);
  first.join();
  EXPECT_EQ(first_status, 200);
  auto again = s.Post("/embed", {{"inputs", "second"}}, kAuth);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

TEST(Shutdown, InFlightRequestCompletesThenServerStops) {
  TestServer s(OptionsFor({{"mlm", "tiny-mlm"}}));
  ASSERT_TRUE(s.ok());
  Scheduler& sched = s.server().scheduler(0);
  sched.SetPaused(true);
  int status = 0;
  Json body;
  std::thread inflight([&] {
    auto r = s.Post("/embed", {{"inputs", "in flight during shutdown"}});
    if (!r) return;
    status = r->status;
    body = ParseJson(r);
  });
  ASSERT_TRUE(WaitFor([&] { return sched.queue_depth() == 1; }));
  // What SIGTERM's watcher calls.
  s.server().Shutdown();
  // The listening socket closes: new connections fail (bounded wait).
  EXPECT_TRUE(WaitFor([&] { return !s.Get("/health"); }));
  EXPECT_EQ(status, 0);  // still in flight: its job is queued
  sched.SetPaused(false);
  inflight.join();
  EXPECT_EQ(status, 200);
  ASSERT_TRUE(body.is_array());
  EXPECT_EQ(body[0].size(), 64u);
  s.Stop();  // Run() returns once drained
  EXPECT_TRUE(s.stopped());
}

}  // namespace
}  // namespace mbert::serve::testing
