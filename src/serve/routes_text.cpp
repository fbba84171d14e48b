// Tokenizer and masked-LM routes: TEI's POST /tokenize and POST /decode (the tokenizer alone,
// no queue), and mbert's POST /fill-mask (transformers' fill-mask pipeline shape).
#include <algorithm>

#include "serve/api_error.h"
#include "serve/json_writer.h"
#include "serve/prepare.h"
#include "serve/routes.h"

namespace mbert::serve {

namespace {

const Tokenizer& NeedTokenizer(const ServedModel& m) {
  const Tokenizer* t = m.model->tokenizer();
  if (t == nullptr)
    throw ApiError(422, kTokenizer, "model `" + m.name + "` has no tokenizer (tokenizer.json)");
  return *t;
}

// Byte offset of every code point of valid UTF-8 `s`, plus s.size() at the end, so that the
// tokenizer's code-point offsets can cut the input.
std::vector<size_t> CodePointStarts(const std::string& s) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  starts.push_back(s.size());
  return starts;
}

Json Candidate(const MaskCandidate& c) {
  return {{"score", ShortDouble(c.score)},
          {"token", c.token},
          {"token_str", c.token_str},
          {"sequence", c.sequence}};
}

}  // namespace

Reply Tokenize(ServerState& s, const std::string& body) {
  const Json j = ParseBody(body);
  const ServedModel& m = s.PickModel(j);
  const Tokenizer& tokenizer = NeedTokenizer(m);
  const ParsedInputs in = ParseInputs(RequiredField(j, "inputs"), "inputs");
  EncodeOptions opts;
  opts.add_special_tokens = OptionalBool(j, "add_special_tokens").value_or(true);
  Json out = Json::array();
  Reply reply;
  for (size_t i = 0; i < in.items.size(); ++i) {
    const RawInput& item = in.items[i];
    if (item.is_ids) throw ApiError(422, kValidation, "`inputs` must be strings");
    Result<Encoding> enc = tokenizer.Encode(item.text, opts);
    if (!enc.ok())
      throw ApiError(422, kTokenizer, "input " + std::to_string(i) + ": " + enc.status().message());
    const Encoding& e = enc.value();
    const std::vector<size_t> starts = CodePointStarts(item.text);
    const size_t points = starts.size() - 1;
    Json tokens = Json::array();
    for (size_t t = 0; t < e.size(); ++t) {
      const bool special = e.special_tokens_mask[t] != 0;
      const size_t begin = std::min<size_t>(e.offsets[t].first, points);
      const size_t end = std::min<size_t>(e.offsets[t].second, points);
      // A special token covers no input text: show the token itself.
      std::string text =
          special ? e.tokens[t] : item.text.substr(starts[begin], starts[end] - starts[begin]);
      tokens.push_back({{"id", e.ids[t]},
                        {"text", std::move(text)},
                        {"special", special},
                        {"start", e.offsets[t].first},
                        {"stop", e.offsets[t].second}});
    }
    reply.tokens += static_cast<int64_t>(e.size());
    out.push_back(std::move(tokens));
  }
  reply.body = out.dump(-1, ' ', false, Json::error_handler_t::replace);
  return reply;
}

Reply Decode(ServerState& s, const std::string& body) {
  const Json j = ParseBody(body);
  const ServedModel& m = s.PickModel(j);
  const Tokenizer& tokenizer = NeedTokenizer(m);
  const std::vector<std::vector<int32_t>> seqs = ParseIdLists(RequiredField(j, "ids"), "ids");
  DecodeOptions opts;
  opts.skip_special_tokens = OptionalBool(j, "skip_special_tokens").value_or(true);
  const int64_t vocab = static_cast<int64_t>(tokenizer.vocab_size());
  Json out = Json::array();
  for (size_t i = 0; i < seqs.size(); ++i) {
    for (int32_t id : seqs[i])
      if (id >= vocab)
        throw ApiError(422, kValidation,
                       "ids[" + std::to_string(i) + "] has token id " + std::to_string(id) +
                           ", outside the vocabulary [0, " + std::to_string(vocab) + ")");
    Result<std::string> text = tokenizer.Decode(seqs[i], opts);
    if (!text.ok()) throw ApiError(422, kTokenizer, text.status().message());
    out.push_back(text.value());
  }
  Reply reply;
  reply.body = out.dump(-1, ' ', false, Json::error_handler_t::replace);
  return reply;
}

Reply FillMask(ServerState& s, const std::string& body) {
  const Json j = ParseBody(body);
  const ServedModel& m = s.PickModel(j);
  const ModelInfo& info = m.model->info();
  if (info.task != ModelTask::kFillMask)
    throw ApiError(
        422, kValidation,
        "/fill-mask needs a ModernBertForMaskedLM model; `" + m.name + "` is " + info.architecture);
  const ParsedInputs in = ParseInputs(RequiredField(j, "inputs"), "inputs");
  TaskParams params;
  params.kind = TaskKind::kFillMask;
  const int64_t top_k = OptionalInt(j, "top_k").value_or(5);
  if (top_k < 1 || top_k > info.vocab_size)
    throw ApiError(422, kValidation,
                   "`top_k` must be between 1 and " + std::to_string(info.vocab_size) + ", got " +
                       std::to_string(top_k));
  params.top_k = static_cast<int>(top_k);
  PreparedInputs p = PrepareInputs(m, in.items, ParseTruncation(j));
  // Checked here so that one request without a mask cannot fail the batch it would join.
  // Without a tokenizer the id is ModernBERT's [MASK], as mbert::FillMask assumes.
  const Tokenizer* tokenizer = m.model->tokenizer();
  const int32_t mask_id = tokenizer ? tokenizer->mask_id() : 50284;
  for (size_t i = 0; i < p.seqs.size(); ++i)
    if (std::find(p.seqs[i].begin(), p.seqs[i].end(), mask_id) == p.seqs[i].end())
      throw ApiError(422, kValidation,
                     "input " + std::to_string(i) + " has no mask token (" +
                         (tokenizer ? tokenizer->IdToToken(mask_id) : "[MASK]") + ")");
  Reply reply;
  const JobResult r = RunJob(s, m, params, std::move(p.seqs), p.tokens, &reply);
  // transformers: one mask -> [candidates]; several masks -> [[candidates] per mask]; a list
  // of inputs -> a list of those.
  Json per_input = Json::array();
  for (const FillMaskResult& res : r.masks) {
    Json masks = Json::array();
    for (const MaskPrediction& pred : res.masks) {
      Json cands = Json::array();
      for (const MaskCandidate& c : pred.candidates) cands.push_back(Candidate(c));
      masks.push_back(std::move(cands));
    }
    per_input.push_back(masks.size() == 1 ? masks[0] : masks);
  }
  const Json out = in.batched ? per_input : per_input[0];
  reply.body = out.dump(-1, ' ', false, Json::error_handler_t::replace);
  return reply;
}

}  // namespace mbert::serve
