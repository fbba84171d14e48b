// Pull: what mbert needs of a Hub model repo, into the huggingface_hub cache layout (hub.h).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/file_io.h"
#include "hub/digest.h"
#include "hub/http.h"
#include "hub/hub.h"

namespace mbert::hub {

namespace fs = std::filesystem;

namespace {

// Files mbert reads, when the repo has them (the weights are chosen separately).
const char* const kWanted[] = {"config.json",
                               "tokenizer.json",
                               "tokenizer_config.json",
                               "special_tokens_map.json",
                               "modules.json",
                               "config_sentence_transformers.json",
                               "sentence_bert_config.json"};

// Percent-encodes a URL path segment (RFC 3986 unreserved characters stay).
std::string Escape(const std::string& s, bool keep_slash) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/'))
      out += static_cast<char>(c);
    else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The ETag as huggingface_hub normalises it: no weak prefix, no quotes.
std::string NormalizeEtag(std::string e) {
  if (e.rfind("W/", 0) == 0) e = e.substr(2);
  if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
  return e;
}

bool IsHex(const std::string& s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// An HTTP error status as a message that says what to do.
Status HttpError(const HttpResponse& r, const RepoRef& ref, const std::string& what) {
  auto it = r.headers.find("x-error-code");
  const std::string code = it == r.headers.end() ? "" : it->second;
  if (r.status == 401 || r.status == 403) {
    if (code == "GatedRepo" || r.status == 403)
      return Status::Error(ref.repo_id + " is gated or private (HTTP " + std::to_string(r.status) +
                           "): accept its terms on the Hub and set HF_TOKEN (or log in with "
                           "`huggingface-cli login`) to a token that may read it");
    return Status::Error(ref.repo_id +
                         " needs a token (HTTP 401): set HF_TOKEN or log in with "
                         "`huggingface-cli login`; if the name is misspelled the Hub also answers "
                         "401 for repositories that do not exist");
  }
  if (r.status == 404) {
    if (code == "RevisionNotFound")
      return Status::Error(ref.repo_id + " has no revision '" + ref.revision + "' (HTTP 404)");
    if (code == "EntryNotFound")
      return Status::Error(ref.ToString() + " has no file " + what + " (HTTP 404)");
    return Status::Error("model " + ref.repo_id + " not found on the Hub (HTTP 404" +
                         (code.empty() ? "" : ", " + code) + "): check the name org/name");
  }
  return Status::Error(what + " of " + ref.ToString() + ": HTTP " + std::to_string(r.status) +
                       "; retry later");
}

// An exclusive lock on .locks/<repo folder>/<etag>.lock, the file huggingface_hub locks (with
// flock, via filelock), so mbert and Python never write the same blob at once.
class BlobLock {
 public:
  explicit BlobLock(const fs::path& path) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~BlobLock() {
    if (fd_ >= 0) {
      ::flock(fd_, LOCK_UN);
      ::close(fd_);
    }
  }
  BlobLock(const BlobLock&) = delete;
  BlobLock& operator=(const BlobLock&) = delete;

 private:
  int fd_ = -1;
};

// Prints one progress line per file to stderr: updates at most every 0.5 s, and when done.
class Progress {
 public:
  explicit Progress(const ProgressFn& user) : user_(user) {}
  void Update(const std::string& file, int64_t done, int64_t total, bool final) {
    if (user_) {
      user_(file, done, total);
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    auto& last = last_[file];
    // Small files get their "done" line only; large ones an update every half second.
    if (!final && (total < (1 << 20) || now - last < std::chrono::milliseconds(500))) return;
    last = now;
    const double mb = static_cast<double>(done) / 1e6;
    if (total > 0)
      std::fprintf(stderr, "  %-40s %5.1f%%  %9.1f / %.1f MB%s\n", file.c_str(),
                   100.0 * static_cast<double>(done) / static_cast<double>(total), mb,
                   static_cast<double>(total) / 1e6, final ? "  done" : "");
    else
      std::fprintf(stderr, "  %-40s %9.1f MB%s\n", file.c_str(), mb, final ? "  done" : "");
  }

 private:
  const ProgressFn& user_;
  std::mutex mu_;
  std::map<std::string, std::chrono::steady_clock::time_point> last_;
};

struct Puller {
  const HubEnv& env;
  const RepoRef& ref;
  std::string commit;
  fs::path repo_dir;
  Progress progress;

  HttpRequest Request(const std::string& url) const {
    HttpRequest r;
    r.url = url;
    r.token = env.token;
    return r;
  }

  std::string ResolveUrl(const std::string& file) const {
    return env.endpoint + "/" + ref.repo_id + "/resolve/" + commit + "/" + Escape(file, true);
  }

  // Downloads `file` into blobs/ (unless there) and links snapshots/<commit>/<file> to it.
  Status Fetch(const std::string& file) {
    HttpRequest head = Request(ResolveUrl(file));
    head.follow_redirects = false;
    MBERT_ASSIGN_OR_RETURN(HttpResponse h, Head(head));
    // A relative redirect is the Hub's own (a renamed repo): follow it; an absolute one is the
    // LFS storage, whose URL the GET follows below.
    for (int hops = 0;
         hops < 5 && h.status >= 300 && h.status < 400 && h.headers.count("location") &&
         h.headers["location"].rfind("/", 0) == 0 && !h.headers.count("x-linked-etag");
         ++hops) {
      head.url = env.endpoint + h.headers["location"];
      MBERT_ASSIGN_OR_RETURN(h, Head(head));
    }
    if (h.status >= 400) return HttpError(h, ref, file);
    const std::string etag = NormalizeEtag(
        h.headers.count("x-linked-etag") ? h.headers["x-linked-etag"] : h.headers["etag"]);
    if (etag.empty() || etag.find('/') != std::string::npos || etag.find("..") != std::string::npos)
      return Status::Error(ResolveUrl(file) + ": the server sent no usable ETag");
    // A redirect's own Content-Length describes the redirect, not the file (huggingface_hub
    // reads only X-Linked-Size there).
    const bool redirect = h.status >= 300 && h.status < 400;
    const std::string size_header = h.headers.count("x-linked-size") ? h.headers["x-linked-size"]
                                    : redirect                       ? std::string()
                                                                     : h.headers["content-length"];
    const int64_t size = size_header.empty() ? -1 : std::strtoll(size_header.c_str(), nullptr, 10);
    if (h.headers.count("x-repo-commit") && h.headers["x-repo-commit"] != commit)
      return Status::Error(ResolveUrl(file) + ": the server answered for commit " +
                           h.headers["x-repo-commit"] + ", not " + commit);

    const fs::path blob = repo_dir / "blobs" / etag;
    const fs::path pointer = repo_dir / "snapshots" / commit / file;
    std::error_code ec;
    fs::create_directories(blob.parent_path(), ec);
    fs::create_directories(pointer.parent_path(), ec);
    {
      BlobLock lock(fs::path(env.cache_dir) / ".locks" / ref.folder_name() / (etag + ".lock"));
      if (!fs::exists(blob, ec)) MBERT_RETURN_IF_ERROR(Download(file, etag, size, blob));
    }
    progress.Update(file, size, size, true);
    // snapshots/<commit>/<file> -> ../../blobs/<etag> (one more ../ per directory level).
    const fs::path target = fs::relative(blob, pointer.parent_path(), ec);
    fs::remove(pointer, ec);
    fs::create_symlink(target, pointer, ec);
    if (ec) return Status::Error("linking " + pointer.string() + ": " + ec.message());
    return Status::Ok();
  }

  Status Download(const std::string& file, const std::string& etag, int64_t size,
                  const fs::path& blob) {
    const fs::path part = blob.string() + ".incomplete";
    std::error_code ec;
    int64_t offset = fs::exists(part, ec) ? static_cast<int64_t>(fs::file_size(part, ec)) : 0;
    if (size >= 0 && offset > size) {
      fs::remove(part, ec);
      offset = 0;
    }
    if (size < 0 || offset < size) {
      auto r = GetToFile(Request(ResolveUrl(file)), part.string(), offset,
                         [&](int64_t done, int64_t total) {
                           progress.Update(file, done, total > 0 ? total : size, false);
                         });
      if (!r.ok()) return r.status().Wrap(file);
      if (r->status >= 400) return HttpError(r.value(), ref, file);
    }
    const int64_t got = static_cast<int64_t>(fs::file_size(part, ec));
    if (size >= 0 && got != size)
      return Status::Error(file + ": received " + std::to_string(got) + " of " +
                           std::to_string(size) + " bytes; run the same command again to resume");
    // LFS files are named by their SHA-256, git files by their blob SHA-1: check before use.
    Result<std::string> digest = Status::Error("");
    if (etag.size() == 64 && IsHex(etag)) digest = Sha256File(part.string());
    if (etag.size() == 40 && IsHex(etag)) digest = GitBlobSha1File(part.string());
    if (digest.ok() && digest.value() != etag) {
      fs::remove(part, ec);
      return Status::Error(file + ": the downloaded bytes do not match the Hub's checksum (" +
                           etag + ", got " + digest.value() +
                           "); the corrupt download was deleted, run the command again");
    }
    fs::rename(part, blob, ec);
    if (ec) return Status::Error("moving " + part.string() + " into place: " + ec.message());
    return Status::Ok();
  }
};

std::set<std::string> Siblings(const nlohmann::json& info) {
  std::set<std::string> out;
  if (auto it = info.find("siblings"); it != info.end() && it->is_array())
    for (const auto& s : *it)
      if (s.is_object() && s.contains("rfilename") && s["rfilename"].is_string())
        out.insert(s["rfilename"].get<std::string>());
  return out;
}

// Through ReadJsonFile: regular files only (never blocks on a FIFO), bounded size, errors that
// name the file and the byte.
Result<nlohmann::json> ReadJson(const fs::path& p) { return ReadJsonFile(p.string()); }

// A path from a repo's own JSON (modules.json, the shard index) must stay inside the snapshot.
bool SafeRelativePath(const std::string& p) {
  if (p.empty() || p.front() == '/' || p.find('\\') != std::string::npos) return false;
  for (const auto& part : fs::path(p))
    if (part == "..") return false;
  return true;
}

// The cache directory tag huggingface_hub writes (https://bford.info/cachedir/), so backup tools
// skip the cache.
void WriteCacheDirTag(const std::string& cache_dir) {
  const fs::path tag = fs::path(cache_dir) / "CACHEDIR.TAG";
  std::error_code ec;
  if (fs::exists(tag, ec)) return;
  fs::create_directories(cache_dir, ec);
  std::ofstream out(tag);
  out << "Signature: 8a477f597d28d172789f06886806bc55\n"
         "# This file is a cache directory tag created by huggingface_hub.\n"
         "# For information about cache directory tags, see:\n"
         "#\thttps://bford.info/cachedir/\n";
}

}  // namespace

Result<std::string> Pull(const HubEnv& env, const RepoRef& ref, const ProgressFn& progress) {
  if (env.offline)
    return Status::Error("cannot download " + ref.ToString() + ": HF_HUB_OFFLINE is set");
  Puller p{env, ref, "", fs::path(env.cache_dir) / ref.folder_name(), Progress(progress)};
  const std::string info_url =
      env.endpoint + "/api/models/" + ref.repo_id + "/revision/" + Escape(ref.revision, false);
  MBERT_ASSIGN_OR_RETURN(HttpResponse r, GetString(p.Request(info_url)));
  if (r.status >= 400) return HttpError(r, ref, "revision info");
  nlohmann::json info = nlohmann::json::parse(r.body, nullptr, false);
  if (info.is_discarded() || !info.is_object() || !info.contains("sha") || !info["sha"].is_string())
    return Status::Error(info_url + ": not a model revision answer (no \"sha\")");
  p.commit = info["sha"].get<std::string>();
  if (p.commit.size() != 40 || !IsHex(p.commit))
    return Status::Error(info_url + ": \"sha\" is not a commit hash");
  const std::set<std::string> files = Siblings(info);
  if (!files.count("config.json"))
    return Status::Error(ref.ToString() + " has no config.json: not a transformers model");
  WriteCacheDirTag(env.cache_dir);
  std::fprintf(stderr, "pulling %s (commit %s) into %s\n", ref.ToString().c_str(), p.commit.c_str(),
               p.repo_dir.c_str());

  for (const char* f : kWanted)
    if (files.count(f)) MBERT_RETURN_IF_ERROR(p.Fetch(f));
  const fs::path snap = p.repo_dir / "snapshots" / p.commit;
  std::vector<std::string> weights;
  if (files.count("model.safetensors")) {
    weights.push_back("model.safetensors");
  } else if (files.count("model.safetensors.index.json")) {
    MBERT_RETURN_IF_ERROR(p.Fetch("model.safetensors.index.json"));
    MBERT_ASSIGN_OR_RETURN(nlohmann::json index, ReadJson(snap / "model.safetensors.index.json"));
    std::set<std::string> shards;
    if (index.contains("weight_map") && index["weight_map"].is_object())
      for (const auto& [k, v] : index["weight_map"].items())
        if (v.is_string()) shards.insert(v.get<std::string>());
    for (const std::string& s : shards) {
      if (!SafeRelativePath(s) || !files.count(s))
        return Status::Error(ref.ToString() + ": the shard index names '" + s +
                             "', which the repo does not hold");
      weights.push_back(s);
    }
  } else {
    return Status::Error(ref.ToString() +
                         " has no model.safetensors (or sharded index): mbert "
                         "reads safetensors weights only");
  }
  // sentence-transformers modules: every file under each module's folder.
  if (files.count("modules.json")) {
    MBERT_ASSIGN_OR_RETURN(nlohmann::json modules, ReadJson(snap / "modules.json"));
    if (modules.is_array())
      for (const auto& m : modules) {
        if (!m.is_object() || !m.contains("path") || !m["path"].is_string()) continue;
        const std::string dir = m["path"].get<std::string>();
        if (dir.empty() || !SafeRelativePath(dir)) continue;
        for (const std::string& f : files)
          if (f.rfind(dir + "/", 0) == 0) MBERT_RETURN_IF_ERROR(p.Fetch(f));
      }
  }
  // Weights (shards) in parallel: up to 4 at once.
  std::atomic<size_t> next{0};
  std::vector<Status> results(weights.size());
  std::vector<std::thread> workers;
  const size_t n_workers = std::min<size_t>(4, weights.size());
  for (size_t w = 0; w < n_workers; ++w)
    workers.emplace_back([&] {
      for (size_t i = next++; i < weights.size(); i = next++) results[i] = p.Fetch(weights[i]);
    });
  for (auto& t : workers) t.join();
  for (const Status& st : results) MBERT_RETURN_IF_ERROR(st);

  if (!ref.revision_is_commit()) {
    const fs::path refs = p.repo_dir / "refs" / ref.revision;
    std::error_code ec;
    fs::create_directories(refs.parent_path(), ec);
    std::ofstream out(refs, std::ios::trunc);
    out << p.commit;  // no trailing newline, as huggingface_hub writes it
    if (!out) return Status::Error("writing " + refs.string() + " failed");
  }
  return snap.string();
}

}  // namespace mbert::hub
