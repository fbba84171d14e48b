// The layer map of design.md §1, checked on every #include of the source tree:
//   core -> ops -> model / tokenizer / batch / hub / data / eval / corpus / plot -> train / tasks
//   -> capi
//   -> tools, bench
// and src/corpus/ uses only core/ and tokenizer/ (CorpusUsesOnlyCoreAndTokenizer below), src/plot/
// only core/ (PlotUsesOnlyCore).
// A file may include headers of its own layer or lower ones, never higher. Public headers
// (include/mbert/) sit with the layer that implements them and include only other public headers
// and standard headers: no src/ header, no third-party library.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

std::string SourceDir() {
  const char* d = std::getenv("MBERT_SOURCE_DIR");
  return d ? d : ".";
}

// Rank of a repository-relative path (src/ops/cpu/gemm.h, include/mbert/model.h, tools/...);
// nullopt for paths outside the map (tests, fuzz).
std::optional<int> Rank(const std::string& path) {
  static const std::vector<std::pair<std::string, int>> kRanks = {{"include/mbert/status.h", 0},
                                                                  {"include/mbert/types.h", 0},
                                                                  {"include/mbert/tokenizer.h", 2},
                                                                  {"include/mbert/model.h", 3},
                                                                  {"include/mbert/context.h", 3},
                                                                  {"include/mbert/tasks.h", 3},
                                                                  {"include/mbert/mbert.h", 4},
                                                                  {"src/core/", 0},
                                                                  {"src/ops/", 1},
                                                                  {"src/model/", 2},
                                                                  {"src/tokenizer/", 2},
                                                                  {"src/batch/", 2},
                                                                  {"src/data/", 2},
                                                                  {"src/eval/", 2},
                                                                  {"src/corpus/", 2},
                                                                  {"src/plot/", 2},
                                                                  {"src/train/", 3},
                                                                  {"src/tasks/", 3},
                                                                  {"src/capi/", 4},
                                                                  {"src/serve/", 4},
                                                                  {"tools/", 5},
                                                                  {"bench/", 5}};
  for (const auto& [prefix, rank] : kRanks)
    if (path.rfind(prefix, 0) == 0) return rank;
  return std::nullopt;
}

// The repository path a quoted include names: "mbert/x.h" is public, "<layer>/x.h" lives in src/,
// anything else is relative to the including file (same directory, same layer).
std::string Resolve(const std::string& from, const std::string& included) {
  if (included.rfind("mbert/", 0) == 0) return "include/" + included;
  const std::string first = included.substr(0, included.find('/'));
  static const std::set<std::string> kLayers = {"core", "ops",   "model",  "tokenizer", "batch",
                                                "hub",  "train", "tasks",  "capi",      "serve",
                                                "data", "eval",  "corpus", "plot"};
  if (included.find('/') != std::string::npos && kLayers.count(first)) return "src/" + included;
  return (fs::path(from).parent_path() / included).lexically_normal().string();
}

struct Violation {
  std::string file, include, why;
};

// Checks one file's include lines.
std::vector<Violation> Check(const std::string& file, const std::vector<std::string>& lines) {
  static const std::regex kInclude(R"(^\s*#\s*include\s*([<"])([^">]+)[">])");
  static const std::set<std::string> kCHeaders = {"stddef.h", "stdint.h", "stdbool.h"};
  std::vector<Violation> out;
  const std::optional<int> own = Rank(file);
  const bool public_header = file.rfind("include/mbert/", 0) == 0;
  for (const std::string& line : lines) {
    std::smatch m;
    if (!std::regex_search(line, m, kInclude)) continue;
    const std::string inc = m[2];
    if (m[1] == "<") {
      // Standard C++ headers have no extension; a few C headers are allowed in the C API.
      if (public_header && inc.find('.') != std::string::npos && !kCHeaders.count(inc))
        out.push_back({file, inc, "public headers include only standard headers"});
      continue;
    }
    const std::string target = Resolve(file, inc);
    if (public_header && target.rfind("include/mbert/", 0) != 0) {
      out.push_back({file, inc, "public headers include only other public headers"});
      continue;
    }
    const std::optional<int> theirs = Rank(target);
    if (own && theirs && *theirs > *own)
      out.push_back({file, inc,
                     "layer " + std::to_string(*own) + " includes layer " +
                         std::to_string(*theirs) + " (" + target + ")"});
  }
  return out;
}

TEST(Layers, CheckerCatchesViolations) {
  EXPECT_EQ(Check("src/ops/cpu/gemm.cpp", {"#include \"model/encoder.h\""}).size(), 1u);
  EXPECT_EQ(Check("src/core/tensor.h", {"#include \"ops/cpu/gemm.h\""}).size(), 1u);
  EXPECT_EQ(Check("src/model/encoder.h", {"#include \"tasks/run.h\""}).size(), 1u);
  EXPECT_EQ(Check("src/tasks/run.cpp", {"#include \"capi/x.h\""}).size(), 1u);
  EXPECT_EQ(Check("src/model/heads.cpp", {"#include \"mbert/tasks.h\""}).size(), 1u);
  EXPECT_EQ(Check("include/mbert/model.h", {"#include \"model/encoder.h\""}).size(), 1u);
  EXPECT_EQ(Check("include/mbert/model.h", {"#include <nlohmann/json.hpp>"}).size(), 1u);
  EXPECT_EQ(Check("include/mbert/model.h", {"#include <dnnl.h>"}).size(), 1u);
  // Allowed: downward, sideways within a layer, same directory, standard headers.
  EXPECT_TRUE(Check("src/model/encoder.cpp",
                    {"#include \"ops/cpu/gemm.h\"", "#include \"batch/packed_batch.h\"",
                     "#include \"mbert/status.h\"", "#include <vector>"})
                  .empty());
  EXPECT_TRUE(Check("src/tokenizer/bpe.cpp", {"#include \"bpe.h\""}).empty());
  EXPECT_TRUE(Check("include/mbert/mbert.h", {"#include <stdint.h>"}).empty());
  EXPECT_TRUE(Check("tools/mbert/runner.cpp", {"#include \"tasks/run.h\""}).empty());
}

TEST(Layers, SourceTreeKeepsTheMap) {
  const fs::path root = SourceDir();
  int files = 0;
  std::vector<Violation> all;
  for (const char* dir : {"include", "src", "tools", "bench"}) {
    if (!fs::exists(root / dir)) continue;
    for (const auto& e : fs::recursive_directory_iterator(root / dir)) {
      const std::string ext = e.path().extension().string();
      if (!e.is_regular_file() || (ext != ".h" && ext != ".cpp" && ext != ".c" && ext != ".cu"))
        continue;
      std::ifstream in(e.path());
      std::vector<std::string> lines;
      for (std::string l; std::getline(in, l);) lines.push_back(l);
      const std::string rel = fs::relative(e.path(), root).generic_string();
      for (Violation& v : Check(rel, lines)) all.push_back(std::move(v));
      ++files;
    }
  }
  EXPECT_GT(files, 100) << "source tree not found at " << root;
  for (const Violation& v : all)
    ADD_FAILURE() << v.file << ": #include \"" << v.include << "\": " << v.why;
}

// The corpus layer sits beside tokenizer/ but may use only core/ and tokenizer/ (and public
// headers): the trainer, above it, reads shards; the corpus never reaches into model or batch.
TEST(Layers, CorpusUsesOnlyCoreAndTokenizer) {
  const fs::path dir = fs::path(SourceDir()) / "src" / "corpus";
  ASSERT_TRUE(fs::exists(dir)) << dir;
  static const std::regex kInclude(R"re(^\s*#\s*include\s*"([^"]+)")re");
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path());
    ++files;
    for (std::string l; std::getline(in, l);) {
      std::smatch m;
      if (!std::regex_search(l, m, kInclude)) continue;
      const std::string inc = m[1];
      const bool ok = inc.rfind("core/", 0) == 0 || inc.rfind("tokenizer/", 0) == 0 ||
                      inc.rfind("corpus/", 0) == 0 || inc.rfind("mbert/", 0) == 0 ||
                      inc.find('/') == std::string::npos;
      EXPECT_TRUE(ok) << e.path() << ": #include \"" << inc
                      << "\" (corpus may use core/ and tokenizer/ only)";
    }
  }
  EXPECT_GT(files, 0);
}

// The plotting library (`mbert plot`) draws metrics files and needs nothing of the model: it
// stays on core/ so that it builds and tests alone.
TEST(Layers, PlotUsesOnlyCore) {
  const fs::path dir = fs::path(SourceDir()) / "src" / "plot";
  ASSERT_TRUE(fs::exists(dir)) << dir;
  static const std::regex kInclude(R"re(^\s*#\s*include\s*"([^"]+)")re");
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path());
    ++files;
    for (std::string l; std::getline(in, l);) {
      std::smatch m;
      if (!std::regex_search(l, m, kInclude)) continue;
      const std::string inc = m[1];
      const bool ok = inc.rfind("core/", 0) == 0 || inc.rfind("plot/", 0) == 0 ||
                      inc.rfind("mbert/", 0) == 0 || inc.find('/') == std::string::npos;
      EXPECT_TRUE(ok) << e.path() << ": #include \"" << inc << "\" (plot may use core/ only)";
    }
  }
  EXPECT_GT(files, 0);
}

}  // namespace
