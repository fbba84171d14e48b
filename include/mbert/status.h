// Status and Result<T>: how errors caused by the environment or user input (missing file, corrupt
// safetensors, bad config field, invalid UTF-8, ...) travel up to the CLI/server boundary.
// Broken internal invariants use MBERT_CHECK (core/check.h) instead. The library never calls
// exit().
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace mbert {

class Status {
 public:
  Status() = default;  // OK
  static Status Ok() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message), true); }

  bool ok() const { return !failed_; }
  const std::string& message() const { return message_; }

  // Prepends context ("loading model dir X: ") to an error; OK stays OK.
  Status Wrap(const std::string& context) const {
    return failed_ ? Error(context + ": " + message_) : *this;
  }

 private:
  Status(std::string message, bool failed) : message_(std::move(message)), failed_(failed) {}
  std::string message_;
  bool failed_ = false;
};

template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design, like absl::StatusOr
  Result(Status status) : status_(std::move(status)) {}  // NOLINT
  bool ok() const { return status_.ok() && value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace mbert

#define MBERT_CONCAT_INNER(a, b) a##b
#define MBERT_CONCAT(a, b) MBERT_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if `expr` (a Status) failed.
#define MBERT_RETURN_IF_ERROR(expr)        \
  do {                                     \
    ::mbert::Status mbert_st_ = (expr);    \
    if (!mbert_st_.ok()) return mbert_st_; \
  } while (0)

// `MBERT_ASSIGN_OR_RETURN(auto x, MakeX());` unwraps a Result<T> or returns its Status.
#define MBERT_ASSIGN_OR_RETURN(lhs, rexpr) \
  MBERT_ASSIGN_OR_RETURN_IMPL(MBERT_CONCAT(mbert_res_, __LINE__), lhs, rexpr)
#define MBERT_ASSIGN_OR_RETURN_IMPL(res, lhs, rexpr) \
  auto res = (rexpr);                                \
  if (!res.ok()) return res.status();                \
  lhs = std::move(res).value()
