// Retrieval fine-tuning (`mbert finetune --task dpr|colbert`): a FineTuneJob (finetune_run.h) over
// RetrievalTrainData (retrieval_examples.h), so the loop, schedule, checkpoints, --resume, best/
// and early stopping are the classification path's.
//
// Batches: `batch_size` examples -> columns queries | positives [| hard negatives]; every other
// example's documents are in-batch negatives (retrieval_objectives.h).
// Dev: every dev query against the whole dev corpus by exact search, top 100 — DPR by cosine of
// mean-pooled embeddings, ColBERT by MaxSim over L2-normalised projected token vectors (document
// tokens in the skiplist dropped, as PyLate's encode does); metrics ndcg@10 (default), mrr@10,
// recall@100 (src/eval/ranking_metrics.h).
//
// Saved model (best/ and each checkpoint):
//   DPR      a sentence-transformers directory: the ModernBertModel (config.json,
//            model.safetensors, tokenizer files) at the root, modules.json (Transformer, Pooling),
//            sentence_bert_config.json (max_seq_length), 1_Pooling/config.json (mean),
//            config_sentence_transformers.json (similarity cosine).
//   ColBERT  PyLate 1.6.0's directory: the same root (its vocabulary grown by the "[Q] " and
//            "[D] " tokens PyLate adds, tokenizer.json holding them as added tokens),
//            modules.json (Transformer, pylate.models.Dense.Dense), 1_Dense/{config.json,
//            model.safetensors with linear.weight (dim, C), no bias}, config_sentence_
//            transformers.json with PyLate's fields (prefixes, query/document length,
//            attend_to_expansion_tokens true, skiplist_words, do_query_expansion).
#pragma once

#include <cstdint>
#include <string>

#include "mbert/status.h"
#include "mbert/tokenizer.h"
#include "model/colbert.h"
#include "train/finetune_run.h"
#include "train/retrieval_examples.h"

namespace mbert {

struct RetrievalRunOptions {
  RetrievalFormat format;  // also what the saved layout records (lengths, prefixes)
  float dpr_scale = 20.0f;
  int64_t colbert_dim = 128;
};

// The ColBERT ids for a model whose tokenizer is `tok`: [CLS]/[SEP]/[MASK], and "[Q] "/"[D] " —
// the tokenizer's own when it has them (a PyLate model), else the next two ids after its
// vocabulary (added when the model is created, as PyLate does).
Result<RetrievalFormat> ColbertFormat(const Tokenizer& tok, int64_t query_length,
                                      int64_t document_length);

Result<FineTuneRunResult> RunRetrievalFineTune(const FineTuneRunOptions& options,
                                               const RetrievalRunOptions& retrieval,
                                               const RetrievalTrainData& train,
                                               const RetrievalDevData& dev);

}  // namespace mbert
