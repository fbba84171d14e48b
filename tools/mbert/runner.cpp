#include "runner.h"

#include <fstream>
#include <iostream>
#include <sstream>

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

Result<Context> LoadContext(const ModelOptions& o) {
  LoadOptions load;
  MBERT_ASSIGN_OR_RETURN(load.dtype, ParseWeightDtype(o.dtype));
  MBERT_ASSIGN_OR_RETURN(std::shared_ptr<const Model> model, Model::Load(o.model_dir, load));
  ContextOptions opts;
  opts.batch_tokens = o.batch_tokens;
  opts.max_length = o.max_length;
  return Context(std::move(model), opts);
}

Result<std::vector<Input>> ReadModelInputs(const ModelOptions& o) {
  MBERT_ASSIGN_OR_RETURN(InputFormat format, ParseInputFormat(o.format));
  Result<std::vector<InputRecord>> recs = Status::Error("no input");
  if (!o.texts.empty()) {
    std::string joined;
    for (const auto& t : o.texts) joined += t + "\n";
    std::istringstream in(joined);
    recs = ReadInputs(in, format, "argument");
  } else if (o.input == "-") {
    recs = ReadInputs(std::cin, format, "stdin");
  } else {
    std::ifstream in(o.input);
    if (!in) return Status::Error(o.input + ": cannot open input file");
    recs = ReadInputs(in, format, o.input);
  }
  if (!recs.ok()) return recs.status();
  std::vector<Input> inputs;
  inputs.reserve(recs->size());
  for (InputRecord& r : recs.value()) {
    if (r.has_ids)
      inputs.push_back(Input::Ids(std::move(r.ids)));
    else if (r.text_pair)
      inputs.push_back(Input::Pair(std::move(r.text), std::move(*r.text_pair)));
    else
      inputs.push_back(Input::Text(std::move(r.text)));
  }
  return inputs;
}

}  // namespace mbert::cli
