// mbert tokenize: text (one per line, default) or JSONL {"text": ..., "text_pair": ...} in, one
// JSON object per input out: {"ids": [...], "tokens": [...], "offsets": [[begin, end], ...]},
// offsets in code points of the input text (of text_pair for its tokens), as HF tokenizers reports
// them.
#include <omp.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "hub/hub.h"
#include "inputs.h"
#include "mbert/tokenizer.h"

namespace mbert::cli {
namespace {

struct TokenizeOptions {
  std::string model_dir = MBERT_DEFAULT_MODEL_DIR;
  std::string input = "-";
  std::string format = "text";
  int64_t max_length = 0;
  bool no_special_tokens = false;
  std::vector<std::string> texts;
};

int Fail(const Status& st) {
  std::cerr << "error: " << st.message() << "\n";
  return 1;
}

int RunTokenize(const TokenizeOptions& o) {
  auto dir = hub::ResolveModelDir(o.model_dir);
  if (!dir.ok()) return Fail(dir.status());
  auto tok = Tokenizer::FromModelDir(dir.value());
  if (!tok.ok()) return Fail(tok.status());
  auto format = ParseInputFormat(o.format);
  if (!format.ok()) return Fail(format.status());
  if (format.value() == InputFormat::kIds)
    return Fail(Status::Error("--format ids: tokenize takes text; use --format text or jsonl"));
  std::vector<InputRecord> recs;
  if (!o.texts.empty()) {
    for (size_t i = 0; i < o.texts.size(); ++i) {
      InputRecord r;
      r.text = o.texts[i];
      r.line = static_cast<int64_t>(i + 1);
      recs.push_back(std::move(r));
    }
  } else {
    Result<std::vector<InputRecord>> read = Status::Error("no input");
    if (o.input == "-") {
      read = ReadInputs(std::cin, format.value(), "stdin");
    } else {
      std::ifstream f(o.input, std::ios::binary);
      if (!f) return Fail(Status::Error(o.input + ": cannot open (--input)"));
      read = ReadInputs(f, format.value(), o.input);
    }
    if (!read.ok()) return Fail(read.status());
    recs = std::move(read).value();
  }
  std::vector<TextPair> pairs;
  pairs.reserve(recs.size());
  for (const InputRecord& r : recs) {
    if (r.has_ids)
      return Fail(Status::Error("input line " + std::to_string(r.line) +
                                " holds token ids; tokenize takes text"));
    TextPair p;
    p.text = r.text;
    if (r.text_pair) {
      p.text_pair = *r.text_pair;
      p.has_pair = true;
    }
    pairs.push_back(p);
  }
  EncodeOptions opts;
  opts.add_special_tokens = !o.no_special_tokens;
  if (o.max_length > 0) {
    opts.truncation.enabled = true;
    opts.truncation.max_length = static_cast<size_t>(o.max_length);
  }
  const std::vector<Result<Encoding>> enc = tok->EncodeBatch(pairs, opts, omp_get_max_threads());
  for (size_t i = 0; i < enc.size(); ++i) {
    if (!enc[i].ok())
      return Fail(Status::Error("input line " + std::to_string(recs[i].line) + ": " +
                                enc[i].status().message()));
    const Encoding& e = enc[i].value();
    nlohmann::json offsets = nlohmann::json::array();
    for (const auto& [b, en] : e.offsets) offsets.push_back({b, en});
    const nlohmann::json j = {
        {"ids", e.ids}, {"tokens", e.tokens}, {"offsets", std::move(offsets)}};
    // Byte-level tokens of a split character are not valid UTF-8 on their own: replace, don't
    // throw.
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  return 0;
}

}  // namespace

Subcommand AddTokenizeCommand(CLI::App& root) {
  auto o = std::make_shared<TokenizeOptions>();
  CLI::App* app =
      root.add_subcommand("tokenize", "text -> token ids, tokens and offsets (JSONL out)");
  app->add_option("--model", o->model_dir, "Hugging Face model directory with tokenizer.json");
  app->add_option("--input", o->input, "input file, - for stdin (default)");
  app->add_option("--format", o->format,
                  "text (one per line, default) or jsonl ({\"text\", \"text_pair\"})");
  app->add_option("--max-length", o->max_length, "truncate to this many tokens, specials included")
      ->check(CLI::NonNegativeNumber);
  app->add_flag("--no-special-tokens", o->no_special_tokens, "do not add [CLS]/[SEP]");
  app->add_option("texts", o->texts, "texts to tokenize instead of --input");
  return {app, [o] { return RunTokenize(*o); }};
}

}  // namespace mbert::cli
