#include "serve/api_error.h"

#include <nlohmann/json.hpp>

namespace mbert::serve {

namespace {

// OpenAI clients branch on `type`; map TEI's finer types onto OpenAI's coarse ones and keep
// TEI's in `code`.
const char* OpenAiType(const std::string& type) {
  if (type == kAuth) return "authentication_error";
  if (type == kOverloaded) return "rate_limit_error";
  if (type == kBackend || type == kUnhealthy) return "server_error";
  return "invalid_request_error";
}

}  // namespace

std::string ErrorBody(const std::string& type, const std::string& message, bool openai) {
  nlohmann::json j;
  if (openai) {
    j["error"] = {{"message", message}, {"type", OpenAiType(type)}, {"code", type}};
  } else {
    j = {{"error", message}, {"error_type", type}};
  }
  // Replace invalid UTF-8 (a message may quote the request) instead of throwing.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

const char* ErrorTypeForStatus(int status) {
  switch (status) {
    case 401:
      return kAuth;
    case 404:
    case 405:
      return kNotFound;
    case 429:
      return kOverloaded;
    case 503:
      return kUnhealthy;
    default:
      return status >= 500 ? kBackend : kValidation;
  }
}

}  // namespace mbert::serve
