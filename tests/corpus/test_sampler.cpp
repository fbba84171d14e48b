// CorpusSampler and Mixture: the same order for the same seed (also over a corpus prepared with
// another thread count), exact resume from a saved state (also across an epoch), whole epochs,
// mixture proportions, and refusal of mismatched state, manifests and shards.
#include <gtest/gtest.h>

#include <set>

#include "corpus/prepare.h"
#include "corpus/sampler.h"
#include "corpus_test_util.h"

namespace mbert::corpus {
namespace {

using namespace testing;  // NOLINT

class Sampler : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new fs::path(fs::temp_directory_path() /
                         ("mbert_corpus_sampler_" + std::to_string(::getpid())));
    fs::remove_all(*root_);
    WriteText(*root_ / "src" / "moby.txt", SharedCorpusPrefix("moby-dick.txt", 40000));
    WriteText(*root_ / "src" / "shakespeare.txt", SharedCorpusPrefix("tinyshakespeare.txt", 8000));
    for (int threads : {1, 2}) {
      PrepareOptions o;
      o.tokenizer = TokenizerPath();
      o.sources = {{"moby", (*root_ / "src" / "moby.txt").string(), {}},
                   {"play", (*root_ / "src" / "shakespeare.txt").string(), {}}};
      o.out_dir = (*root_ / ("out" + std::to_string(threads))).string();
      o.shard_tokens = 2000;
      o.max_seq_len = 128;
      o.val_fraction = 0.1;
      o.threads = threads;
      auto m = PrepareCorpus(o);
      ASSERT_TRUE(m.ok()) << m.status().message();
    }
  }
  static void TearDownTestSuite() {
    fs::remove_all(*root_);
    delete root_;
  }
  static std::string Dir(int threads = 1) {
    return (*root_ / ("out" + std::to_string(threads))).string();
  }
  static Mixture Mix(double moby = 1, double play = 1) {
    return Mixture{{{"moby", moby}, {"play", play}}};
  }
  static std::unique_ptr<CorpusSampler> OpenOk(const Mixture& m, uint64_t seed, int threads = 1) {
    auto s = CorpusSampler::Open(Dir(threads), m, "train", seed);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(s.value()) : nullptr;
  }
  using Draw = std::tuple<int, uint64_t, std::vector<uint32_t>>;
  static std::vector<Draw> Take(CorpusSampler* s, int n) {
    std::vector<Draw> out;
    for (int i = 0; i < n; ++i) {
      DocumentRef d = s->Next();
      out.emplace_back(d.source, d.sequence, std::vector<uint32_t>(d.ids.begin(), d.ids.end()));
    }
    return out;
  }
  static fs::path* root_;
};
fs::path* Sampler::root_ = nullptr;

TEST_F(Sampler, SameSeedSameOrderOnCorporaFromAnyThreadCount) {
  auto a = OpenOk(Mix(), 5, 1);
  auto b = OpenOk(Mix(), 5, 2);
  ASSERT_TRUE(a && b);
  const auto da = Take(a.get(), 600), db = Take(b.get(), 600);
  EXPECT_EQ(da, db);
  auto c = OpenOk(Mix(), 6);
  EXPECT_NE(Take(c.get(), 600), da) << "another seed, another order";
}

TEST_F(Sampler, ResumesAtTheExactDocument) {
  auto a = OpenOk(Mix(1, 4), 11);
  ASSERT_TRUE(a);
  Take(a.get(), 137);
  const nlohmann::json saved = a->State().ToJson();
  // Far enough that the small source wraps into later epochs after the restore.
  const auto rest = Take(a.get(), 3 * a->SequencesOf(1) + 50);
  auto b = OpenOk(Mix(1, 4), 11);
  auto st = SamplerState::FromJson(nlohmann::json::parse(saved.dump()), "state");
  ASSERT_TRUE(st.ok()) << st.status().message();
  ASSERT_TRUE(b->Restore(st.value()).ok());
  EXPECT_EQ(Take(b.get(), static_cast<int>(rest.size())), rest);
  EXPECT_EQ(b->State().draws, a->State().draws);
}

TEST_F(Sampler, EachEpochVisitsEverySequenceOnce) {
  auto s = OpenOk(Mixture{{{"play", 1}}}, 3);
  ASSERT_TRUE(s);
  const uint64_t n = s->SequencesOf(0);
  ASSERT_GT(n, 5u);
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::set<uint64_t> seen;
    std::vector<uint64_t> order;
    for (uint64_t i = 0; i < n; ++i) {
      const DocumentRef d = s->Next();
      seen.insert(d.sequence);
      order.push_back(d.sequence);
      const auto want = s->Sequence(0, d.sequence);
      EXPECT_EQ(d.ids.data(), want.data());
    }
    EXPECT_EQ(seen.size(), n) << "epoch " << epoch;
    std::vector<uint64_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_NE(order, sorted) << "shuffled";
  }
}

TEST_F(Sampler, FollowsMixtureWeights) {
  auto s = OpenOk(Mix(3, 1), 1);
  ASSERT_TRUE(s);
  int first = 0;
  const int n = 4000;
  for (int i = 0; i < n; ++i) first += s->Next().source == 0;
  EXPECT_NEAR(first / static_cast<double>(n), 0.75, 0.03);
  SamplerState st = s->State();
  EXPECT_EQ(st.positions[0] + st.positions[1], st.draws);
}

TEST_F(Sampler, SequencesAreClsToSep) {
  auto s = OpenOk(Mix(), 2);
  const uint32_t cls = s->Next().ids.front();
  for (int i = 0; i < 100; ++i) {
    const DocumentRef d = s->Next();
    ASSERT_GE(d.ids.size(), 3u);
    EXPECT_EQ(d.ids.front(), cls);
    EXPECT_LE(d.ids.size(), 128u);
  }
}

TEST_F(Sampler, RefusesMismatchedStateMixtureAndShards) {
  auto s = OpenOk(Mix(), 9);
  SamplerState st = s->State();
  st.seed = 10;
  EXPECT_NE(s->Restore(st).message().find("seed 10"), std::string::npos);
  st = s->State();
  st.positions.push_back(0);
  EXPECT_NE(s->Restore(st).message().find("same mixture"), std::string::npos);
  st = s->State();
  st.draws = 5;
  EXPECT_NE(s->Restore(st).message().find("corrupt"), std::string::npos);
  EXPECT_FALSE(SamplerState::FromJson({{"seed", -1}, {"draws", 0}, {"positions", {}}}, "x").ok());

  auto bad = CorpusSampler::Open(Dir(), Mixture{{{"nope", 1}}}, "train", 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'nope' is not in"), std::string::npos);
  EXPECT_NE(bad.status().message().find("moby, play"), std::string::npos);

  // A shard that changed after prepare: its checksum no longer matches.
  const fs::path copy = *root_ / "copy";
  fs::remove_all(copy);
  fs::copy(Dir(), copy);
  auto m = Manifest::Read(copy.string());
  ASSERT_TRUE(m.ok());
  const fs::path shard = copy / m->shards[0].file;
  std::string bytes = ReadText(shard);
  bytes[bytes.size() - 1] ^= 1;
  WriteText(shard, bytes);
  auto c = CorpusSampler::Open(copy.string(), Mix(), "train", 0);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("checksum mismatch"), std::string::npos)
      << c.status().message();
}

TEST_F(Sampler, ValidationSplitOpens) {
  auto v = CorpusSampler::Open(Dir(), Mix(), "val", 0);
  ASSERT_TRUE(v.ok()) << v.status().message();
  const Manifest& m = (*v)->manifest();
  EXPECT_EQ((*v)->SequencesOf(0), m.FindSource("moby")->val.sequences);
}

TEST(ManifestParse, RefusesInconsistentManifests) {
  nlohmann::json good = {{"format", "mbert-corpus"},
                         {"version", 1},
                         {"tokenizer", {{"sha256", std::string(64, 'a')}, {"vocab_size", 100}}},
                         {"seed", 0},
                         {"val_fraction", 0.1},
                         {"shard_tokens", 10},
                         {"max_seq_len", 16},
                         {"dedup", "x"},
                         {"sources",
                          {{{"name", "a"},
                            {"path", "p"},
                            {"globs", nlohmann::json::array()},
                            {"files", 1},
                            {"bytes", 10},
                            {"documents", 2},
                            {"dropped_empty", 0},
                            {"dropped_duplicate", 0},
                            {"dropped_invalid", 0},
                            {"train", {{"documents", 2}, {"sequences", 2}, {"tokens", 8}}},
                            {"val", {{"documents", 0}, {"sequences", 0}, {"tokens", 0}}}}}},
                         {"shards",
                          {{{"file", "a.train.00000.mbshard"},
                            {"source", "a"},
                            {"split", "train"},
                            {"sequences", 2},
                            {"tokens", 8},
                            {"sha256", std::string(64, 'b')}}}}};
  ASSERT_TRUE(Manifest::FromJson(good, "m.json").ok());
  auto err = [&](auto edit) {
    nlohmann::json j = good;
    edit(j);
    auto r = Manifest::FromJson(j, "m.json");
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_NE(err([](auto& j) { j["format"] = "x"; }).find("format"), std::string::npos);
  EXPECT_NE(err([](auto& j) { j["version"] = 2; }).find("version"), std::string::npos);
  EXPECT_NE(err([](auto& j) { j["shards"][0]["tokens"] = 9; }).find("sum over its shards"),
            std::string::npos);
  EXPECT_NE(err([](auto& j) { j["shards"][0]["file"] = "../x"; }).find("shards[0].file"),
            std::string::npos);
  EXPECT_NE(err([](auto& j) { j["shards"][0]["source"] = "b"; }).find("not in 'sources'"),
            std::string::npos);
  EXPECT_NE(err([](auto& j) { j["shards"][0]["split"] = "test"; }).find("split"),
            std::string::npos);
  EXPECT_NE(err([](auto& j) { j["sources"][0]["documents"] = 1; }).find("documents"),
            std::string::npos);
  EXPECT_NE(err([](auto& j) { j["tokenizer"]["sha256"] = "zz"; }).find("sha256"),
            std::string::npos);
  EXPECT_NE(err([](auto& j) { j["extra"] = 1; }).find("extra"), std::string::npos);
}

TEST(MixtureParse, ChecksWeightsAndNames) {
  EXPECT_TRUE(
      Mixture::FromJson(nlohmann::json::parse(R"({"sources":[{"name":"a","weight":2}]})"), "m")
          .ok());
  auto e = Mixture::FromJson(nlohmann::json::parse(R"({"sources":[{"name":"a","weight":0}]})"),
                             "mix.json");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("mix.json: field 'sources[0].weight'"), std::string::npos)
      << e.status().message();
  EXPECT_FALSE(Mixture::FromJson(nlohmann::json::parse(R"({"sources":[]})"), "m").ok());
  EXPECT_FALSE(
      Mixture::FromJson(nlohmann::json::parse(R"({"sources":[{"name":"a"},{"name":"a"}]})"), "m")
          .ok());
}

}  // namespace
}  // namespace mbert::corpus
