// GreedyBestFitPacker: packs a stream of token-id sequences into batches of fixed-size rows, the
// way the original ModernBERT pre-training did (reference §3.4, `GreedyBestFitSequencePacker`).
//
// Each batch has `rows` rows of exactly `row_tokens` tokens (one row = one micro-batch). Sequences
// are taken from a look-ahead buffer in order and each goes to the row with the smallest remaining
// space that still fits it (ties -> first such row). Sequences that fit nowhere are set aside and
// pushed back to the front of the buffer after the batch is built (in the reversed order that
// Python's deque.extendleft gives them, so the last one set aside comes out first). A row's
// trailing padding becomes its own pseudo-sequence of pad ids (labels -100 after masking), so each
// row is a valid PackedBatch of row_tokens tokens.
//
// The buffer refills only when it runs empty, in whole source batches of `source_batch_size`
// sequences, while `buffer_size - buffered > source_batch_size` (strict, kept from the original)
// and while the sequences added stay <= buffer_size - set_aside. A batch is finished when a
// refill adds nothing; it is emitted only if every row received at least one sequence (if not,
// the placed sequences return to the front of the buffer and Next reports the end of data).
// Empty sequences are dropped; sequences longer than `max_seq_len` are truncated to their first
// max_seq_len ids (the original truncated in the dataset).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "batch/packed_batch.h"
#include "mbert/status.h"

namespace mbert {

// Yields the next sequence into *out and returns true, or returns false once the source is
// exhausted. A Status error (e.g. an unreadable shard) stops packing with that error.
using SequenceSource = std::function<Result<bool>(std::vector<int32_t>* out)>;

struct PackerOptions {
  int rows = 1;               // packed rows per batch (the original's out_batch_size)
  int64_t row_tokens = 1024;  // tokens per row (micro_batch_size x max_seq_len in the original)
  int64_t max_seq_len = 0;    // truncation length per sequence; 0 = row_tokens
  int64_t source_batch_size = 64;  // sequences per source batch (device_batch_size)
  int64_t buffer_size = 320;       // look-ahead buffer in sequences (default 5 x source batch)
  int32_t pad_token_id = 50283;
};

struct PackerStats {
  int64_t batches = 0;
  int64_t seqs_consumed = 0;  // non-empty sequences taken from the source
  int64_t seqs_emitted = 0;   // sequences placed in emitted batches
  int64_t real_tokens = 0;    // non-pad slots in emitted rows
  int64_t slots = 0;          // all slots in emitted rows (rows x row_tokens)
  int64_t truncated = 0;      // sequences cut to max_seq_len
  // Fraction of emitted slots holding real tokens (paper: > 99% for the pre-training data).
  double efficiency() const { return slots > 0 ? static_cast<double>(real_tokens) / slots : 0.0; }
};

class GreedyBestFitPacker {
 public:
  // Checks the options (positive sizes, buffer_size > source_batch_size so the buffer can refill,
  // buffer_size >= rows, max_seq_len <= row_tokens).
  static Result<GreedyBestFitPacker> Create(SequenceSource source, const PackerOptions& opts);

  // Builds the next batch of `num_rows` rows (0 = opts.rows; batch-size warmup passes fewer).
  // Returns false when the source cannot fill every row any more (end of data). Rows carry no
  // labels: mask them with ApplyMlmMasking over the whole batch.
  Result<bool> Next(std::vector<PackedBatch>* rows, int num_rows = 0);

  const PackerStats& stats() const { return stats_; }
  const PackerOptions& options() const { return opts_; }

  // Resume support: the buffered (already consumed, not yet emitted) sequences, front first.
  // Restoring them plus the source's own position continues the same stream.
  std::vector<std::vector<int32_t>> SaveBuffer() const { return {buffer_.begin(), buffer_.end()}; }
  void RestoreBuffer(const std::vector<std::vector<int32_t>>& seqs, const PackerStats& stats);

 private:
  GreedyBestFitPacker(SequenceSource source, const PackerOptions& opts)
      : source_(std::move(source)), opts_(opts) {}
  // Adds whole source batches to the empty buffer; returns the number of sequences added.
  Result<int64_t> Refill(int64_t max_items);

  SequenceSource source_;
  PackerOptions opts_;
  std::deque<std::vector<int32_t>> buffer_;
  bool exhausted_ = false;
  PackerStats stats_;
};

}  // namespace mbert
