// Environment, model names and the cache layout (see hub.h).
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "core/file_io.h"
#include "hub/hub.h"

namespace mbert::hub {

namespace fs = std::filesystem;

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

bool Truthy(const std::string& v) {
  std::string l = v;
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  return l == "1" || l == "true" || l == "yes" || l == "on";
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

// refs/<name> files and the token file hold one short line.
constexpr uint64_t kMaxSmallFileBytes = 64 << 10;

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

bool IsHex(const std::string& s, size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Hub repo names: letters, digits, '-', '_', '.', no leading/trailing '-'/'.', no "--" or "..".
bool ValidNamePart(const std::string& p) {
  if (p.empty() || p.size() > 96) return false;
  if (p.front() == '-' || p.front() == '.' || p.back() == '-' || p.back() == '.') return false;
  if (p.find("--") != std::string::npos || p.find("..") != std::string::npos) return false;
  return std::all_of(p.begin(), p.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

}  // namespace

HubEnv HubEnv::FromEnvironment() {
  HubEnv e;
  if (std::string v = Env("HF_ENDPOINT"); !v.empty()) {
    while (!v.empty() && v.back() == '/') v.pop_back();
    e.endpoint = v;
  }
  const std::string home = Env("HOME");
  std::string hf_home = Env("HF_HOME");
  if (hf_home.empty()) {
    const std::string xdg = Env("XDG_CACHE_HOME");
    hf_home = (xdg.empty() ? home + "/.cache" : xdg) + "/huggingface";
  }
  e.cache_dir = Env("HF_HUB_CACHE");
  if (e.cache_dir.empty()) e.cache_dir = Env("HUGGINGFACE_HUB_CACHE");
  if (e.cache_dir.empty()) e.cache_dir = hf_home + "/hub";
  e.offline = Truthy(Env("HF_HUB_OFFLINE"));
  e.token = Env("HF_TOKEN");
  if (e.token.empty()) e.token = Env("HUGGING_FACE_HUB_TOKEN");
  if (e.token.empty()) {
    std::string path = Env("HF_TOKEN_PATH");
    if (path.empty()) path = hf_home + "/token";
    // Through ReadFile: a FIFO or device in its place must not block the process.
    if (FileExists(path)) {
      auto t = ReadFile(path, kMaxSmallFileBytes);
      if (t.ok()) e.token = Trim(FirstLine(t.value()));
    }
  }
  return e;
}

bool RepoRef::revision_is_commit() const { return IsHex(revision, 40); }

std::string RepoRef::folder_name() const {
  std::string f = "models--" + repo_id;
  for (size_t p = f.find('/'); p != std::string::npos; p = f.find('/')) f.replace(p, 1, "--");
  return f;
}

std::string RepoRef::ToString() const { return repo_id + "@" + revision; }

Result<RepoRef> ParseRepoRef(const std::string& s) {
  RepoRef r;
  const size_t at = s.find('@');
  r.repo_id = s.substr(0, at);
  if (at != std::string::npos) {
    r.revision = s.substr(at + 1);
    if (r.revision.empty() || r.revision.size() > 256 || r.revision.find("..") != std::string::npos)
      return Status::Error("model name '" + s +
                           "': the revision after '@' must be a branch, tag "
                           "or commit");
  }
  const size_t slash = r.repo_id.find('/');
  if (slash == std::string::npos || r.repo_id.find('/', slash + 1) != std::string::npos ||
      !ValidNamePart(r.repo_id.substr(0, slash)) || !ValidNamePart(r.repo_id.substr(slash + 1)))
    return Status::Error("'" + s +
                         "' is neither a model directory nor a model name of the form "
                         "org/name[@revision]");
  return r;
}

bool LooksLikeRepoName(const std::string& s) {
  std::error_code ec;
  if (fs::exists(s, ec)) return false;
  return ParseRepoRef(s).ok();
}

Result<std::string> FindInCache(const HubEnv& env, const RepoRef& ref) {
  const fs::path repo = fs::path(env.cache_dir) / ref.folder_name();
  std::error_code ec;
  if (!fs::is_directory(repo, ec))
    return Status::Error(ref.repo_id + " is not in the Hugging Face cache (" + repo.string() + ")");
  std::string commit = ref.revision;
  if (!ref.revision_is_commit()) {
    const fs::path ref_file = repo / "refs" / ref.revision;
    if (!fs::exists(ref_file, ec))
      return Status::Error(ref.ToString() + ": the cache has no revision '" + ref.revision + "' (" +
                           ref_file.string() + ")");
    // A refs file holds one commit hash; anything else (a FIFO, a huge file) is refused unread.
    MBERT_ASSIGN_OR_RETURN(std::string text, ReadFile(ref_file.string(), kMaxSmallFileBytes));
    commit = Trim(FirstLine(text));
    if (!IsHex(commit, 40))
      return Status::Error((repo / "refs" / ref.revision).string() + " does not hold a commit");
  }
  const fs::path snap = repo / "snapshots" / commit;
  if (!fs::exists(snap / "config.json", ec))
    return Status::Error(ref.ToString() + ": the cached snapshot " + snap.string() +
                         " has no config.json");
  return snap.string();
}

Result<std::vector<CachedRepo>> ListCache(const HubEnv& env) {
  std::vector<CachedRepo> out;
  std::error_code ec;
  if (!fs::is_directory(env.cache_dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(env.cache_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory() || name.rfind("models--", 0) != 0) continue;
    CachedRepo r;
    r.path = e.path().string();
    // models--org--name -> org/name (names have no "--" of their own, see ValidNamePart).
    r.repo_id = name.substr(8);
    if (size_t p = r.repo_id.find("--"); p != std::string::npos) r.repo_id.replace(p, 2, "/");
    for (const auto& b : fs::directory_iterator(e.path() / "blobs", ec))
      if (b.is_regular_file()) r.size_on_disk += static_cast<int64_t>(b.file_size());
    std::map<std::string, std::vector<std::string>> refs;
    for (const auto& f : fs::recursive_directory_iterator(e.path() / "refs", ec)) {
      if (!f.is_regular_file()) continue;
      auto text = ReadFile(f.path().string(), kMaxSmallFileBytes);
      if (!text.ok()) continue;  // listing only: an unreadable ref just has no name here
      refs[Trim(FirstLine(text.value()))].push_back(
          f.path().lexically_relative(e.path() / "refs").generic_string());
    }
    for (const auto& s : fs::directory_iterator(e.path() / "snapshots", ec)) {
      CachedRepo::Revision rev;
      rev.commit = s.path().filename().string();
      rev.refs = refs[rev.commit];
      for (const auto& f : fs::recursive_directory_iterator(s.path(), ec))
        if (!f.is_directory())
          rev.files.push_back(f.path().lexically_relative(s.path()).generic_string());
      std::sort(rev.files.begin(), rev.files.end());
      r.revisions.push_back(std::move(rev));
    }
    out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(),
            [](const CachedRepo& a, const CachedRepo& b) { return a.repo_id < b.repo_id; });
  return out;
}

Status RemoveFromCache(const HubEnv& env, const std::string& repo_id) {
  MBERT_ASSIGN_OR_RETURN(RepoRef ref, ParseRepoRef(repo_id));
  const fs::path repo = fs::path(env.cache_dir) / ref.folder_name();
  std::error_code ec;
  if (!fs::is_directory(repo, ec))
    return Status::Error(ref.repo_id + " is not in the cache (" + repo.string() + ")");
  fs::remove_all(repo, ec);
  if (ec) return Status::Error("removing " + repo.string() + ": " + ec.message());
  fs::remove_all(fs::path(env.cache_dir) / ".locks" / ref.folder_name(), ec);
  return Status::Ok();
}

Result<std::string> ResolveModelDir(const std::string& name_or_dir, const ProgressFn& progress) {
  if (!LooksLikeRepoName(name_or_dir)) return name_or_dir;
  MBERT_ASSIGN_OR_RETURN(RepoRef ref, ParseRepoRef(name_or_dir));
  const HubEnv env = HubEnv::FromEnvironment();
  // Errors say both readings: a user may have meant a local directory that is not there.
  const std::string context =
      "'" + name_or_dir + "' is no directory here, so it was taken as a Hugging Face model name";
  auto cached = FindInCache(env, ref);
  if (cached.ok()) return cached;
  if (env.offline)
    return cached.status().Wrap(context +
                                "; HF_HUB_OFFLINE is set, so nothing is downloaded (run `mbert "
                                "pull " +
                                ref.ToString() + "` with network access first)");
  auto pulled = Pull(env, ref, progress);
  if (!pulled.ok()) return pulled.status().Wrap(context);
  return pulled;
}

}  // namespace mbert::hub
