// libFuzzer: encoding arbitrary bytes with ModernBERT's real tokenizer.json never crashes; invalid
// UTF-8 is an error, valid input satisfies the Encoding invariants and decodes.
// The first byte picks options (pair split, truncation, padding); the rest is the text.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "mbert/tokenizer.h"
#include "tokenizer/utf8.h"

namespace {

const mbert::Tokenizer& Tok() {
  static const mbert::Tokenizer* t = [] {
    const char* env = std::getenv("MBERT_TOKENIZER_JSON");
    auto r = mbert::Tokenizer::FromFile(env ? env : MBERT_FUZZ_TOKENIZER_JSON);
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().message().c_str());
      std::abort();
    }
    return new mbert::Tokenizer(std::move(r).value());
  }();
  return *t;
}

void Check(bool c, const char* what) {
  if (!c) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const mbert::Tokenizer& tok = Tok();
  const uint8_t sel = data[0];
  const std::string_view all(reinterpret_cast<const char*>(data + 1), size - 1);
  mbert::EncodeOptions o;
  o.add_special_tokens = sel & 1;
  o.truncation.enabled = sel & 2;
  o.truncation.max_length = (sel >> 4) + 1;
  o.truncation.strategy = static_cast<mbert::TruncationStrategy>((sel >> 2) % 3);
  o.truncation.side = (sel & 0x40) ? mbert::Side::kLeft : mbert::Side::kRight;
  o.padding.enabled = sel & 0x80;
  o.padding.length = sel >> 3;
  o.padding.multiple_of = (sel & 0x20) ? 8 : 0;
  const bool pair = (sel & 0x0C) == 0x0C;
  std::string_view a = all, b;
  if (pair) {
    a = all.substr(0, all.size() / 2);
    b = all.substr(all.size() / 2);
  }
  auto r = pair ? tok.EncodePair(a, b, o) : tok.Encode(a, o);
  const bool valid = mbert::tok::FindInvalidUtf8(a) == std::string_view::npos &&
                     (!pair || mbert::tok::FindInvalidUtf8(b) == std::string_view::npos);
  if (!valid) {
    Check(!r.ok(), "invalid UTF-8 accepted");
    return 0;
  }
  if (!r.ok()) return 0;  // e.g. a sequence too short for only_first truncation
  const mbert::Encoding& e = r.value();
  const size_t n = e.ids.size();
  Check(e.tokens.size() == n && e.offsets.size() == n && e.type_ids.size() == n &&
            e.special_tokens_mask.size() == n && e.attention_mask.size() == n && e.sequence_ids.size() == n,
        "field sizes");
  const size_t ca = CodePoints(a), cb = CodePoints(b);
  for (size_t i = 0; i < n; ++i) {
    Check(e.ids[i] >= 0 && static_cast<size_t>(e.ids[i]) < tok.vocab_size(), "id range");
    Check(e.offsets[i].first <= e.offsets[i].second, "offset order");
    Check(e.offsets[i].second <= (e.sequence_ids[i] == 1 ? cb : ca), "offset beyond text");
  }
  if (o.truncation.enabled && !o.padding.enabled) Check(n <= o.truncation.max_length, "truncation");
  auto d = tok.Decode(e.ids);
  Check(d.ok(), "decode failed");
  Check(mbert::tok::FindInvalidUtf8(d.value()) == std::string_view::npos, "decode gave invalid UTF-8");
  return 0;
}
