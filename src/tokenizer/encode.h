// Encoding of one sequence, before truncation and the post-processor: added tokens, NFC, the
// ByteLevel split, BPE, and offsets mapped back to code points of the original text.
#pragma once

#include <string_view>

#include "mbert/status.h"
#include "mbert/tokenizer.h"
#include "tokenizer/model.h"

namespace mbert::tok {

// Fills ids, tokens and offsets of *out (cleared first); other fields are left empty.
Status EncodeSequence(const Model& m, std::string_view text, Encoding* out);

}  // namespace mbert::tok
