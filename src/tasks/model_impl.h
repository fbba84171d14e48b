// What stands behind the public Model and Context handles (include/mbert/model.h, context.h):
// the library's tasks read the encoder, tokenizer and embedding settings from here.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "mbert/context.h"
#include "mbert/model.h"
#include "mbert/tokenizer.h"
#include "model/colbert.h"
#include "model/encoder.h"
#include "model/forward_context.h"
#include "model/sentence_embedder.h"

namespace mbert {

struct Model::Impl {
  Encoder encoder;
  std::optional<Tokenizer> tokenizer;
  SentenceEmbedder embedder;  // pooling / Dense / Normalize defaults for Embed
  ModelInfo info;
  // A PyLate ColBERT directory: its projection and lengths, the special ids and the document
  // skiplist resolved in the tokenizer (ColbertEmbed).
  std::optional<ColbertModule> colbert;
  ColbertIds colbert_ids;
  std::set<int32_t> colbert_skiplist;
};

struct Context::Impl {
  std::shared_ptr<const Model> model;
  ContextOptions options;
  ForwardContext forward;  // scratch, hook, profile pointer
  OpProfile profile;
  std::vector<float> hidden;  // (N, C) last hidden states of the current batch
  // The last task's truncated inputs (Context::truncated). Mutable: Tokenize takes a const
  // Context and reports them too; a Context is used by one thread at a time.
  mutable std::vector<TruncatedInput> truncated;
};

}  // namespace mbert
