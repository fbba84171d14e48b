// EncodeInputs: inputs to the token ids the model runs on, with the input-length rule of
// ContextOptions (max_length, truncate): a longer input is an error unless truncation is on, and
// every truncation is reported (Context::truncated), never silent.
#include <algorithm>
#include <string>

#include "tasks/model_impl.h"
#include "tasks/run.h"

namespace mbert::tasks {

namespace {

Status TooLong(const Context& ctx, size_t i, size_t n, int64_t limit) {
  return Status::Error(InputName(ctx, i) + " has " + std::to_string(n) +
                       " tokens, more than the limit of " + std::to_string(limit) +
                       " (the model's maximum or max_length); shorten it or turn truncation on "
                       "(--truncate, ContextOptions::truncate)");
}

}  // namespace

int64_t InputNumber(const Context& ctx, size_t i) {
  return ctx.options().input_offset + static_cast<int64_t>(i) + 1;
}

std::string InputName(const Context& ctx, size_t i) {
  return "input " + std::to_string(InputNumber(ctx, i));
}

int64_t InputLimit(const Context& ctx) {
  const int64_t model_max = ctx.model().info().max_position_embeddings;
  const int64_t max_length = ctx.options().max_length;
  return max_length > 0 ? std::min(max_length, model_max) : model_max;
}

std::vector<int32_t> TruncateIds(const std::vector<int32_t>& ids, size_t limit, int32_t cls_id,
                                 int32_t sep_id) {
  if (ids.size() <= limit) return ids;
  // The specials at the ends stay where the model expects them ([CLS] first, [SEP] last), as
  // the tokenizer's own truncation keeps the template's; the body loses its end.
  const size_t head = (limit >= 2 && ids.front() == cls_id) ? 1 : 0;
  const size_t tail = (limit >= head + 2 && ids.back() == sep_id) ? 1 : 0;
  std::vector<int32_t> out(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(limit - tail));
  if (tail) out.push_back(ids.back());
  return out;
}

Result<std::vector<std::vector<int32_t>>> EncodeInputs(const Context& ctx,
                                                       const std::vector<Input>& inputs,
                                                       std::vector<Encoding>* encodings) {
  const ModelInfo& info = ctx.model().info();
  const Tokenizer* tokenizer = ctx.model().tokenizer();
  const ModelConfig& config = ctx.model().impl().encoder.config();
  const int64_t limit = InputLimit(ctx);
  const bool truncate = ctx.options().truncate;
  std::vector<TruncatedInput>& truncated = ctx.impl().truncated;
  truncated.clear();
  std::vector<std::vector<int32_t>> out(inputs.size());
  if (encodings) encodings->assign(inputs.size(), Encoding{});
  std::vector<TextPair> texts;
  std::vector<size_t> text_index;
  const int32_t cls_id = tokenizer ? tokenizer->cls_id() : config.cls_token_id;
  const int32_t sep_id = tokenizer ? tokenizer->sep_id() : config.sep_token_id;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Input& in = inputs[i];
    if (in.is_ids) {
      if (static_cast<int64_t>(in.ids.size()) > limit) {
        if (!truncate) return TooLong(ctx, i, in.ids.size(), limit);
        out[i] = TruncateIds(in.ids, static_cast<size_t>(limit), cls_id, sep_id);
        truncated.push_back(
            {i, static_cast<int64_t>(in.ids.size()), static_cast<int64_t>(out[i].size())});
      } else {
        out[i] = in.ids;
      }
      if (encodings) (*encodings)[i].ids = out[i];
      continue;
    }
    if (tokenizer == nullptr)
      return Status::Error(InputName(ctx, i) + " is text but " + info.path +
                           " has no tokenizer.json; add one or pass token ids");
    texts.push_back(in.text_pair ? TextPair(in.text, *in.text_pair) : TextPair(in.text));
    text_index.push_back(i);
  }
  if (!texts.empty()) {
    // Untruncated first, so that a longer input is seen: refused, or encoded again with the
    // tokenizer's truncation (it keeps the template's specials and shortens pairs longest-first).
    std::vector<Result<Encoding>> enc = tokenizer->EncodeBatch(texts, EncodeOptions{});
    EncodeOptions cut;
    cut.truncation.enabled = true;
    cut.truncation.max_length = static_cast<size_t>(limit);
    for (size_t k = 0; k < enc.size(); ++k) {
      const size_t i = text_index[k];
      if (!enc[k].ok()) return enc[k].status().Wrap(InputName(ctx, i));
      const size_t n = enc[k].value().ids.size();
      if (static_cast<int64_t>(n) > limit) {
        if (!truncate) return TooLong(ctx, i, n, limit);
        enc[k] = texts[k].has_pair ? tokenizer->EncodePair(texts[k].text, texts[k].text_pair, cut)
                                   : tokenizer->Encode(texts[k].text, cut);
        if (!enc[k].ok()) return enc[k].status().Wrap(InputName(ctx, i));
        truncated.push_back(
            {i, static_cast<int64_t>(n), static_cast<int64_t>(enc[k].value().ids.size())});
      }
      out[i] = enc[k].value().ids;
      if (encodings) (*encodings)[i] = std::move(enc[k]).value();
    }
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].empty()) return Status::Error(InputName(ctx, i) + " has no tokens");
  }
  // Ids and texts were seen in two passes: the report is in input order.
  std::sort(truncated.begin(), truncated.end(),
            [](const TruncatedInput& a, const TruncatedInput& b) { return a.input < b.input; });
  return out;
}

}  // namespace mbert::tasks
