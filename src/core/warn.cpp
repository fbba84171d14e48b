#include "core/warn.h"

#include <cstdio>
#include <mutex>

namespace mbert {

namespace {

std::mutex& Mu() {
  static std::mutex mu;
  return mu;
}

std::function<void(const std::string&)>& Handler() {
  static std::function<void(const std::string&)> h;
  return h;
}

}  // namespace

void Warn(const std::string& message) {
  std::lock_guard<std::mutex> lock(Mu());
  if (Handler()) {
    Handler()(message);
    return;
  }
  std::fprintf(stderr, "warning: %s\n", message.c_str());
}

std::function<void(const std::string&)> SetWarningHandler(
    std::function<void(const std::string&)> handler) {
  std::lock_guard<std::mutex> lock(Mu());
  std::swap(Handler(), handler);
  return handler;
}

}  // namespace mbert
