// MBERT_CHECK: a broken internal invariant (a bug in mbert, not bad user input) aborts with
// file:line and a message. User input errors are reported with Status (include/mbert/status.h).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace mbert::detail {
template <typename... Args>
[[noreturn]] void CheckFailed(const char* file, int line, const char* cond, const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  std::fprintf(stderr, "%s:%d: MBERT_CHECK(%s) failed: %s\n", file, line, cond, os.str().c_str());
  std::abort();
}
}  // namespace mbert::detail

#define MBERT_CHECK(cond, ...)                                                        \
  do {                                                                                \
    if (!(cond)) ::mbert::detail::CheckFailed(__FILE__, __LINE__, #cond, ##__VA_ARGS__); \
  } while (0)
