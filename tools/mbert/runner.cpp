#include "runner.h"

#include <cerrno>
#include <cstring>
#include <iostream>

#include "int_flags.h"

namespace mbert::cli {

void AddModelOptions(CLI::App* app, ModelOptions* o) {
  app->add_option("-m,--model", o->model_dir,
                  "HF model directory (default: the built-in tiny test model)");
  app->add_option("-i,--input", o->input, "input file, '-' for stdin (default)");
  app->add_option("--format", o->format, "input format: text (a line each), jsonl, ids");
  app->add_option("--max-length", o->max_length,
                  "longest input in tokens (default and cap: the model's maximum); a longer one "
                  "is an error unless --truncate")
      ->check(AtLeast(0));
  app->add_flag("--truncate", o->truncate,
                "cut inputs longer than the limit ([CLS] ... [SEP] kept) and mark their output "
                "lines \"truncated\": true with \"original_length\"");
  app->add_option("--batch-tokens", o->batch_tokens, "tokens per packed forward pass")
      ->check(AtLeast(1));
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
  opts.truncate = o.truncate;
  return Context(std::move(model), opts);
}

Status FlushOutput() {
  errno = 0;
  std::cout.flush();
  if (std::cout) return Status::Ok();
  const int err = errno;
  return Status::Error(std::string("writing the output (stdout) failed") +
                       (err != 0 ? std::string(": ") + std::strerror(err) : std::string()));
}

Status ForEachInputChunk(const ModelOptions& o, Context& ctx, const ChunkFn& fn) {
  MBERT_ASSIGN_OR_RETURN(InputFormat format, ParseInputFormat(o.format));
  MBERT_ASSIGN_OR_RETURN(InputReader reader, InputReader::Open(o.texts, o.input, format));
  std::vector<InputRecord> recs;
  std::vector<Input> inputs;
  while (true) {
    const int64_t first = reader.inputs_read();
    MBERT_ASSIGN_OR_RETURN(bool more, reader.Next(&recs));
    if (!more) break;
    inputs.clear();
    for (InputRecord& r : recs) {
      if (r.has_ids)
        inputs.push_back(Input::Ids(std::move(r.ids)));
      else if (r.text_pair)
        inputs.push_back(Input::Pair(std::move(r.text), std::move(*r.text_pair)));
      else
        inputs.push_back(Input::Text(std::move(r.text)));
    }
    ctx.mutable_options().input_offset = first;
    MBERT_RETURN_IF_ERROR(fn(inputs, first));
    MBERT_RETURN_IF_ERROR(FlushOutput());
  }
  return Status::Ok();
}

std::vector<int64_t> TruncatedLengths(const Context& ctx, size_t n) {
  std::vector<int64_t> out(n, 0);
  for (const TruncatedInput& t : ctx.truncated())
    if (t.input < n) out[t.input] = t.original_length;
  return out;
}

void MarkTruncated(int64_t original_length, nlohmann::json* line) {
  if (original_length <= 0) return;
  (*line)["truncated"] = true;
  (*line)["original_length"] = original_length;
}

}  // namespace mbert::cli
