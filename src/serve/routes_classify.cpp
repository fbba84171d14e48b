// Sequence-classification routes: TEI's POST /predict (labels with scores) and POST /rerank
// (query-text relevance through a cross-encoder). Both need a
// ModernBertForSequenceClassification model.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "serve/api_error.h"
#include "serve/json_writer.h"
#include "serve/prepare.h"
#include "serve/routes.h"

namespace mbert::serve {

namespace {

void NeedClassifier(const ServedModel& m, const char* route) {
  const ModelInfo& info = m.model->info();
  if (info.task != ModelTask::kSequenceClassification)
    throw ApiError(422, kValidation,
                   std::string(route) + " needs a ModernBertForSequenceClassification model; `" +
                       m.name + "` is " + info.architecture);
}

// [{score, label}] over every label, best first (ties: lower label id first).
Json LabelScores(const SequenceClassification& c, const std::vector<std::string>& labels,
                 bool raw) {
  const std::vector<float>& v = raw ? c.logits : c.scores;
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] > v[b]; });
  Json out = Json::array();
  for (size_t k : order) out.push_back({{"score", ShortDouble(v[k])}, {"label", labels[k]}});
  return out;
}

// Relevance of one (query, text) pair: a 1-label model's sigmoid (raw: its logit); with 2+
// labels the probability of the last label ("relevant" in binary cross-encoders; raw: its
// logit).
float Relevance(const SequenceClassification& c, bool raw) {
  const float logit = c.logits.back();
  if (c.logits.size() == 1) return raw ? logit : 1.0f / (1.0f + std::exp(-logit));
  return raw ? logit : c.scores.back();
}

}  // namespace

Reply Predict(ServerState& s, const std::string& body) {
  const Json j = ParseBody(body);
  const ServedModel& m = s.PickModel(j);
  NeedClassifier(m, "/predict");
  const ParsedInputs in = ParsePredictInputs(RequiredField(j, "inputs"), "inputs");
  const bool raw = OptionalBool(j, "raw_scores").value_or(false);
  TaskParams params;
  params.kind = TaskKind::kClassify;
  PreparedInputs p = PrepareInputs(m, in.items, ParseTruncation(j));
  Reply reply;
  const JobResult r = RunJob(s, m, params, std::move(p.seqs), p.tokens, &reply);
  const std::vector<std::string>& labels = m.model->info().labels;
  Json out;
  if (in.batched) {
    out = Json::array();
    for (const auto& c : r.classes) out.push_back(LabelScores(c, labels, raw));
  } else {
    out = LabelScores(r.classes.front(), labels, raw);
  }
  reply.body = out.dump(-1, ' ', false, Json::error_handler_t::replace);
  return reply;
}

Reply Rerank(ServerState& s, const std::string& body) {
  const Json j = ParseBody(body);
  const ServedModel& m = s.PickModel(j);
  NeedClassifier(m, "/rerank");
  const Json& query = RequiredField(j, "query");
  const ParsedInputs texts = ParseInputs(RequiredField(j, "texts"), "texts");
  if (!texts.batched)
    throw ApiError(422, kValidation, "`texts` must be a list of strings (or of token-id lists)");
  const bool raw = OptionalBool(j, "raw_scores").value_or(false);
  const bool return_text = OptionalBool(j, "return_text").value_or(false);
  // Each (query, text) is one input: a text pair through the tokenizer, or, for token ids,
  // the query's ids followed by the text's, as given (the caller places the specials).
  std::vector<RawInput> pairs;
  if (query.is_string()) {
    const ParsedInputs q = ParseInputs(query, "query");
    for (size_t i = 0; i < texts.items.size(); ++i) {
      if (texts.items[i].is_ids)
        throw ApiError(422, kValidation, "`texts` must be strings when `query` is a string");
      RawInput in;
      in.text = q.items.front().text;
      in.text_pair = texts.items[i].text;
      pairs.push_back(std::move(in));
    }
  } else {
    const ParsedInputs q = ParseInputs(query, "query");
    if (q.batched || !q.items.front().is_ids)
      throw ApiError(422, kValidation, "`query` must be a string or a list of token ids");
    for (size_t i = 0; i < texts.items.size(); ++i) {
      if (!texts.items[i].is_ids)
        throw ApiError(422, kValidation, "`texts` must be token-id lists when `query` is one");
      RawInput in = q.items.front();
      in.ids.insert(in.ids.end(), texts.items[i].ids.begin(), texts.items[i].ids.end());
      pairs.push_back(std::move(in));
    }
  }
  TaskParams params;
  params.kind = TaskKind::kClassify;
  PreparedInputs p = PrepareInputs(m, pairs, ParseTruncation(j));
  Reply reply;
  const JobResult r = RunJob(s, m, params, std::move(p.seqs), p.tokens, &reply);
  std::vector<float> score(r.classes.size());
  for (size_t i = 0; i < score.size(); ++i) score[i] = Relevance(r.classes[i], raw);
  std::vector<size_t> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return score[a] > score[b]; });
  Json out = Json::array();
  for (size_t i : order) {
    Json item = {{"index", i}, {"score", ShortDouble(score[i])}};
    if (return_text && !texts.items[i].is_ids) item["text"] = texts.items[i].text;
    out.push_back(std::move(item));
  }
  reply.body = out.dump(-1, ' ', false, Json::error_handler_t::replace);
  return reply;
}

}  // namespace mbert::serve
