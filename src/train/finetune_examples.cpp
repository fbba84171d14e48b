#include "train/finetune_examples.h"

#include <algorithm>

namespace mbert {

namespace {

Status TooLong(const std::string& source, int64_t line, size_t n, int64_t max_length) {
  return Status::Error(source + ":" + std::to_string(line) + ": the example has " +
                       std::to_string(n) + " tokens, more than --max-length " +
                       std::to_string(max_length) +
                       "; raise --max-length (up to the model's max_position_embeddings) or pass "
                       "--truncate to cut long examples");
}

// Code points of UTF-8 text (continuation bytes 10xxxxxx are not counted).
uint32_t CodePoints(const std::string& s) {
  uint32_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

Result<FineTuneData> TokenizeTextData(const data::TextDataset& ds, const Tokenizer& tok,
                                      const TokenizeOptions& opts) {
  FineTuneData out;
  out.source = ds.source;
  const bool regression = ds.kind == data::LabelKind::kRegression;
  out.task = regression ? FineTuneTask::kRegression : FineTuneTask::kSequenceClassification;
  if (!regression) out.id2label = ds.labels.id2label();
  EncodeOptions cut;
  cut.truncation.enabled = true;
  cut.truncation.max_length = static_cast<size_t>(opts.max_length);
  for (const data::TextExample& x : ds.examples) {
    auto enc = ds.has_pair ? tok.EncodePair(x.text, x.text_pair) : tok.Encode(x.text);
    if (!enc.ok())
      return enc.status().Wrap(ds.source + ":" + std::to_string(x.line) + ": cannot tokenize");
    if (opts.max_length > 0 && static_cast<int64_t>(enc->size()) > opts.max_length) {
      if (!opts.truncate) return TooLong(ds.source, x.line, enc->size(), opts.max_length);
      enc = ds.has_pair ? tok.EncodePair(x.text, x.text_pair, cut) : tok.Encode(x.text, cut);
      if (!enc.ok()) return enc.status().Wrap(ds.source + ":" + std::to_string(x.line));
      ++out.truncated;
    }
    FineTuneExample e;
    e.ids = enc->ids;
    e.line = x.line;
    if (regression) {
      e.target = static_cast<float>(x.value);
    } else {
      if (x.label_id < 0)
        return Status::Error(ds.source + ":" + std::to_string(x.line) + ": label '" + x.label +
                             "' has no id");
      e.label = static_cast<int32_t>(x.label_id);
    }
    out.examples.push_back(std::move(e));
  }
  return out;
}

Result<FineTuneData> TokenizeTaggedData(const data::TaggedDataset& ds, const Tokenizer& tok,
                                        const TokenizeOptions& opts) {
  FineTuneData out;
  out.source = ds.source;
  out.task = FineTuneTask::kTokenClassification;
  out.id2label = ds.labels.id2label();
  EncodeOptions cut;
  cut.truncation.enabled = true;
  cut.truncation.max_length = static_cast<size_t>(opts.max_length);
  for (const data::TaggedSentence& s : ds.sentences) {
    std::string text;
    std::vector<std::pair<uint32_t, uint32_t>> spans;  // code points [begin, end) per word
    uint32_t pos = 0;
    for (size_t w = 0; w < s.tokens.size(); ++w) {
      if (w > 0) {
        text += ' ';
        ++pos;
      }
      text += s.tokens[w];
      const uint32_t n = CodePoints(s.tokens[w]);
      spans.emplace_back(pos, pos + n);
      pos += n;
    }
    auto enc = tok.Encode(text);
    if (!enc.ok())
      return enc.status().Wrap(ds.source + ":" + std::to_string(s.line) + ": cannot tokenize");
    if (opts.max_length > 0 && static_cast<int64_t>(enc->size()) > opts.max_length) {
      if (!opts.truncate) return TooLong(ds.source, s.line, enc->size(), opts.max_length);
      enc = tok.Encode(text, cut);
      if (!enc.ok()) return enc.status().Wrap(ds.source + ":" + std::to_string(s.line));
      ++out.truncated;
    }
    FineTuneExample e;
    e.ids = enc->ids;
    e.line = s.line;
    e.token_labels.assign(e.ids.size(), -100);
    size_t word = 0;
    for (size_t t = 0; t < enc->size() && word < spans.size(); ++t) {
      if (enc->special_tokens_mask[t]) continue;
      const auto [b, en] = enc->offsets[t];
      while (word < spans.size() && spans[word].second <= b) ++word;
      if (word == spans.size()) break;
      // The first token overlapping the word labels it; tokens of the same word that follow do
      // not (a token that is only the separating space overlaps no word and is skipped).
      if (b < spans[word].second && en > spans[word].first) {
        e.token_labels[t] = static_cast<int32_t>(s.tag_ids[word]);
        ++word;
        // Skip this word's remaining pieces: advance past tokens ending inside it.
        while (t + 1 < enc->size() && !enc->special_tokens_mask[t + 1] &&
               enc->offsets[t + 1].first < spans[word - 1].second)
          ++t;
      }
    }
    if (word < spans.size() && !opts.truncate)
      return Status::Error(ds.source + ":" + std::to_string(s.line) + ": word " +
                           std::to_string(word + 1) + " ('" + s.tokens[word] +
                           "') got no token from the tokenizer; remove it from the data");
    out.examples.push_back(std::move(e));
  }
  return out;
}

}  // namespace mbert
