// Document keys for dropping duplicates and for the validation split.
//
// Near-duplicate method: an exact match of a normalised text. The key is FNV-1a 64 of the text
// after normalisation: ASCII letters lower-cased, ASCII punctuation removed, every run of
// whitespace (and of removed punctuation) read as one space, leading and trailing space trimmed;
// bytes >= 0x80 are kept as they are. It catches copies that differ only in case, spacing,
// line wrapping or punctuation (the same licence header re-wrapped, a paragraph quoted twice).
// It does not catch documents that differ by a word (that would need MinHash/shingles; not done).
// 64 bits: the chance of any false match among 10^8 documents is ~3e-4.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mbert::corpus {

inline constexpr const char* kDedupMethod =
    "exact FNV-1a 64 of normalised text (ASCII lower-cased, ASCII punctuation dropped, whitespace "
    "runs collapsed, trimmed); first occurrence kept, in source then file order";

std::string NormaliseForDedup(std::string_view text);
uint64_t DedupKey(std::string_view text);  // FNV-1a 64 of NormaliseForDedup(text)
uint64_t Fnv1a64Bytes(const void* data, size_t n);
// True when the text has no non-whitespace character.
bool IsBlank(std::string_view text);
// SplitMix64 finaliser: a well-mixed 64-bit function of x.
uint64_t Mix64(uint64_t x);
// The validation split: a document is held out iff Mix64(key ^ Mix64(seed)) / 2^64 < fraction, so
// the choice depends only on the document's normalised text and the seed, never on its position,
// the thread count or the other documents.
bool InValidation(uint64_t key, uint64_t seed, double fraction);

}  // namespace mbert::corpus
