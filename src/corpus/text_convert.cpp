#include "corpus/text_convert.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>
#include <vector>

namespace mbert::corpus {

namespace {

std::string Lower(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

// Position of `needle` (lower case) in `hay` at or after `from`, ignoring ASCII case; npos if none.
size_t FindCaseless(std::string_view hay, std::string_view needle, size_t from) {
  for (size_t i = from; i + needle.size() <= hay.size(); ++i) {
    size_t k = 0;
    while (k < needle.size() && std::tolower(static_cast<unsigned char>(hay[i + k])) == needle[k])
      ++k;
    if (k == needle.size()) return i;
  }
  return std::string_view::npos;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Decodes the entity starting at text[i] == '&'; returns the bytes consumed (0 if not one).
size_t DecodeEntity(std::string_view text, size_t i, std::string* out) {
  const size_t semi = text.find(';', i);
  if (semi == std::string_view::npos || semi - i > 12) return 0;
  const std::string_view name = text.substr(i + 1, semi - i - 1);
  if (name.size() >= 2 && name[0] == '#') {
    uint32_t cp = 0;
    const bool hex = name[1] == 'x' || name[1] == 'X';
    const std::string_view digits = name.substr(hex ? 2 : 1);
    if (digits.empty() || digits.size() > 7) return 0;
    for (char c : digits) {
      const int d = std::isdigit(static_cast<unsigned char>(c))
                        ? c - '0'
                        : (hex && std::isxdigit(static_cast<unsigned char>(c))
                               ? std::tolower(static_cast<unsigned char>(c)) - 'a' + 10
                               : -1);
      if (d < 0) return 0;
      cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(d);
    }
    AppendUtf8(cp, out);
    return semi - i + 1;
  }
  static const std::pair<std::string_view, uint32_t> kNamed[] = {
      {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}, {"nbsp", ' '}};
  for (const auto& [n, cp] : kNamed)
    if (name == n) {
      AppendUtf8(cp, out);
      return semi - i + 1;
    }
  return 0;
}

// Collapses horizontal whitespace (outside preformatted lines marked with '\x01'), trims lines and
// blank-line runs.
std::string Tidy(const std::string& raw) {
  std::string out;
  size_t pos = 0;
  int blank = 1;  // no blank lines at the start
  while (pos <= raw.size()) {
    size_t nl = raw.find('\n', pos);
    if (nl == std::string::npos) nl = raw.size();
    std::string_view line(raw.data() + pos, nl - pos);
    std::string cleaned;
    if (!line.empty() && line[0] == '\x01') {
      cleaned.assign(line.substr(1));
      while (!cleaned.empty() && (cleaned.back() == ' ' || cleaned.back() == '\t'))
        cleaned.pop_back();
    } else {
      bool space = false;
      for (char c : line) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
          space = !cleaned.empty();
        } else {
          if (space) cleaned.push_back(' ');
          space = false;
          cleaned.push_back(c);
        }
      }
    }
    if (cleaned.empty()) {
      if (blank == 0) out.push_back('\n');
      blank = 1;
    } else {
      out += cleaned;
      out.push_back('\n');
      blank = 0;
    }
    pos = nl + 1;
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace

std::string HtmlToText(std::string_view html) {
  static const std::set<std::string> kLine = {
      "br", "div", "li",  "tr",     "table",  "ul",      "ol",   "dl",    "dd",     "dt",     "td",
      "th", "hr",  "nav", "header", "footer", "article", "main", "aside", "figure", "caption"};
  static const std::set<std::string> kParagraph = {"p",  "pre", "h1", "h2",      "h3",
                                                   "h4", "h5",  "h6", "section", "blockquote"};
  static const std::set<std::string> kSkip = {"script", "style", "head", "noscript", "svg"};
  std::string raw;
  int pre = 0;
  bool line_start = true;
  size_t i = 0;
  // A line break (n = 1) or a paragraph break (n = 2), not stacked on breaks already there.
  auto newline = [&](int n) {
    int have = 0;
    while (have < static_cast<int>(raw.size()) && raw[raw.size() - 1 - have] == '\n') ++have;
    if (!raw.empty())
      for (int k = have; k < n; ++k) raw.push_back('\n');
    line_start = true;
  };
  while (i < html.size()) {
    const char c = html[i];
    if (c == '<') {
      if (html.substr(i, 4) == "<!--") {
        const size_t end = html.find("-->", i + 4);
        i = end == std::string_view::npos ? html.size() : end + 3;
        continue;
      }
      const size_t end = html.find('>', i + 1);
      if (end == std::string_view::npos) break;  // an unterminated tag ends the text
      std::string_view tag = html.substr(i + 1, end - i - 1);
      const bool closing = !tag.empty() && tag[0] == '/';
      if (closing) tag.remove_prefix(1);
      size_t n = 0;
      while (n < tag.size() && (std::isalnum(static_cast<unsigned char>(tag[n])) != 0)) ++n;
      const std::string name = Lower(tag.substr(0, n));
      i = end + 1;
      if (!closing && kSkip.count(name)) {
        const size_t close = FindCaseless(html, "</" + name, i);
        const size_t gt = close == std::string_view::npos ? close : html.find('>', close);
        i = gt == std::string_view::npos ? html.size() : gt + 1;
        continue;
      }
      if (name == "pre") pre = closing ? std::max(0, pre - 1) : pre + 1;
      if (kParagraph.count(name)) {
        newline(2);
      } else if (kLine.count(name)) {
        newline(1);
      }
      continue;
    }
    if (line_start && pre > 0) raw.push_back('\x01');  // Tidy keeps this line's spacing
    line_start = false;
    if (c == '&') {
      const size_t used = DecodeEntity(html, i, &raw);
      if (used > 0) {
        i += used;
        continue;
      }
    }
    if (c == '\n') {
      if (pre > 0) {
        newline(1);
      } else {
        raw.push_back(' ');
      }
    } else {
      raw.push_back(c);
    }
    ++i;
  }
  return Tidy(raw);
}

namespace {

bool IsAdornment(std::string_view line) {
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
  if (line.size() < 3) return false;
  const char c = line[0];
  if (std::isalnum(static_cast<unsigned char>(c)) || c == ' ' ||
      !std::ispunct(static_cast<unsigned char>(c)))
    return false;
  return std::all_of(line.begin(), line.end(), [c](char x) { return x == c; });
}

// Inline markup of one line.
std::string RstInline(std::string_view s) {
  std::string o;
  size_t i = 0;
  while (i < s.size()) {
    // :role:`text` -> text
    if (s[i] == ':' && i + 1 < s.size()) {
      size_t j = i + 1;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '-' ||
                              s[j] == '_' || s[j] == ':' || s[j] == '.'))
        ++j;
      if (j > i + 1 && j < s.size() && s[j] == '`' && s[j - 1] == ':') {
        i = j;  // continue at the backquote; the text is handled below
        continue;
      }
    }
    if (s.substr(i, 2) == "``") {
      const size_t end = s.find("``", i + 2);
      if (end != std::string_view::npos) {
        o += s.substr(i + 2, end - i - 2);
        i = end + 2;
        continue;
      }
    }
    if (s[i] == '`') {
      const size_t end = s.find('`', i + 1);
      if (end != std::string_view::npos) {
        std::string_view inner = s.substr(i + 1, end - i - 1);
        // "title <target>" -> title
        const size_t lt = inner.rfind('<');
        if (lt != std::string_view::npos && inner.ends_with(">")) {
          inner = inner.substr(0, lt);
          while (!inner.empty() && inner.back() == ' ') inner.remove_suffix(1);
        }
        if (!inner.empty() && inner[0] == '~') inner.remove_prefix(1);
        o += inner;
        i = end + 1;
        while (i < s.size() && s[i] == '_') ++i;
        continue;
      }
    }
    if (s.substr(i, 2) == "**") {
      i += 2;
      continue;
    }
    if (s[i] == '*' && i + 1 < s.size() && s[i + 1] != ' ' && (i == 0 || s[i - 1] == ' ')) {
      ++i;
      continue;
    }
    if (s[i] == '*' && i > 0 && s[i - 1] != ' ' &&
        (i + 1 == s.size() || !std::isalnum(static_cast<unsigned char>(s[i + 1])))) {
      ++i;
      continue;
    }
    // word_ (a reference) -> word
    if (s[i] == '_' && i > 0 && std::isalnum(static_cast<unsigned char>(s[i - 1])) &&
        (i + 1 == s.size() || s[i + 1] == ' ' ||
         std::ispunct(static_cast<unsigned char>(s[i + 1])))) {
      ++i;
      continue;
    }
    o.push_back(s[i]);
    ++i;
  }
  return o;
}

size_t Indent(std::string_view line) {
  size_t n = 0;
  while (n < line.size() && line[n] == ' ') ++n;
  return n;
}

}  // namespace

std::string RstToText(std::string_view rst) {
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos <= rst.size();) {
    size_t nl = rst.find('\n', pos);
    if (nl == std::string_view::npos) nl = rst.size();
    std::string_view l = rst.substr(pos, nl - pos);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    lines.push_back(l);
    pos = nl + 1;
  }
  std::string raw;
  for (size_t k = 0; k < lines.size(); ++k) {
    std::string_view l = lines[k];
    if (IsAdornment(l)) continue;
    const size_t ind = Indent(l);
    std::string_view body = l.substr(ind);
    if (body.starts_with("..") && (body.size() == 2 || body[2] == ' ')) {
      const bool directive = body.find("::") != std::string_view::npos;
      // Skip the option lines (":name: value") that follow, indented deeper.
      size_t m = k + 1;
      while (m < lines.size() && Indent(lines[m]) > ind &&
             lines[m].substr(Indent(lines[m])).starts_with(":"))
        ++m;
      if (!directive) {
        // A comment or target: its indented continuation goes too.
        while (m < lines.size() && (lines[m].empty() || Indent(lines[m]) > ind)) {
          if (lines[m].empty() && (m + 1 >= lines.size() || Indent(lines[m + 1]) <= ind)) break;
          ++m;
        }
      }
      k = m - 1;
      continue;
    }
    // A line ending in "::" introduces a literal block: keep the text, drop one colon.
    std::string text = RstInline(l);
    if (text.ends_with("::")) text.pop_back();
    raw += text;
    raw.push_back('\n');
  }
  // Keep indentation of code: mark indented lines as preformatted for Tidy.
  std::string marked;
  for (size_t pos = 0; pos < raw.size();) {
    size_t nl = raw.find('\n', pos);
    if (nl == std::string::npos) nl = raw.size();
    std::string_view l(raw.data() + pos, nl - pos);
    if (!l.empty() && l[0] == ' ') marked.push_back('\x01');
    marked += l;
    marked.push_back('\n');
    pos = nl + 1;
  }
  return Tidy(marked);
}

}  // namespace mbert::corpus
