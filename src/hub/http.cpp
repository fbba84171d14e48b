#include "hub/http.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace mbert::hub {

namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  HttpResponse* resp = nullptr;
  std::string* body = nullptr;
  int64_t max_body = 0;
  std::FILE* file = nullptr;
  int write_errno = 0;
  int64_t offset = 0;  // bytes already on disk
  const ByteProgress* progress = nullptr;
  int64_t written = 0;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * n);
  // A new status line starts a new response (redirects): keep only the last one's headers.
  if (line.rfind("HTTP/", 0) == 0) {
    t->resp->headers.clear();
    const size_t sp = line.find(' ');
    const long code = sp == std::string::npos ? 0 : std::strtol(line.c_str() + sp + 1, nullptr, 10);
    if (code == 200 && t->offset > 0 && t->file != nullptr) {
      // The server ignored the range and sends the whole file: start it again from byte 0.
      std::fflush(t->file);
      if (ftruncate(fileno(t->file), 0) != 0 || std::fseek(t->file, 0, SEEK_SET) != 0)
        t->write_errno = errno;
      t->offset = 0;
    }
  }
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon), value = line.substr(colon + 1);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.pop_back();
    t->resp->headers[name] = value;
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * n;
  if (t->body != nullptr) {
    if (static_cast<int64_t>(t->body->size() + bytes) > t->max_body) return 0;
    t->body->append(data, bytes);
    return bytes;
  }
  if (t->file == nullptr) return 0;
  if (std::fwrite(data, 1, bytes, t->file) != bytes) {
    t->write_errno = errno;
    return 0;
  }
  t->written += static_cast<int64_t>(bytes);
  return bytes;
}

int OnProgress(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->progress != nullptr && *t->progress)
    (*t->progress)(t->offset + dlnow, dltotal > 0 ? t->offset + dltotal : 0);
  return 0;
}

Result<HttpResponse> Perform(const HttpRequest& req, bool head, Transfer* t) {
  GlobalInit();
  CURL* c = curl_easy_init();
  if (c == nullptr) return Status::Error("libcurl could not start a transfer");
  HttpResponse resp;
  t->resp = &resp;
  curl_slist* headers = nullptr;
  if (!req.token.empty())
    headers = curl_slist_append(headers, ("Authorization: Bearer " + req.token).c_str());
  // Sizes and ETags must describe the stored bytes, not a compressed transfer.
  headers = curl_slist_append(headers, "Accept-Encoding: identity");
  headers = curl_slist_append(headers, "User-Agent: mbert/0.1");
  std::string range;
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, req.follow_redirects ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, req.connect_timeout_s);
  if (req.timeout_s > 0) curl_easy_setopt(c, CURLOPT_TIMEOUT, req.timeout_s);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, req.stall_timeout_s);
  if (head) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  if (t->offset > 0) {
    range = std::to_string(t->offset) + "-";
    curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  }
  if (t->progress != nullptr) {
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, t);
  }
  const CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  char* eff = nullptr;
  if (curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff != nullptr)
    resp.url = eff;
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  if (rc == CURLE_WRITE_ERROR && t->write_errno != 0)
    return Status::Error(std::string("writing the download failed: ") +
                         std::strerror(t->write_errno) +
                         (t->write_errno == ENOSPC ? " (free some disk space and retry)" : ""));
  if (rc == CURLE_WRITE_ERROR && t->body != nullptr)
    return Status::Error(req.url + ": the answer is larger than " + std::to_string(t->max_body) +
                         " bytes");
  if (rc != CURLE_OK)
    return Status::Error("could not download " + req.url + ": " + curl_easy_strerror(rc) +
                         "; check the network and retry (a partial download resumes)");
  return resp;
}

}  // namespace

Result<HttpResponse> Head(const HttpRequest& req) {
  Transfer t;
  return Perform(req, /*head=*/true, &t);
}

Result<HttpResponse> GetString(const HttpRequest& req, int64_t max_bytes) {
  Transfer t;
  std::string body;
  t.body = &body;
  t.max_body = max_bytes;
  auto r = Perform(req, /*head=*/false, &t);
  if (r.ok()) r->body = std::move(body);
  return r;
}

Result<HttpResponse> GetToFile(const HttpRequest& req, const std::string& path, int64_t offset,
                               const ByteProgress& progress) {
  Transfer t;
  t.offset = offset;
  t.progress = &progress;
  t.file = std::fopen(path.c_str(), offset > 0 ? "ab" : "wb");
  if (t.file == nullptr) return Status::Error("cannot write " + path + ": " + std::strerror(errno));
  auto r = Perform(req, /*head=*/false, &t);
  if (std::fclose(t.file) != 0 && r.ok())
    return Status::Error("writing " + path + " failed: " + std::strerror(errno));
  return r;
}

}  // namespace mbert::hub
