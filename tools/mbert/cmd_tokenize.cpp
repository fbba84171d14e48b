// mbert tokenize: text (one per line, default) or JSONL {"text": ..., "text_pair": ...} in, one
// JSON object per input out: {"ids": [...], "tokens": [...], "offsets": [[begin, end], ...]},
// offsets in code points of the input text (of text_pair for its tokens), as HF tokenizers reports
// them. An input longer than --max-length is an error, or, with --truncate, cut and marked
// "truncated": true with its "original_length". Inputs are read, encoded and written a chunk at a
// time, and a failed write is an error.
#include <omp.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "hub/hub.h"
#include "inputs.h"
#include "int_flags.h"
#include "mbert/tokenizer.h"
#include "runner.h"

namespace mbert::cli {
namespace {

struct TokenizeOptions {
  std::string model_dir = MBERT_DEFAULT_MODEL_DIR;
  std::string input = "-";
  std::string format = "text";
  int64_t max_length = 0;
  bool no_special_tokens = false;
  bool truncate = false;
  std::vector<std::string> texts;
};

int Fail(const Status& st) {
  std::cerr << "error: " << st.message() << "\n";
  return 1;
}

// One chunk of inputs: encoded on every thread, written in input order. `first` is the index of
// the chunk's first input in the whole stream (errors name inputs from 1).
Status TokenizeChunk(const Tokenizer& tok, const TokenizeOptions& o,
                     const std::vector<InputRecord>& recs, int64_t first) {
  std::vector<TextPair> pairs;
  pairs.reserve(recs.size());
  for (const InputRecord& r : recs) {
    if (r.has_ids)
      return Status::Error("input line " + std::to_string(r.line) +
                           " holds token ids; tokenize takes text");
    pairs.push_back(r.text_pair ? TextPair(r.text, *r.text_pair) : TextPair(r.text));
  }
  EncodeOptions opts;
  opts.add_special_tokens = !o.no_special_tokens;
  // Untruncated first: a longer input is refused, or encoded again with the tokenizer's
  // truncation (which keeps the template's specials) and marked in the output.
  std::vector<Result<Encoding>> enc = tok.EncodeBatch(pairs, opts, omp_get_max_threads());
  EncodeOptions cut = opts;
  cut.truncation.enabled = true;
  cut.truncation.max_length = static_cast<size_t>(o.max_length);
  for (size_t i = 0; i < enc.size(); ++i) {
    const std::string name = "input " + std::to_string(first + static_cast<int64_t>(i) + 1) +
                             " (line " + std::to_string(recs[i].line) + ")";
    if (!enc[i].ok()) return enc[i].status().Wrap(name);
    const size_t n = enc[i].value().ids.size();
    const bool too_long = o.max_length > 0 && static_cast<int64_t>(n) > o.max_length;
    if (too_long && !o.truncate)
      return Status::Error(name + " has " + std::to_string(n) + " tokens, more than the limit of " +
                           std::to_string(o.max_length) +
                           " (--max-length); shorten it or add --truncate");
    if (too_long) {
      enc[i] = pairs[i].has_pair ? tok.EncodePair(pairs[i].text, pairs[i].text_pair, cut)
                                 : tok.Encode(pairs[i].text, cut);
      if (!enc[i].ok()) return enc[i].status().Wrap(name);
    }
    const Encoding& e = enc[i].value();
    nlohmann::json offsets = nlohmann::json::array();
    for (const auto& [b, en] : e.offsets) offsets.push_back({b, en});
    nlohmann::json j = {{"ids", e.ids}, {"tokens", e.tokens}, {"offsets", std::move(offsets)}};
    if (too_long) {
      j["truncated"] = true;
      j["original_length"] = n;
    }
    // Byte-level tokens of a split character are not valid UTF-8 on their own: replace, don't
    // throw.
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  return Status::Ok();
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
  if (o.truncate && o.max_length == 0)
    return Fail(Status::Error("--truncate needs --max-length (tokenize has no limit of its own)"));
  auto reader = InputReader::Open(o.texts, o.input, format.value());
  if (!reader.ok()) return Fail(reader.status());
  // A chunk at a time: memory stays flat however many lines come in.
  std::vector<InputRecord> recs;
  while (true) {
    const int64_t first = reader->inputs_read();
    auto more = reader->Next(&recs);
    if (!more.ok()) return Fail(more.status());
    if (!more.value()) break;
    Status st = TokenizeChunk(tok.value(), o, recs, first);
    if (st.ok()) st = FlushOutput();
    if (!st.ok()) return Fail(st);
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
  app->add_option("--max-length", o->max_length,
                  "longest input in tokens, specials included; a longer one is an error unless "
                  "--truncate")
      ->check(AtLeast(0));
  app->add_flag("--truncate", o->truncate,
                "cut inputs longer than --max-length and mark their lines \"truncated\": true "
                "with \"original_length\"");
  app->add_flag("--no-special-tokens", o->no_special_tokens, "do not add [CLS]/[SEP]");
  app->add_option("texts", o->texts, "texts to tokenize instead of --input");
  return {app, [o] { return RunTokenize(*o); }};
}

}  // namespace mbert::cli
