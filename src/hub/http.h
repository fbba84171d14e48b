// The few HTTP calls the Hub client makes, over libcurl (Debian libcurl4-openssl-dev).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "mbert/status.h"

namespace mbert::hub {

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // last response's headers, names lower-cased
  std::string body;                            // GetString only
  std::string url;                             // the URL finally answered (after redirects)
};

struct HttpRequest {
  std::string url;
  std::string token;  // "Authorization: Bearer <token>" when set (never sent on to
                      // another host after a redirect: libcurl's default)
  bool follow_redirects = true;
  long timeout_s = 0;  // whole-transfer limit; 0 none (a stall is caught below)
  long connect_timeout_s = 30;
  long stall_timeout_s = 60;  // abort when under 1 byte/s for this long
};

// HEAD request. A transport failure (DNS, refused, reset, timeout) is an error naming the URL;
// any HTTP status is a response.
Result<HttpResponse> Head(const HttpRequest& req);
// GET into memory (small JSON answers), at most max_bytes.
Result<HttpResponse> GetString(const HttpRequest& req, int64_t max_bytes = 64 << 20);
// GET appended to `path` starting at byte `offset` (a Range request when offset > 0; a server
// that ignores the range answers 200 and the file is rewritten from the start). progress(done,
// total) in bytes of the whole file. A failed write (e.g. disk full) is an error saying so.
using ByteProgress = std::function<void(int64_t done, int64_t total)>;
Result<HttpResponse> GetToFile(const HttpRequest& req, const std::string& path, int64_t offset,
                               const ByteProgress& progress);

}  // namespace mbert::hub
