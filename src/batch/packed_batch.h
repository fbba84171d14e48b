// PackedBatch: the internal batch ABI (design.md §2). Padding is an edge format only; inside
// mbert every batch is a flat run of tokens split into sequences by cu_seqlens. Attention is
// block-diagonal per sequence, positions restart at 0 per sequence, and embeddings, norms and
// GEMMs see N rows. The same struct flows from the CLI, server batcher and trainer's packer down
// to the kernels.
//
// A training row from the packer (reference §3.4) includes its trailing padding as one more
// pseudo-sequence of pad ids whose labels are all -100, so N may count pad tokens there.
#pragma once

#include <cstdint>
#include <vector>

#include "mbert/status.h"

namespace mbert {

struct PackedBatch {
  std::vector<int32_t> input_ids;   // (N)
  std::vector<int32_t> cu_seqlens;  // (B+1), cu_seqlens[0] = 0, cu_seqlens[B] = N
  std::vector<int32_t> positions;   // (N) restart at 0 per sequence
  int32_t max_seqlen = 0;           // longest sequence (segment) in the batch
  std::vector<int32_t> labels;      // (N) -100 = no loss; empty for inference

  // Packs the sequences in order; positions restart per sequence; labels stay empty.
  // An empty input sequence becomes an empty segment (so sequence i of the batch is input i).
  static PackedBatch FromSequences(const std::vector<std::vector<int32_t>>& seqs);

  int64_t num_tokens() const { return static_cast<int64_t>(input_ids.size()); }
  int num_seqs() const { return cu_seqlens.empty() ? 0 : static_cast<int>(cu_seqlens.size()) - 1; }
  int32_t seq_begin(int s) const { return cu_seqlens[static_cast<size_t>(s)]; }
  int32_t seq_len(int s) const {
    return cu_seqlens[static_cast<size_t>(s) + 1] - cu_seqlens[static_cast<size_t>(s)];
  }

  // Appends one sequence (positions 0..len-1); labels, if given, must have the sequence's length
  // and may only be given when every earlier sequence also had labels.
  void AppendSequence(const std::vector<int32_t>& ids,
                      const std::vector<int32_t>* seq_labels = nullptr);

  // Number of tokens whose label is not -100 (0 for an inference batch).
  int64_t num_labeled() const;
  // Number of tokens that are not `pad_id` (what the schedules count: reference §5.3).
  int64_t num_non_pad(int32_t pad_id) const;

  // Checks every structural invariant: cu_seqlens starts at 0, is non-decreasing and ends at N;
  // positions restart per sequence; max_seqlen is the longest segment; labels empty or (N).
  Status Validate() const;

  // Concatenates batches (e.g. several packed rows) into one: sequences keep their order.
  // Either all or none of the parts carry labels.
  static PackedBatch Concat(const std::vector<PackedBatch>& parts);
};

}  // namespace mbert
