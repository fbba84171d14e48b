// Turning a request's inputs into the token ids a job carries: text through the model's
// tokenizer (with [CLS] ... [SEP]), ids as given; every id checked against the vocabulary and
// every sequence against the server's input limit (413, or truncation when asked for).
// Runs on the HTTP handler threads, so the model's worker never tokenizes.
#pragma once

#include <cstdint>
#include <vector>

#include "mbert/tokenizer.h"
#include "serve/json_requests.h"
#include "serve/state.h"

namespace mbert::serve {

struct Truncation {
  bool enabled = false;      // false: a too-long input is 413
  Side side = Side::kRight;  // which end loses tokens
};

struct PreparedInputs {
  std::vector<std::vector<int32_t>> seqs;
  int64_t tokens = 0;
};

// `truncate` (default false) and `truncation_direction` ("right" default, or "left"; any case,
// as TEI spells them "Right"/"Left") of a TEI request.
Truncation ParseTruncation(const Json& body);

PreparedInputs PrepareInputs(const ServedModel& m, const std::vector<RawInput>& inputs,
                             const Truncation& truncation);

// Truncation of id inputs to `limit` tokens: a leading [CLS] and a closing [SEP] survive, the
// tokens between them are cut on `side`.
std::vector<int32_t> TruncateIds(const std::vector<int32_t>& ids, size_t limit, Side side,
                                 int32_t cls_id, int32_t sep_id);

}  // namespace mbert::serve
