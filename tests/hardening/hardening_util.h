// Helpers of the hardening tests: scratch directories, files, and "the error says X".
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "mbert/status.h"

namespace mbert::hardening {

namespace fs = std::filesystem;

inline std::string SharedDir() {
  const char* d = std::getenv("MBERT_SHARED_DIR");
  return fs::absolute(d ? d : "../shared").lexically_normal().string();
}

inline std::string TestDataDir() {
  const char* d = std::getenv("MBERT_TESTDATA_DIR");
  return fs::absolute(d ? d : "tests/data").lexically_normal().string();
}

// A fresh, empty directory under the temp dir.
inline std::string ScratchDir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("mbert_hardening_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

inline void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The status is an error whose message contains every one of `parts`.
template <typename S>
::testing::AssertionResult FailsWith(const S& s, std::initializer_list<std::string> parts) {
  const Status& st = [&]() -> const Status& {
    if constexpr (std::is_same_v<S, Status>)
      return s;
    else
      return s.status();
  }();
  if (st.ok()) return ::testing::AssertionFailure() << "succeeded, expected an error";
  for (const std::string& p : parts)
    if (st.message().find(p) == std::string::npos)
      return ::testing::AssertionFailure() << "message lacks '" << p << "': " << st.message();
  return ::testing::AssertionSuccess();
}

}  // namespace mbert::hardening
