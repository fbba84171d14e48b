// Models by name: `org/name[@revision]` resolved in the Hugging Face cache, with the layout and
// environment variables huggingface_hub uses, and downloaded from the Hub (or HF_ENDPOINT) when
// missing, so a model fetched from Python is found here offline and one fetched here is found by
// Python.
//
// Cache (huggingface_hub's layout): $HF_HUB_CACHE (else $HF_HOME/hub, else
// ~/.cache/huggingface/hub) / models--{org}--{name} / { blobs/<etag>, refs/<revision> (the commit
// hash), snapshots/<commit>/<file> -> ../../blobs/<etag> }.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "mbert/status.h"

namespace mbert::hub {

// Settings from the environment, as huggingface_hub reads them.
struct HubEnv {
  std::string endpoint = "https://huggingface.co";  // HF_ENDPOINT
  std::string cache_dir;                            // HF_HUB_CACHE / HF_HOME/hub / ~/.cache/...
  std::string token;                                // HF_TOKEN, else the token file
  bool offline = false;                             // HF_HUB_OFFLINE=1 (or true/yes/on)
  static HubEnv FromEnvironment();
};

// "org/name" or "org/name@revision" (a branch, tag or 40-hex commit; default "main").
struct RepoRef {
  std::string repo_id;  // org/name
  std::string revision = "main";
  bool revision_is_commit() const;
  std::string folder_name() const;  // models--org--name
  std::string ToString() const;     // org/name@revision
};

// True when `s` has the form of a model name rather than a path: org/name[@rev] with Hub
// characters only, and no existing file or directory of that name.
bool LooksLikeRepoName(const std::string& s);
Result<RepoRef> ParseRepoRef(const std::string& s);

// The snapshot directory of `ref` in the cache, if the revision resolves (refs/<rev> or a commit)
// and the snapshot has a config.json; an error saying what is missing otherwise.
Result<std::string> FindInCache(const HubEnv& env, const RepoRef& ref);

// Progress of one file's download: bytes so far and total (0 when unknown).
using ProgressFn = std::function<void(const std::string& file, int64_t done, int64_t total)>;

// Downloads what mbert needs of `ref` into the cache (config, tokenizer files, the safetensors
// weights or the sharded index and its shards, sentence-transformers modules) and returns its
// snapshot directory. Files already in blobs/ are not downloaded again; a partial
// blobs/<etag>.incomplete resumes with an HTTP range; each file is checked against the Hub's ETag
// (SHA-256 for LFS files, git blob SHA-1 otherwise) before it is renamed into blobs/ and linked.
Result<std::string> Pull(const HubEnv& env, const RepoRef& ref, const ProgressFn& progress = {});

// A directory path as is; a model name from the cache, else (unless offline) pulled first.
Result<std::string> ResolveModelDir(const std::string& name_or_dir,
                                    const ProgressFn& progress = {});

struct CachedRepo {
  std::string repo_id;
  std::string path;
  int64_t size_on_disk = 0;  // bytes of its blobs
  struct Revision {
    std::string commit;
    std::vector<std::string> refs;   // names pointing at it
    std::vector<std::string> files;  // relative paths in the snapshot
  };
  std::vector<Revision> revisions;
};

// Every model repo in the cache (name order).
Result<std::vector<CachedRepo>> ListCache(const HubEnv& env);
// Removes a model repo (all its revisions) from the cache.
Status RemoveFromCache(const HubEnv& env, const std::string& repo_id);

}  // namespace mbert::hub
