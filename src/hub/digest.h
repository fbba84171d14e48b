// File digests the Hub's ETags name: SHA-256 of the content (LFS files) and git's blob SHA-1
// (sha1("blob <size>\0" + content), regular files). OpenSSL (Debian libssl-dev) computes them.
#pragma once

#include <string>

#include "mbert/status.h"

namespace mbert::hub {

// Lower-case hex digests of the file at `path`.
Result<std::string> Sha256File(const std::string& path);
Result<std::string> GitBlobSha1File(const std::string& path);

}  // namespace mbert::hub
