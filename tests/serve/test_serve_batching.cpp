// Dynamic batching: concurrent requests are packed into one forward, and each result equals
// the same input run alone (within 1e-5 relative; see ExpectRowsClose for why not bitwise).
#include <gtest/gtest.h>

#include <regex>

#include "serve_test_util.h"

namespace mbert::serve::testing {
namespace {

int64_t MetricValue(const std::string& text, const std::string& name) {
  const std::regex re("(^|\n)" + std::regex_replace(name, std::regex(R"([{}"+.])"), R"(\$&)") +
                      R"( ([0-9.eE+-]+))");
  std::smatch m;
  if (!std::regex_search(text, m, re)) return -1;
  return static_cast<int64_t>(std::stod(m[2]));
}

TEST(Batching, ConcurrentRequestsShareAForwardAndMatchAlone) {
  ServeOptions o = OptionsFor({{"mlm", "tiny-mlm"}});
  o.max_queue = 64;
  TestServer server(o);
  ASSERT_TRUE(server.ok());
  constexpr int kClients = 16;
  std::vector<std::string> texts;
  for (int i = 0; i < kClients; ++i)
    texts.push_back("Request number " + std::to_string(i) + std::string(i % 5, '!') +
                    " asks for an embedding" + std::string(i % 3, '?'));

  // Paused, the worker lets all 16 jobs queue up, so the batch is deterministic: it takes the
  // oldest job and then every other one (all fit in 16384 tokens).
  server.server().scheduler(0).SetPaused(true);
  std::vector<Json> batched(kClients);
  std::vector<int> status(kClients, 0);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i)
    clients.emplace_back([&, i] {
      auto r = server.Post("/embed", {{"inputs", texts[static_cast<size_t>(i)]}});
      if (!r) {
        ADD_FAILURE() << "client " << i << ": " << httplib::to_string(r.error());
        return;
      }
      status[static_cast<size_t>(i)] = r->status;
      batched[static_cast<size_t>(i)] = ParseJson(r);
    });
  EXPECT_TRUE(WaitFor([&] { return server.server().scheduler(0).queue_depth() == kClients; }));
  server.server().scheduler(0).SetPaused(false);
  for (auto& t : clients) t.join();
  EXPECT_EQ(server.server().scheduler(0).max_batch_jobs(), kClients);

  for (int i = 0; i < kClients; ++i) {
    ASSERT_EQ(status[static_cast<size_t>(i)], 200) << "client " << i;
    auto alone = server.Post("/embed", {{"inputs", texts[static_cast<size_t>(i)]}});
    ASSERT_TRUE(alone);
    ASSERT_EQ(alone->status, 200);
    ExpectRowsClose(Floats(batched[static_cast<size_t>(i)][0]), Floats(ParseJson(alone)[0]),
                    "client " + std::to_string(i));
  }

  // Observable from outside too: some batch ran more than one request.
  auto m = server.Get("/metrics");
  ASSERT_TRUE(m);
  const int64_t singles = MetricValue(m->body, "mbert_batch_requests_bucket{le=\"1\"}");
  const int64_t batches = MetricValue(m->body, "mbert_batch_requests_count");
  ASSERT_GE(singles, 0);
  EXPECT_EQ(batches, 1 + kClients);  // the batch of 16, then 16 alone
  EXPECT_EQ(singles, kClients);
}

TEST(Batching, DifferentOptionsDoNotMix) {
  TestServer server(OptionsFor({{"mlm", "tiny-mlm"}}));
  ASSERT_TRUE(server.ok());
  server.server().scheduler(0).SetPaused(true);
  Json normalized, raw, dims;
  std::thread a([&] { normalized = ParseJson(server.Post("/embed", {{"inputs", "same text"}})); });
  ASSERT_TRUE(WaitFor([&] { return server.server().scheduler(0).queue_depth() == 1; }));
  std::thread b([&] {
    raw = ParseJson(server.Post("/embed", {{"inputs", "same text"}, {"normalize", false}}));
  });
  ASSERT_TRUE(WaitFor([&] { return server.server().scheduler(0).queue_depth() == 2; }));
  std::thread c([&] {
    dims = ParseJson(server.Post("/embed", {{"inputs", "same text"}, {"dimensions", 8}}));
  });
  ASSERT_TRUE(WaitFor([&] { return server.server().scheduler(0).queue_depth() == 3; }));
  server.server().scheduler(0).SetPaused(false);
  a.join();
  b.join();
  c.join();
  EXPECT_EQ(server.server().scheduler(0).max_batch_jobs(), 1);
  ASSERT_EQ(normalized[0].size(), 64u);
  ASSERT_EQ(raw[0].size(), 64u);
  ASSERT_EQ(dims[0].size(), 8u);
  double n1 = 0, n2 = 0;
  for (float v : Floats(normalized[0])) n1 += static_cast<double>(v) * v;
  for (float v : Floats(raw[0])) n2 += static_cast<double>(v) * v;
  EXPECT_NEAR(n1, 1.0, 1e-4);
  EXPECT_GT(std::fabs(n2 - 1.0), 1e-3);  // the raw mean pooling is not unit length
}

}  // namespace
}  // namespace mbert::serve::testing
