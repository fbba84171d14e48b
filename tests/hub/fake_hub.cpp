#include "fake_hub.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "hub/digest.h"

namespace mbert::testing {

namespace fs = std::filesystem;

namespace {

struct File {
  std::string path;  // in the repo
  std::string content;
  std::string sha1, sha256;
  bool lfs = false;
};

struct Repo {
  std::string id, token;
  std::map<std::string, std::map<std::string, File>> commits;  // commit -> path -> file
  std::map<std::string, std::string> branches;                 // branch or tag -> commit
};

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

struct FakeHub::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::map<std::string, Repo> repos;
  std::map<std::string, const File*> by_sha256;
  mutable std::mutex mu;
  std::vector<Request> log;
  std::map<std::string, int64_t> cut;  // path -> bytes
  std::map<std::string, bool> corrupt;

  void Record(const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mu);
    log.push_back({req.method, req.path, req.get_header_value("Range"),
                   req.get_header_value("Authorization")});
  }

  static void Error(httplib::Response& res, int status, const std::string& code,
                    const std::string& message) {
    res.status = status;
    res.set_header("X-Error-Code", code);
    res.set_header("X-Error-Message", message);
    res.set_content(nlohmann::json{{"error", message}}.dump(), "application/json");
  }

  // The files of the repo and commit a request names (and the commit), or an error response.
  const std::map<std::string, File>* Find(const httplib::Request& req, httplib::Response& res,
                                          const std::string& id, const std::string& rev,
                                          std::string* commit) {
    auto it = repos.find(id);
    if (it == repos.end()) {
      Error(res, 404, "RepoNotFound", "Repository not found");
      return nullptr;
    }
    const Repo& r = it->second;
    if (!r.token.empty() && req.get_header_value("Authorization") != "Bearer " + r.token) {
      Error(res, 401, "RepoNotFound", "Invalid username or password.");
      return nullptr;
    }
    auto b = r.branches.find(rev);
    *commit = b != r.branches.end() ? b->second : rev;
    if (auto c = r.commits.find(*commit); c != r.commits.end()) return &c->second;
    Error(res, 404, "RevisionNotFound", "Invalid rev id: " + rev);
    return nullptr;
  }

  void Install() {
    server.Get(R"(/api/models/([^/]+/[^/]+)/revision/([^/]+))",
               [this](const httplib::Request& req, httplib::Response& res) {
                 Record(req);
                 std::string commit;
                 const auto* files = Find(req, res, req.matches[1], req.matches[2], &commit);
                 if (files == nullptr) return;
                 nlohmann::json sib = nlohmann::json::array();
                 for (const auto& [p, f] : *files) sib.push_back({{"rfilename", p}});
                 res.set_content(nlohmann::json{{"id", req.matches[1]},
                                                {"modelId", req.matches[1]},
                                                {"sha", commit},
                                                {"siblings", sib}}
                                     .dump(),
                                 "application/json");
               });
    server.Get(R"(/api/models/([^/]+/[^/]+)/tree/([^/]+))", [this](const httplib::Request& req,
                                                                   httplib::Response& res) {
      Record(req);
      std::string commit;
      const auto* files = Find(req, res, req.matches[1], req.matches[2], &commit);
      if (files == nullptr) return;
      nlohmann::json out = nlohmann::json::array();
      std::set<std::string> dirs;
      for (const auto& [p, f] : *files) {
        nlohmann::json e = {
            {"type", "file"}, {"path", p}, {"size", f.content.size()}, {"oid", f.sha1}};
        if (f.lfs) e["lfs"] = {{"oid", f.sha256}, {"size", f.content.size()}, {"pointerSize", 134}};
        out.push_back(e);
        for (auto d = fs::path(p).parent_path(); !d.empty(); d = d.parent_path())
          dirs.insert(d.generic_string());
      }
      for (const std::string& d : dirs)
        out.push_back({{"type", "directory"}, {"path", d}, {"oid", ""}, {"size", 0}});
      res.set_content(out.dump(), "application/json");
    });
    server.Get(R"(/([^/]+/[^/]+)/resolve/([^/]+)/(.+))", [this](const httplib::Request& req,
                                                                httplib::Response& res) {
      Record(req);
      std::string commit;
      const auto* files = Find(req, res, req.matches[1], req.matches[2], &commit);
      if (files == nullptr) return;
      auto it = files->find(req.matches[3]);
      res.set_header("X-Repo-Commit", commit);
      if (it == files->end()) {
        Error(res, 404, "EntryNotFound", "Entry not found");
        return;
      }
      const File& f = it->second;
      if (f.lfs) {
        res.status = 302;
        // The "CDN" is another host name for the same server, as LFS storage is
        // another host for the Hub: clients must not send it the token.
        res.set_header("Location", "http://localhost:" + std::to_string(port) + "/cdn/" + f.sha256);
        res.set_header("X-Linked-Etag", "\"" + f.sha256 + "\"");
        res.set_header("X-Linked-Size", std::to_string(f.content.size()));
        res.set_header("ETag", "\"" + f.sha1 + "\"");
        return;
      }
      res.set_header("ETag", "\"" + f.sha1 + "\"");
      res.set_content(f.content, "application/octet-stream");
    });
    server.Get(R"(/cdn/([0-9a-f]{64}))",
               [this](const httplib::Request& req, httplib::Response& res) {
                 Record(req);
                 auto it = by_sha256.find(req.matches[1]);
                 if (it == by_sha256.end()) {
                   res.status = 404;
                   return;
                 }
                 const File& f = *it->second;
                 std::string body = f.content;
                 int64_t cut_at = -1;
                 {
                   std::lock_guard<std::mutex> lock(mu);
                   if (auto c = cut.find(f.path); c != cut.end() && req.method == "GET") {
                     cut_at = c->second;
                     cut.erase(c);
                   }
                   if (auto c = corrupt.find(f.path); c != corrupt.end() && req.method == "GET") {
                     body[body.size() / 2] ^= 0x5a;
                     corrupt.erase(c);
                   }
                 }
                 // cpp-httplib answers a Range request (206, Content-Range) by asking the provider
                 // for that part of the whole content.
                 auto data = std::make_shared<std::string>(std::move(body));
                 res.set_content_provider(
                     data->size(), "application/octet-stream",
                     [data, cut_at](size_t offset, size_t length, httplib::DataSink& sink) {
                       if (cut_at >= 0 && offset >= static_cast<size_t>(cut_at))
                         return false;  // drop
                       size_t n = std::min<size_t>(length, 64 * 1024);
                       if (cut_at >= 0)
                         n = std::min<size_t>(n, static_cast<size_t>(cut_at) - offset);
                       sink.write(data->data() + offset, n);
                       return true;
                     });
               });
  }
};

FakeHub::FakeHub() : impl_(std::make_unique<Impl>()) { impl_->Install(); }

FakeHub::~FakeHub() { Stop(); }

void FakeHub::AddRepo(const std::string& repo_id, const std::string& dir, const std::string& commit,
                      const std::vector<std::string>& branches, const std::string& token) {
  Repo& r = impl_->repos[repo_id];
  r.id = repo_id;
  r.token = token;
  for (const std::string& b : branches) r.branches[b] = commit;
  std::map<std::string, File>& files = r.commits[commit];
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string rel = fs::relative(e.path(), dir).generic_string();
    if (rel == "goldens.safetensors") continue;  // test data, not part of a model repo
    File f;
    f.path = rel;
    f.content = ReadAll(e.path());
    f.sha1 = mbert::hub::GitBlobSha1File(e.path().string()).value();
    f.sha256 = mbert::hub::Sha256File(e.path().string()).value();
    f.lfs = e.path().extension() == ".safetensors";
    files[rel] = std::move(f);
  }
  for (const auto& [p, f] : files)
    if (f.lfs) impl_->by_sha256[f.sha256] = &f;
}

std::string FakeHub::Start(int port) {
  impl_->port = port == 0 ? impl_->server.bind_to_any_port("127.0.0.1")
                          : (impl_->server.bind_to_port("127.0.0.1", port) ? port : -1);
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  while (!impl_->server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return "http://127.0.0.1:" + std::to_string(impl_->port);
}

void FakeHub::Stop() {
  if (impl_->thread.joinable()) {
    impl_->server.stop();
    impl_->thread.join();
  }
}

void FakeHub::CutNextTransfer(const std::string& path, int64_t after_bytes) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->cut[path] = after_bytes;
}

void FakeHub::CorruptNextTransfer(const std::string& path) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->corrupt[path] = true;
}

std::vector<FakeHub::Request> FakeHub::requests() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->log;
}

void FakeHub::ClearRequests() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->log.clear();
}

void AddTestRepos(FakeHub& hub, const std::string& testdata_dir) {
  hub.AddRepo("test-org/tiny-mlm", testdata_dir + "/tiny-mlm", kTinyMlmCommit, {"main"});
  // An older revision of the same repo: a tag "v0" at another commit (same files: the blobs are
  // shared in the cache).
  hub.AddRepo("test-org/tiny-mlm", testdata_dir + "/tiny-mlm", kTinyMlmOldCommit, {"v0"});
  hub.AddRepo("test-org/tiny-st", testdata_dir + "/tiny-st", kTinyStCommit, {"main"});
  hub.AddRepo("test-org/tiny-sharded", testdata_dir + "/tiny-seqcls-mean", kShardedCommit,
              {"main"});
  hub.AddRepo("test-org/private-mlm", testdata_dir + "/tiny-mlm", kPrivateCommit, {"main"},
              kTestToken);
}

}  // namespace mbert::testing
