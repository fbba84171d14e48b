// Models by name against a fake Hub on loopback (fake_hub.h): the cache layout byte for byte as
// huggingface_hub writes it (tests/data/hub/expected_tree.txt, made by
// tools/hub/check_with_huggingface_hub.sh), no second download of cached files, resume of a cut
// transfer, rejection of corrupt bytes, offline mode, revision pins, tokens, 401/404 messages,
// and Model::Load / the CLI by name.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../model/test_util.h"
#include "fake_hub.h"
#include "hub/digest.h"
#include "hub/http.h"
#include "hub/hub.h"
#include "mbert/context.h"
#include "mbert/model.h"
#include "mbert/tasks.h"

namespace mbert {
namespace {

namespace fs = std::filesystem;
using testing::FakeHub;

// The cache tree in the format of tools/hub/check_with_huggingface_hub.sh, sorted by path:
// "d PATH", "l PATH -> TARGET", "f PATH SIZE SHA256". trees/ (huggingface_hub's own file-list
// cache, >= 1.22) is not part of the layout mbert writes or reads.
std::string Tree(const fs::path& root) {
  std::vector<std::pair<std::string, std::string>> lines;  // (path, line), sorted by path
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    const std::string rel = it->path().lexically_relative(root).generic_string();
    if (rel.find("/trees") != std::string::npos) continue;
    if (it->is_symlink())
      lines.emplace_back(rel, "l " + rel + " -> " + fs::read_symlink(it->path()).string());
    else if (it->is_directory())
      lines.emplace_back(rel, "d " + rel);
    else
      lines.emplace_back(rel, "f " + rel + " " + std::to_string(it->file_size()) + " " +
                                  hub::Sha256File(it->path().string()).value());
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& [path, line] : lines) out += line + "\n";
  return out;
}

class HubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::AddTestRepos(hub_, testing::TestDataDir());
    env_.endpoint = hub_.Start();
    cache_ = fs::temp_directory_path() /
             ("mbert-hub-test-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(cache_);
    env_.cache_dir = cache_.string();
  }
  void TearDown() override {
    hub_.Stop();
    fs::remove_all(cache_);
  }
  Result<std::string> Pull(const std::string& name) {
    auto ref = hub::ParseRepoRef(name);
    if (!ref.ok()) return ref.status();
    return hub::Pull(env_, ref.value(), [](const std::string&, int64_t, int64_t) {});
  }
  int CdnGets() const {
    int n = 0;
    for (const auto& r : hub_.requests()) n += r.path.rfind("/cdn/", 0) == 0 && r.method == "GET";
    return n;
  }

  FakeHub hub_;
  hub::HubEnv env_;
  fs::path cache_;
};

TEST_F(HubTest, LayoutMatchesHuggingFaceHub) {
  for (const char* name : {"test-org/tiny-mlm", "test-org/tiny-st", "test-org/tiny-sharded"}) {
    auto dir = Pull(name);
    ASSERT_TRUE(dir.ok()) << name << ": " << dir.status().message();
  }
  std::ifstream in(testing::TestDataDir() + "/hub/expected_tree.txt");
  ASSERT_TRUE(in) << "missing tests/data/hub/expected_tree.txt";
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(Tree(cache_), expected.str());
}

TEST_F(HubTest, PulledModelRunsAndCachedFilesAreNotFetchedAgain) {
  auto dir = Pull("test-org/tiny-mlm");
  ASSERT_TRUE(dir.ok()) << dir.status().message();
  EXPECT_EQ(
      dir.value(),
      (cache_ / "models--test-org--tiny-mlm" / "snapshots" / testing::kTinyMlmCommit).string());
  EXPECT_EQ(CdnGets(), 1);  // model.safetensors
  hub_.ClearRequests();
  ASSERT_TRUE(Pull("test-org/tiny-mlm").ok());
  EXPECT_EQ(CdnGets(), 0);
  // The revision info, then one HEAD per file: no file is transferred again.
  for (const auto& r : hub_.requests()) {
    if (r.path.rfind("/api/", 0) != 0) {
      EXPECT_EQ(r.method, "HEAD") << r.path;
    }
  }
  auto found = hub::FindInCache(env_, hub::ParseRepoRef("test-org/tiny-mlm").value());
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ(found.value(), dir.value());
}

TEST_F(HubTest, CutTransferResumesWithARange) {
  const std::string blob_name =
      hub::Sha256File(testing::TestDataDir() + "/tiny-mlm/model.safetensors").value();
  const int64_t size =
      static_cast<int64_t>(fs::file_size(testing::TestDataDir() + "/tiny-mlm/model.safetensors"));
  hub_.CutNextTransfer("model.safetensors", size / 2);
  auto first = Pull("test-org/tiny-mlm");
  ASSERT_FALSE(first.ok());
  EXPECT_NE(first.status().message().find("retry"), std::string::npos) << first.status().message();
  const fs::path blobs = cache_ / "models--test-org--tiny-mlm" / "blobs";
  ASSERT_TRUE(fs::exists(blobs / (blob_name + ".incomplete")));
  EXPECT_FALSE(fs::exists(blobs / blob_name));
  const int64_t partial = static_cast<int64_t>(fs::file_size(blobs / (blob_name + ".incomplete")));
  EXPECT_GT(partial, 0);
  EXPECT_LT(partial, size);
  hub_.ClearRequests();
  auto second = Pull("test-org/tiny-mlm");
  ASSERT_TRUE(second.ok()) << second.status().message();

  bool ranged = false;
  for (const auto& r : hub_.requests())
    if (r.path.rfind("/cdn/", 0) == 0 && r.method == "GET")
      ranged = r.range == "bytes=" + std::to_string(partial) + "-";
  EXPECT_TRUE(ranged) << "the second pull did not ask for bytes=" << partial << "-";
  EXPECT_EQ(hub::Sha256File((blobs / blob_name).string()).value(), blob_name);
  EXPECT_FALSE(fs::exists(blobs / (blob_name + ".incomplete")));
}

TEST_F(HubTest, CorruptBytesAreRejectedAndNotLinked) {
  hub_.CorruptNextTransfer("model.safetensors");
  auto r = Pull("test-org/tiny-mlm");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("checksum"), std::string::npos) << r.status().message();
  const fs::path repo = cache_ / "models--test-org--tiny-mlm";
  for (const auto& e : fs::directory_iterator(repo / "blobs"))
    EXPECT_EQ(e.path().string().find(".incomplete"), std::string::npos) << e.path();
  EXPECT_FALSE(fs::exists(repo / "snapshots" / testing::kTinyMlmCommit / "model.safetensors"));
  // The pull failed before its end: no ref names the incomplete snapshot, so it is not found.
  EXPECT_FALSE(fs::exists(repo / "refs" / "main"));
  EXPECT_FALSE(hub::FindInCache(env_, hub::ParseRepoRef("test-org/tiny-mlm").value()).ok());
  auto again = Pull("test-org/tiny-mlm");  // the fault was one transfer: now it is clean
  ASSERT_TRUE(again.ok()) << again.status().message();
}

TEST_F(HubTest, RevisionPinsResolveToTheirCommit) {
  auto tag = Pull("test-org/tiny-mlm@v0");
  ASSERT_TRUE(tag.ok()) << tag.status().message();
  const fs::path repo = cache_ / "models--test-org--tiny-mlm";
  std::ifstream ref(repo / "refs" / "v0");
  std::string commit((std::istreambuf_iterator<char>(ref)), std::istreambuf_iterator<char>());
  EXPECT_EQ(commit, testing::kTinyMlmOldCommit);  // no trailing newline, as huggingface_hub
  EXPECT_EQ(tag.value(), (repo / "snapshots" / testing::kTinyMlmOldCommit).string());
  auto pinned = Pull(std::string("test-org/tiny-mlm@") + testing::kTinyMlmCommit);
  ASSERT_TRUE(pinned.ok()) << pinned.status().message();
  EXPECT_EQ(pinned.value(), (repo / "snapshots" / testing::kTinyMlmCommit).string());
  EXPECT_FALSE(fs::exists(repo / "refs" / testing::kTinyMlmCommit));  // commits need no ref
  EXPECT_FALSE(fs::exists(repo / "refs" / "main"));
  // Both snapshots share the blobs (same files).
  EXPECT_EQ(fs::read_symlink(repo / "snapshots" / testing::kTinyMlmOldCommit / "config.json"),
            fs::read_symlink(repo / "snapshots" / testing::kTinyMlmCommit / "config.json"));
  auto missing = Pull("test-org/tiny-mlm@no-such-branch");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("has no revision 'no-such-branch'"), std::string::npos)
      << missing.status().message();
}

TEST_F(HubTest, TokensAndErrors) {
  auto denied = Pull("test-org/private-mlm");
  ASSERT_FALSE(denied.ok());
  EXPECT_NE(denied.status().message().find("needs a token"), std::string::npos)
      << denied.status().message();
  EXPECT_NE(denied.status().message().find("HF_TOKEN"), std::string::npos);
  env_.token = testing::kTestToken;
  hub_.ClearRequests();
  auto allowed = Pull("test-org/private-mlm");
  ASSERT_TRUE(allowed.ok()) << allowed.status().message();
  // The token goes to the Hub, never on to the storage host of LFS files.
  int cdn = 0;
  for (const auto& r : hub_.requests()) {
    if (r.path.find("private-mlm") != std::string::npos) {
      EXPECT_EQ(r.authorization, std::string("Bearer ") + testing::kTestToken) << r.path;
    } else if (r.path.rfind("/cdn/", 0) == 0) {
      EXPECT_EQ(r.authorization, "") << "the token went on to the storage host";
      ++cdn;
    }
  }
  EXPECT_GT(cdn, 0);
  auto none = Pull("test-org/no-such-model");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("model test-org/no-such-model not found"),
            std::string::npos)
      << none.status().message();
  auto bad = hub::ParseRepoRef("not a name");
  EXPECT_FALSE(bad.ok());
  env_.endpoint = "http://127.0.0.1:1";  // nothing listens there
  auto down = Pull("test-org/tiny-st");
  ASSERT_FALSE(down.ok());
  EXPECT_NE(down.status().message().find("check the network and retry"), std::string::npos)
      << down.status().message();
}

// The environment variables huggingface_hub reads, end to end through Model::Load by name.
TEST_F(HubTest, ModelLoadByNameUsesTheCacheAndRespectsOffline) {
  setenv("HF_HUB_CACHE", cache_.c_str(), 1);
  setenv("HF_ENDPOINT", env_.endpoint.c_str(), 1);
  setenv("HF_HUB_OFFLINE", "1", 1);
  auto offline_missing = Model::Load("test-org/tiny-mlm");
  ASSERT_FALSE(offline_missing.ok());
  EXPECT_NE(offline_missing.status().message().find("HF_HUB_OFFLINE"), std::string::npos)
      << offline_missing.status().message();
  EXPECT_TRUE(hub_.requests().empty()) << "offline mode touched the network";
  unsetenv("HF_HUB_OFFLINE");
  auto online = Model::Load("test-org/tiny-mlm");  // first use downloads
  ASSERT_TRUE(online.ok()) << online.status().message();
  setenv("HF_HUB_OFFLINE", "1", 1);
  hub_.ClearRequests();
  auto cached = Model::Load("test-org/tiny-mlm");
  ASSERT_TRUE(cached.ok()) << cached.status().message();
  EXPECT_TRUE(hub_.requests().empty());
  Context ctx(cached.value());
  auto r = FillMask(ctx, {Input::Text("Hello [MASK].")});
  ASSERT_TRUE(r.ok()) << r.status().message();
  // The same as loading the directory itself.
  auto direct = Model::Load(testing::TestDataDir() + "/tiny-mlm");
  ASSERT_TRUE(direct.ok());
  Context ctx2(direct.value());
  auto r2 = FillMask(ctx2, {Input::Text("Hello [MASK].")});
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ((*r)[0].masks[0].candidates[0].token, (*r2)[0].masks[0].candidates[0].token);
  EXPECT_EQ((*r)[0].masks[0].candidates[0].score, (*r2)[0].masks[0].candidates[0].score);
  // Listing and removal.
  auto list = hub::ListCache(hub::HubEnv::FromEnvironment());
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].repo_id, "test-org/tiny-mlm");
  ASSERT_EQ((*list)[0].revisions.size(), 1u);
  EXPECT_EQ((*list)[0].revisions[0].refs, std::vector<std::string>{"main"});
  EXPECT_TRUE(hub::RemoveFromCache(hub::HubEnv::FromEnvironment(), "test-org/tiny-mlm").ok());
  EXPECT_FALSE(fs::exists(cache_ / "models--test-org--tiny-mlm"));
  unsetenv("HF_HUB_OFFLINE");
  unsetenv("HF_ENDPOINT");
  unsetenv("HF_HUB_CACHE");
}

// The environment as huggingface_hub reads it: HF_HOME/hub, the token file, offline values.
TEST(HubEnvTest, ReadsHuggingFaceHubVariables) {
  const fs::path home = fs::temp_directory_path() / ("mbert-hf-home-" + std::to_string(getpid()));
  fs::create_directories(home);
  std::ofstream(home / "token") << "hf_from_file\n";
  for (const char* v : {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_TOKEN",
                        "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_ENDPOINT", "HF_HUB_OFFLINE"})
    unsetenv(v);
  setenv("HF_HOME", home.c_str(), 1);
  hub::HubEnv e = hub::HubEnv::FromEnvironment();
  EXPECT_EQ(e.cache_dir, (home / "hub").string());
  EXPECT_EQ(e.token, "hf_from_file");
  EXPECT_EQ(e.endpoint, "https://huggingface.co");
  EXPECT_FALSE(e.offline);
  setenv("HF_TOKEN", "hf_from_env", 1);
  setenv("HF_ENDPOINT", "http://mirror.example/", 1);
  setenv("HF_HUB_CACHE", "/somewhere/else", 1);
  setenv("HF_HUB_OFFLINE", "yes", 1);
  e = hub::HubEnv::FromEnvironment();
  EXPECT_EQ(e.token, "hf_from_env");
  EXPECT_EQ(e.endpoint, "http://mirror.example");
  EXPECT_EQ(e.cache_dir, "/somewhere/else");
  EXPECT_TRUE(e.offline);
  for (const char* v : {"HF_HOME", "HF_TOKEN", "HF_ENDPOINT", "HF_HUB_CACHE", "HF_HUB_OFFLINE"})
    unsetenv(v);
  fs::remove_all(home);
}

TEST(HubEnvTest, ModelNames) {
  auto r = hub::ParseRepoRef("answerdotai/ModernBERT-base@v1.0");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->repo_id, "answerdotai/ModernBERT-base");
  EXPECT_EQ(r->revision, "v1.0");
  EXPECT_EQ(r->folder_name(), "models--answerdotai--ModernBERT-base");
  EXPECT_FALSE(r->revision_is_commit());
  for (const char* bad : {"noslash", "a/b/c", "../x", "a/..", "a/b@", "-a/b", "a b/c", "a/b--c"})
    EXPECT_FALSE(hub::ParseRepoRef(bad).ok()) << bad;
  EXPECT_FALSE(hub::LooksLikeRepoName(testing::TestDataDir()));  // an existing path stays a path
}

// A refs file or token file that is a FIFO blocked the process forever in an ifstream (#14).
TEST(HubEnvTest, RefsAndTokenThatAreFifosAreRefusedWithoutBlocking) {
  const fs::path home = fs::temp_directory_path() / ("mbert-hf-fifo-" + std::to_string(getpid()));
  const fs::path repo = home / "hub" / "models--org--name";
  fs::create_directories(repo / "refs");
  fs::create_directories(repo / "snapshots");
  ASSERT_EQ(0, mkfifo((repo / "refs" / "dev").c_str(), 0600));
  ASSERT_EQ(0, mkfifo((home / "token").c_str(), 0600));
  for (const char* v : {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_TOKEN",
                        "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH"})
    unsetenv(v);
  setenv("HF_HOME", home.c_str(), 1);
  const hub::HubEnv e = hub::HubEnv::FromEnvironment();  // returns: the token FIFO is not read
  EXPECT_EQ(e.token, "");
  auto found = hub::FindInCache(e, hub::ParseRepoRef("org/name@dev").value());
  ASSERT_FALSE(found.ok());
  EXPECT_NE(found.status().message().find("not a regular file"), std::string::npos)
      << found.status().message();
  EXPECT_TRUE(hub::ListCache(e).ok());
  unsetenv("HF_HOME");
  fs::remove_all(home);
}

// A write that fails (here /dev/full: ENOSPC) is an error that says so, never a short file
// taken for a whole one.
TEST_F(HubTest, DiskFullIsAClearError) {
  hub::HttpRequest req;
  req.url = env_.endpoint + "/test-org/tiny-mlm/resolve/main/tokenizer.json";
  auto r = hub::GetToFile(req, "/dev/full", 0, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("No space left on device"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("free some disk space"), std::string::npos);
}

}  // namespace
}  // namespace mbert
