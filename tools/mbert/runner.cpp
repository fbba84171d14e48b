#include "runner.h"

#include <filesystem>
#include <fstream>
#include <iostream>

#include "core/file_io.h"

namespace mbert::cli {

void AddModelOptions(CLI::App* app, ModelOptions* o) {
  app->add_option("-m,--model", o->model_dir,
                  "HF model directory (default: the built-in tiny test model)");
  app->add_option("-i,--input", o->input, "input file, '-' for stdin (default)");
  app->add_option("--format", o->format, "input format: text (a line each), jsonl, ids");
  app->add_option("--max-length", o->max_length, "truncate inputs to this many tokens");
  app->add_option("--batch-tokens", o->batch_tokens, "tokens per packed forward pass")
      ->check(CLI::PositiveNumber);
  app->add_option("texts", o->texts, "texts to process (instead of --input)");
  app->add_option("--dtype", o->dtype,
                  "weight storage: f32, or bf16 (GEMM weights and embeddings rounded to bf16: "
                  "half the memory, fp32 compute)")
      ->check(CLI::IsMember({"f32", "bf16"}));
}

int ReportError(const Status& st) {
  std::cerr << "error: " << st.message() << "\n";
  return 1;
}

Result<CliModel> LoadCliModel(const ModelOptions& o) {
  const std::string& dir = o.model_dir;
  CliModel m;
  LoadOptions opts;
  MBERT_ASSIGN_OR_RETURN(opts.dtype, ParseWeightDtype(o.dtype));
  MBERT_ASSIGN_OR_RETURN(Model model, Model::Load(dir, opts));
  m.model = std::make_unique<Model>(std::move(model));
  if (FileExists(dir + "/tokenizer.json")) {
    MBERT_ASSIGN_OR_RETURN(Tokenizer t, Tokenizer::FromModelDir(dir));
    m.tokenizer = std::move(t);
  }
  return m;
}

Result<std::vector<InputRecord>> ReadRecords(const ModelOptions& o) {
  MBERT_ASSIGN_OR_RETURN(InputFormat format, ParseInputFormat(o.format));
  if (!o.texts.empty()) {
    std::string joined;
    for (const auto& t : o.texts) joined += t + "\n";
    std::istringstream in(joined);
    return ReadInputs(in, format, "argument");
  }
  if (o.input == "-") return ReadInputs(std::cin, format, "stdin");
  std::ifstream in(o.input);
  if (!in) return Status::Error(o.input + ": cannot open input file");
  return ReadInputs(in, format, o.input);
}

Result<std::vector<std::vector<int32_t>>> EncodeRecords(const CliModel& m,
                                                        const std::vector<InputRecord>& recs,
                                                        int64_t max_length,
                                                        std::vector<Encoding>* encodings) {
  const int64_t limit = max_length > 0 ? max_length : m.model->config().max_position_embeddings;
  std::vector<std::vector<int32_t>> out;
  out.reserve(recs.size());
  if (encodings) encodings->assign(recs.size(), Encoding{});
  std::vector<TextPair> texts;
  std::vector<size_t> text_index;
  for (size_t i = 0; i < recs.size(); ++i) {
    out.emplace_back();
    if (recs[i].has_ids) {
      out.back() = recs[i].ids;
      if (static_cast<int64_t>(out.back().size()) > limit) out.back().resize(limit);
      continue;
    }
    if (!m.tokenizer)
      return Status::Error("input line " + std::to_string(recs[i].line) +
                           " is text but the model directory has no tokenizer.json; add one or "
                           "pass token ids with --format ids");
    TextPair p;
    p.text = recs[i].text;
    if (recs[i].text_pair) {
      p.text_pair = *recs[i].text_pair;
      p.has_pair = true;
    }
    texts.push_back(p);
    text_index.push_back(i);
  }
  if (!texts.empty()) {
    EncodeOptions opts;
    opts.truncation.enabled = true;
    opts.truncation.max_length = static_cast<size_t>(limit);
    std::vector<Result<Encoding>> enc = m.tokenizer->EncodeBatch(texts, opts);
    for (size_t k = 0; k < enc.size(); ++k) {
      const size_t i = text_index[k];
      if (!enc[k].ok())
        return Status::Error("input line " + std::to_string(recs[i].line) + ": " +
                             enc[k].status().message());
      out[i] = enc[k].value().ids;
      if (encodings) (*encodings)[i] = std::move(enc[k]).value();
    }
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].empty())
      return Status::Error("input line " + std::to_string(recs[i].line) +
                           " produced no tokens");
  }
  return out;
}

Status RunBatches(Model& model, const std::vector<std::vector<int32_t>>& seqs,
                  int64_t batch_tokens, const BatchFn& fn) {
  std::vector<float> hidden;
  size_t i = 0;
  while (i < seqs.size()) {
    size_t j = i;
    int64_t tokens = 0;
    std::vector<std::vector<int32_t>> group;
    while (j < seqs.size() &&
           (group.empty() || tokens + static_cast<int64_t>(seqs[j].size()) <= batch_tokens)) {
      tokens += static_cast<int64_t>(seqs[j].size());
      group.push_back(seqs[j]);
      ++j;
    }
    PackedBatch batch = PackedBatch::FromSequences(group);
    Status st = model.Forward(batch, &hidden);
    if (!st.ok())
      return st.Wrap("input " + std::to_string(i + 1) +
                     (j - i > 1 ? "-" + std::to_string(j) : std::string()));
    MBERT_RETURN_IF_ERROR(fn(i, batch, hidden));
    i = j;
  }
  return Status::Ok();
}

}  // namespace mbert::cli
