// A Hugging Face Hub on loopback for tests: serves model directories from disk with the real
// Hub's routes and headers, as huggingface_hub expects them:
//   GET  /api/models/{org}/{name}/revision/{rev}  -> {"id", "sha", "siblings": [{"rfilename"}]}
//   GET  /api/models/{org}/{name}/tree/{rev}      -> [{"type": "file", "path", "size", "oid",
//                                                      "lfs": {"oid", "size", "pointerSize"}}]
//   HEAD/GET /{org}/{name}/resolve/{rev}/{path}   -> regular files: 200, ETag "<git sha1>";
//        *.safetensors (LFS): 302 to http://localhost:<port>/cdn/<sha256> (another host name, as
//        the Hub's LFS storage is another host) with X-Linked-Etag "<sha256>", X-Linked-Size;
//        both with X-Repo-Commit
//   GET  /cdn/<sha256>                            -> the bytes, with Range support
// Errors carry X-Error-Code (RepoNotFound, RevisionNotFound, EntryNotFound) as the Hub sends them.
// Faults for tests: cut a file's next CDN transfer after N bytes, or corrupt its bytes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mbert::testing {

class FakeHub {
 public:
  struct Request {
    std::string method, path, range, authorization;
  };

  FakeHub();
  ~FakeHub();

  // Adds to repo `repo_id` a commit (40 hex) whose files are those under `dir`, reachable by
  // the branch or tag names in `branches` (and by its hash). A repo with a token answers 401
  // without "Authorization: Bearer <token>".
  void AddRepo(const std::string& repo_id, const std::string& dir, const std::string& commit,
               const std::vector<std::string>& branches, const std::string& token = "");
  // Starts serving on 127.0.0.1 (port 0: any free port); returns the endpoint URL.
  std::string Start(int port = 0);
  void Stop();

  // Faults, applied to the next CDN transfer of the file with this repo path (then cleared).
  void CutNextTransfer(const std::string& path, int64_t after_bytes);
  void CorruptNextTransfer(const std::string& path);

  std::vector<Request> requests() const;
  void ClearRequests();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The repos the hub tests and tools/hub/check_with_huggingface_hub.sh serve, from tests/data:
// test-org/tiny-mlm (main at kTinyMlmCommit, tag v0 at kTinyMlmOldCommit), test-org/tiny-st
// (sentence-transformers modules, nested folders), test-org/tiny-sharded (a sharded index),
// test-org/private-mlm (needs the token "hf_test_token").
inline constexpr const char* kTinyMlmCommit = "0123456789abcdef0123456789abcdef01234567";
inline constexpr const char* kTinyMlmOldCommit = "1111111111111111111111111111111111111111";
inline constexpr const char* kTinyStCommit = "2222222222222222222222222222222222222222";
inline constexpr const char* kShardedCommit = "3333333333333333333333333333333333333333";
inline constexpr const char* kPrivateCommit = "4444444444444444444444444444444444444444";
inline constexpr const char* kTestToken = "hf_test_token";
void AddTestRepos(FakeHub& hub, const std::string& testdata_dir);

}  // namespace mbert::testing
