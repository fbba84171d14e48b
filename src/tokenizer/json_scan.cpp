#include "tokenizer/json_scan.h"

#include "tokenizer/utf8.h"

namespace mbert::tok {
namespace {

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool JsonScanner::String(std::string* out) {
  SkipWs();
  if (i_ >= s_.size() || s_[i_] != '"') return false;
  ++i_;
  out->clear();
  while (true) {
    // Copy the run of plain characters in one go.
    size_t j = i_;
    while (j < s_.size() && s_[j] != '"' && s_[j] != '\\' &&
           static_cast<unsigned char>(s_[j]) >= 0x20)
      ++j;
    out->append(s_.data() + i_, j - i_);
    i_ = j;
    if (i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '"') {
      ++i_;
      return true;
    }
    if (c != '\\') return false;  // raw control character
    if (i_ + 1 >= s_.size()) return false;
    const char e = s_[i_ + 1];
    i_ += 2;
    switch (e) {
      case '"':
        out->push_back('"');
        break;
      case '\\':
        out->push_back('\\');
        break;
      case '/':
        out->push_back('/');
        break;
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'u': {
        auto hex4 = [&](uint32_t* v) {
          if (i_ + 4 > s_.size()) return false;
          *v = 0;
          for (int k = 0; k < 4; ++k) {
            const int h = Hex(s_[i_ + static_cast<size_t>(k)]);
            if (h < 0) return false;
            *v = (*v << 4) | static_cast<uint32_t>(h);
          }
          i_ += 4;
          return true;
        };
        uint32_t cp;
        if (!hex4(&cp)) return false;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t lo;
          if (i_ + 2 > s_.size() || s_[i_] != '\\' || s_[i_ + 1] != 'u') return false;
          i_ += 2;
          if (!hex4(&lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return false;  // lone low surrogate: not a character
        }
        AppendUtf8(cp, out);
        break;
      }
      default:
        return false;
    }
  }
}

bool JsonScanner::Integer(int64_t* v) {
  SkipWs();
  bool neg = false;
  if (i_ < s_.size() && s_[i_] == '-') {
    neg = true;
    ++i_;
  }
  const size_t start = i_;
  int64_t x = 0;
  while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
    if (x > (int64_t{1} << 40)) return false;  // far beyond any id
    x = x * 10 + (s_[i_] - '0');
    ++i_;
  }
  if (i_ == start) return false;
  if (i_ < s_.size() && (s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E')) return false;
  *v = neg ? -x : x;
  return true;
}

bool JsonScanner::SkipValue(int depth) {
  if (depth > 200) return false;
  SkipWs();
  if (i_ >= s_.size()) return false;
  const char c = s_[i_];
  if (c == '"') {
    std::string tmp;
    return String(&tmp);
  }
  if (c == '{' || c == '[') {
    const char close = c == '{' ? '}' : ']';
    ++i_;
    if (Consume(close)) return true;
    while (true) {
      if (c == '{') {
        std::string key;
        if (!String(&key) || !Consume(':')) return false;
      }
      if (!SkipValue(depth + 1)) return false;
      if (Consume(',')) continue;
      return Consume(close);
    }
  }
  // number or literal: the characters that may form one, validated by nlohmann if ever used
  const size_t start = i_;
  while (i_ < s_.size()) {
    const char d = s_[i_];
    if ((d >= '0' && d <= '9') || d == '-' || d == '+' || d == '.' || d == 'e' || d == 'E' ||
        (d >= 'a' && d <= 'z'))
      ++i_;
    else
      break;
  }
  const std::string_view tok = s_.substr(start, i_ - start);
  if (tok == "true" || tok == "false" || tok == "null") return true;
  if (tok.empty() || !(tok[0] == '-' || (tok[0] >= '0' && tok[0] <= '9'))) return false;
  for (char d : tok)
    if (d >= 'a' && d <= 'z' && d != 'e') return false;
  return true;
}

}  // namespace mbert::tok
