// Helpers shared by the training tests: the shared data directory and prefixes of its corpora.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace mbert::train_testing {

// ../shared (or $MBERT_SHARED_DIR, which ctest sets), absolute.
inline std::string SharedDir() {
  const char* d = std::getenv("MBERT_SHARED_DIR");
  return std::filesystem::absolute(d ? d : "../shared").lexically_normal().string();
}

// The first `bytes` bytes of a file (fewer if it is shorter).
inline std::string ReadPrefix(const std::string& path, size_t bytes) {
  std::ifstream in(path, std::ios::binary);
  std::string s(bytes, '\0');
  in.read(s.data(), static_cast<std::streamsize>(bytes));
  s.resize(static_cast<size_t>(in.gcount()));
  return s;
}

}  // namespace mbert::train_testing
