// ApiError: a request the server refuses, with its HTTP status and TEI error type. Validation
// code deep inside request parsing throws it; the one place that turns handlers into responses
// (server.cpp) catches it and renders it in the route's error shape: TEI's
// {"error": msg, "error_type": type} or, on /v1/*, OpenAI's {"error": {"message", "type", "code"}}.
#pragma once

#include <exception>
#include <string>

namespace mbert::serve {

// TEI's error types.
inline constexpr const char* kValidation = "validation";
inline constexpr const char* kTokenizer = "tokenizer";
inline constexpr const char* kEmpty = "empty";
inline constexpr const char* kOverloaded = "overloaded";
inline constexpr const char* kBackend = "backend";
inline constexpr const char* kUnhealthy = "unhealthy";
inline constexpr const char* kAuth = "auth";
inline constexpr const char* kNotFound = "not_found";

class ApiError : public std::exception {
 public:
  ApiError(int status, std::string type, std::string message)
      : status_(status), type_(std::move(type)), message_(std::move(message)) {}
  int status() const { return status_; }
  const std::string& type() const { return type_; }
  const char* what() const noexcept override { return message_.c_str(); }
  const std::string& message() const { return message_; }

 private:
  int status_;
  std::string type_;
  std::string message_;
};

// The response body for an error: TEI's shape, or OpenAI's when `openai` (routes under /v1/).
std::string ErrorBody(const std::string& type, const std::string& message, bool openai);

// The TEI error type that goes with an HTTP status the server itself produces (404, 413, ...).
const char* ErrorTypeForStatus(int status);

}  // namespace mbert::serve
