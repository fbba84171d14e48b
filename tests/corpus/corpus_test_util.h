// Helpers shared by the corpus tests: temporary directories, small source trees, file bytes.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace mbert::corpus::testing {

namespace fs = std::filesystem;

inline std::string SharedDir() {
  const char* d = std::getenv("MBERT_SHARED_DIR");
  return d ? d : "../shared";
}
inline std::string TokenizerPath() { return SharedDir() + "/data/modernbert-base/tokenizer.json"; }

// A fresh directory named after the running test.
inline fs::path TempDir(const std::string& tag = "") {
  fs::path d = fs::temp_directory_path() /
               ("mbert_corpus_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name() + tag);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

inline void WriteText(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}

inline std::string ReadText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// The first `bytes` of a shared corpus file, cut at a paragraph break.
inline std::string SharedCorpusPrefix(const std::string& name, size_t bytes) {
  std::string s = ReadText(SharedDir() + "/data/corpora/" + name);
  if (s.size() > bytes) {
    const size_t cut = s.rfind("\n\n", bytes);
    s.resize(cut == std::string::npos ? bytes : cut);
  }
  return s;
}

}  // namespace mbert::corpus::testing
