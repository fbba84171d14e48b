// Decoding: ids -> tokens (added tokens first, as HF simple_id_to_token) -> ByteLevel decoder
// (each character back to its byte; a token with any character outside the byte alphabet, such
// as the space-run added tokens, contributes its own UTF-8 bytes) -> Rust from_utf8_lossy.
#include "mbert/tokenizer.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/model.h"
#include "tokenizer/utf8.h"

namespace mbert {
namespace {

void ReplaceAll(std::string* s, std::string_view from, std::string_view to) {
  std::string out;
  size_t i = 0;
  while (true) {
    const size_t j = s->find(from, i);
    if (j == std::string::npos) break;
    out.append(*s, i, j - i);
    out.append(to);
    i = j + from.size();
  }
  if (i == 0) return;
  out.append(*s, i, std::string::npos);
  *s = std::move(out);
}

// transformers' PreTrainedTokenizerBase.clean_up_tokenization, same replacements, same order.
void CleanUpTokenization(std::string* s) {
  static const std::pair<const char*, const char*> kRules[] = {
      {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kRules) ReplaceAll(s, from, to);
}

}  // namespace

Result<std::string> Tokenizer::Decode(const std::vector<int32_t>& ids,
                                      const DecodeOptions& opts) const {
  const tok::ByteLevelTable& bl = tok::ByteLevel();
  std::string bytes;
  std::string joined;  // without a ByteLevel decoder HF joins tokens with spaces
  bool first = true;
  for (int32_t id : ids) {
    std::string_view token;
    bool special = false;
    const auto it = m_->added_by_id.find(id);
    if (it != m_->added_by_id.end()) {
      const tok::AddedToken& a = m_->added[static_cast<size_t>(it->second)];
      token = a.content;
      special = a.special;
    } else if (m_->bpe.HasId(id)) {
      token = m_->bpe.IdToToken(id);
    } else {
      continue;  // HF drops ids it cannot map
    }
    if (special && opts.skip_special_tokens) continue;
    if (!m_->byte_level_decoder) {
      if (!first) joined.push_back(' ');
      joined += token;
      first = false;
      continue;
    }
    const size_t mark = bytes.size();
    bool all_mapped = true;
    for (size_t i = 0; i < token.size();) {
      int len;
      const int b = bl.CpToByte(tok::DecodeAt(token, i, &len));
      if (b < 0) {
        all_mapped = false;
        break;
      }
      bytes.push_back(static_cast<char>(b));
      i += static_cast<size_t>(len);
    }
    if (!all_mapped) {
      bytes.resize(mark);
      bytes += token;
    }
  }
  std::string text = m_->byte_level_decoder ? tok::Utf8Lossy(bytes) : joined;
  if (opts.clean_up_tokenization_spaces) CleanUpTokenization(&text);
  return text;
}

}  // namespace mbert
