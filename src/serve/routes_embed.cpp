// Embedding routes: OpenAI's POST /v1/embeddings (and /embeddings), TEI's POST /embed (one
// pooled vector per input) and POST /embed_all (every token's last hidden state).
#include "serve/api_error.h"
#include "serve/base64.h"
#include "serve/json_writer.h"
#include "serve/prepare.h"
#include "serve/routes.h"

namespace mbert::serve {

namespace {

// Matryoshka `dimensions`: 0 (all) when absent, else within [1, the model's embedding size].
int ParseDims(const Json& j, const ServedModel& m) {
  const std::optional<int64_t> dims = OptionalInt(j, "dimensions");
  if (!dims) return 0;
  const int64_t full = m.model->info().embedding_dim;
  if (*dims < 1 || *dims > full)
    throw ApiError(422, kValidation,
                   "`dimensions` must be between 1 and " + std::to_string(full) + " for model `" +
                       m.name + "`, got " + std::to_string(*dims));
  return static_cast<int>(*dims);
}

}  // namespace

Reply OpenAiEmbeddings(ServerState& s, const std::string& body) {
  const Json j = ParseBody(body);
  const ServedModel& m = s.PickModel(j);
  const ParsedInputs in = ParseInputs(RequiredField(j, "input"), "input");
  const std::string format = OptionalString(j, "encoding_format").value_or("float");
  if (format != "float" && format != "base64")
    throw ApiError(422, kValidation,
                   "`encoding_format` must be \"float\" or \"base64\", got \"" + format + "\"");
  TaskParams params;
  params.kind = TaskKind::kEmbed;
  params.dims = ParseDims(j, m);  // normalised afterwards when the model normalises
  PreparedInputs p = PrepareInputs(m, in.items, Truncation{});
  Reply reply;
  const JobResult r = RunJob(s, m, params, std::move(p.seqs), p.tokens, &reply);
  const Matrix& e = r.embeddings;
  std::string& out = reply.body;
  out.append(R"({"object":"list","data":[)");
  for (int64_t i = 0; i < e.rows; ++i) {
    if (i) out += ',';
    out += R"({"object":"embedding","embedding":)";
    if (format == "base64")
      out.append(1, '"').append(Base64Floats(e.row(i), e.dim)).append(1, '"');
    else
      AppendFloatArray(e.row(i), e.dim, &out);
    out += R"(,"index":)" + std::to_string(i) + "}";
  }
  out += R"(],"model":)" + JsonString(m.name) + R"(,"usage":{"prompt_tokens":)" +
         std::to_string(p.tokens) + R"(,"total_tokens":)" + std::to_string(p.tokens) + "}}";
  return reply;
}

Reply Embed(ServerState& s, const std::string& body) {
  const Json j = ParseBody(body);
  const ServedModel& m = s.PickModel(j);
  const ParsedInputs in = ParseInputs(RequiredField(j, "inputs"), "inputs");
  TaskParams params;
  params.kind = TaskKind::kEmbed;
  params.normalize = OptionalBool(j, "normalize").value_or(true);
  params.dims = ParseDims(j, m);
  PreparedInputs p = PrepareInputs(m, in.items, ParseTruncation(j));
  Reply reply;
  const JobResult r = RunJob(s, m, params, std::move(p.seqs), p.tokens, &reply);
  // [[f32]]: one row per input, also for a single string.
  std::string& out = reply.body;
  out.push_back('[');  // (append, not assign: GCC 12 -Wrestrict false positive)
  for (int64_t i = 0; i < r.embeddings.rows; ++i) {
    if (i) out += ',';
    AppendFloatArray(r.embeddings.row(i), r.embeddings.dim, &out);
  }
  out += "]";
  return reply;
}

Reply EmbedAll(ServerState& s, const std::string& body) {
  const Json j = ParseBody(body);
  const ServedModel& m = s.PickModel(j);
  const ParsedInputs in = ParseInputs(RequiredField(j, "inputs"), "inputs");
  TaskParams params;
  params.kind = TaskKind::kHiddenStates;
  PreparedInputs p = PrepareInputs(m, in.items, ParseTruncation(j));
  Reply reply;
  const JobResult r = RunJob(s, m, params, std::move(p.seqs), p.tokens, &reply);
  // [[[f32]]]: per input, per token, the last hidden state (C values).
  std::string& out = reply.body;
  out.push_back('[');  // (append, not assign: GCC 12 -Wrestrict false positive)
  for (size_t i = 0; i < r.hidden.size(); ++i) {
    if (i) out += ',';
    out += '[';
    const Matrix& h = r.hidden[i];
    for (int64_t t = 0; t < h.rows; ++t) {
      if (t) out += ',';
      AppendFloatArray(h.row(t), h.dim, &out);
    }
    out += ']';
  }
  out += "]";
  return reply;
}

}  // namespace mbert::serve
