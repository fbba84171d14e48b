#include "serve/prepare.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "serve/api_error.h"
#include "tasks/model_impl.h"

namespace mbert::serve {

namespace {

std::string InputName(size_t i) { return "input " + std::to_string(i); }

[[noreturn]] void TooLong(size_t i, size_t n, int64_t limit) {
  throw ApiError(413, kValidation,
                 InputName(i) + " has " + std::to_string(n) + " tokens, more than the limit of " +
                     std::to_string(limit) +
                     " (max input tokens); shorten it or send \"truncate\": true");
}

// Special-token ids: the tokenizer's when there is one, else the config's.
std::pair<int32_t, int32_t> ClsSep(const Model& model) {
  if (const Tokenizer* t = model.tokenizer()) return {t->cls_id(), t->sep_id()};
  const ModelConfig& c = model.impl().encoder.config();
  return {c.cls_token_id, c.sep_token_id};
}

}  // namespace

std::vector<int32_t> TruncateIds(const std::vector<int32_t>& ids, size_t limit, Side side,
                                 int32_t cls_id, int32_t sep_id) {
  if (ids.size() <= limit) return ids;
  const size_t head = (limit >= 2 && ids.front() == cls_id) ? 1 : 0;
  const size_t tail = (limit >= head + 2 && ids.back() == sep_id) ? 1 : 0;
  const size_t keep = limit - head - tail;
  std::vector<int32_t> out;
  out.reserve(limit);
  if (head) out.push_back(ids.front());
  const auto body_begin = ids.begin() + static_cast<std::ptrdiff_t>(head);
  const auto body_end = ids.end() - static_cast<std::ptrdiff_t>(tail);
  if (side == Side::kRight)
    out.insert(out.end(), body_begin, body_begin + static_cast<std::ptrdiff_t>(keep));
  else
    out.insert(out.end(), body_end - static_cast<std::ptrdiff_t>(keep), body_end);
  if (tail) out.push_back(ids.back());
  return out;
}

Truncation ParseTruncation(const Json& j) {
  Truncation t;
  t.enabled = OptionalBool(j, "truncate").value_or(false);
  if (auto dir = OptionalString(j, "truncation_direction")) {
    // TEI spells them "Right"/"Left"; accept any case.
    std::string d = *dir;
    std::transform(d.begin(), d.end(), d.begin(), [](unsigned char c) { return std::tolower(c); });
    if (d == "left")
      t.side = Side::kLeft;
    else if (d != "right")
      throw ApiError(422, kValidation,
                     "`truncation_direction` must be \"right\" or \"left\", got \"" + *dir + "\"");
  }
  return t;
}

PreparedInputs PrepareInputs(const ServedModel& m, const std::vector<RawInput>& inputs,
                             const Truncation& truncation) {
  const Model& model = *m.model;
  const Tokenizer* tokenizer = model.tokenizer();
  const int64_t limit = m.max_input_tokens;
  const int64_t vocab = model.info().vocab_size;
  PreparedInputs out;
  out.seqs.resize(inputs.size());

  // Texts: encoded untruncated first so that a too-long input is seen (and refused unless
  // truncation is on); single-threaded, since many handler threads encode at once.
  std::vector<TextPair> texts;
  std::vector<size_t> text_index;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const RawInput& in = inputs[i];
    if (in.is_ids) continue;
    if (tokenizer == nullptr)
      throw ApiError(422, kTokenizer,
                     "model `" + m.name + "` has no tokenizer (tokenizer.json); send token ids");
    texts.push_back(in.text_pair ? TextPair(in.text, *in.text_pair) : TextPair(in.text));
    text_index.push_back(i);
  }
  if (!texts.empty()) {
    std::vector<Result<Encoding>> enc = tokenizer->EncodeBatch(texts, EncodeOptions{}, 1);
    for (size_t k = 0; k < enc.size(); ++k) {
      const size_t i = text_index[k];
      if (!enc[k].ok())
        throw ApiError(422, kTokenizer, InputName(i) + ": " + enc[k].status().message());
      std::vector<int32_t> ids = std::move(enc[k].value().ids);
      if (static_cast<int64_t>(ids.size()) > limit) {
        if (!truncation.enabled) TooLong(i, ids.size(), limit);
        // The tokenizer's own truncation, as mbert::Tokenize does it: the template's specials
        // ([CLS] ... [SEP] [SEP]) survive and longest-first shortens pairs.
        EncodeOptions opts;
        opts.truncation.enabled = true;
        opts.truncation.max_length = static_cast<size_t>(limit);
        opts.truncation.side = truncation.side;
        Result<Encoding> t = texts[k].has_pair
                                 ? tokenizer->EncodePair(texts[k].text, texts[k].text_pair, opts)
                                 : tokenizer->Encode(texts[k].text, opts);
        if (!t.ok()) throw ApiError(422, kTokenizer, InputName(i) + ": " + t.status().message());
        ids = std::move(t.value().ids);
      }
      if (ids.empty()) throw ApiError(422, kEmpty, InputName(i) + " has no tokens");
      out.seqs[i] = std::move(ids);
    }
  }
  const auto [cls_id, sep_id] = ClsSep(model);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const RawInput& in = inputs[i];
    if (in.is_ids) {
      if (static_cast<int64_t>(in.ids.size()) > limit) {
        if (!truncation.enabled) TooLong(i, in.ids.size(), limit);
        out.seqs[i] =
            TruncateIds(in.ids, static_cast<size_t>(limit), truncation.side, cls_id, sep_id);
      } else {
        out.seqs[i] = in.ids;
      }
    }
    for (int32_t id : out.seqs[i]) {
      // A tokenizer can know more ids than the model's embedding has rows.
      if (id < 0 || id >= vocab)
        throw ApiError(422, in.is_ids ? kValidation : kTokenizer,
                       InputName(i) + " has token id " + std::to_string(id) +
                           ", outside the vocabulary [0, " + std::to_string(vocab) + ")");
    }
    out.tokens += static_cast<int64_t>(out.seqs[i].size());
  }
  return out;
}

}  // namespace mbert::serve
