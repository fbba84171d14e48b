// A small strict JSON scanner for the two big arrays of tokenizer.json (model.vocab, 50k entries,
// and model.merges, 50k strings): a DOM parse of the 2 MB file costs far more than the 100 ms load
// budget, so the loader walks the file with this scanner, decodes those two directly, and hands
// only the small sections to nlohmann::json. Input must already be valid UTF-8.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mbert::tok {

class JsonScanner {
 public:
  explicit JsonScanner(std::string_view s) : s_(s) {}

  void SkipWs() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t'))
      ++i_;
  }
  // Consumes `c` after whitespace.
  bool Consume(char c) {
    SkipWs();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool Peek(char c) {
    SkipWs();
    return i_ < s_.size() && s_[i_] == c;
  }
  // A JSON string, escapes decoded into *out.
  bool String(std::string* out);
  // A JSON integer (no fraction or exponent).
  bool Integer(int64_t* v);
  // Any JSON value.
  bool SkipValue(int depth = 0);

  size_t pos() const { return i_; }
  std::string_view text() const { return s_; }
  // "byte N: <what>" for the first failure.
  std::string Where(const std::string& what) const {
    return "byte " + std::to_string(i_) + ": " + what;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace mbert::tok
