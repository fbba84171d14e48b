#include "core/thread_limit.h"

#include <algorithm>
#include <thread>

namespace mbert {

int MaxThreads() {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(64, 8 * cores);
}

Status CheckThreadCount(int64_t threads, const std::string& what) {
  if (threads >= 0 && threads <= MaxThreads()) return Status::Ok();
  return Status::Error(what + " must be in [0, " + std::to_string(MaxThreads()) +
                       "] (0 = all cores; at most 8 per core), got " + std::to_string(threads));
}

}  // namespace mbert
