#include "batch/packer.h"

#include <string>

namespace mbert {

Result<GreedyBestFitPacker> GreedyBestFitPacker::Create(SequenceSource source,
                                                        const PackerOptions& opts_in) {
  PackerOptions opts = opts_in;
  if (opts.max_seq_len == 0) opts.max_seq_len = opts.row_tokens;
  if (!source) return Status::Error("packer: no sequence source given");
  if (opts.rows <= 0) return Status::Error("packer: rows must be positive");
  if (opts.row_tokens <= 0) return Status::Error("packer: row_tokens must be positive");
  if (opts.row_tokens > INT32_MAX)
    return Status::Error("packer: row_tokens must fit cu_seqlens' int32 (at most 2^31-1)");
  if (opts.max_seq_len < 0 || opts.max_seq_len > opts.row_tokens)
    return Status::Error("packer: max_seq_len " + std::to_string(opts.max_seq_len) +
                         " must be in [1, row_tokens = " + std::to_string(opts.row_tokens) + "]");
  if (opts.source_batch_size <= 0)
    return Status::Error("packer: source_batch_size must be positive");
  if (opts.buffer_size <= opts.source_batch_size)
    return Status::Error("packer: buffer_size (" + std::to_string(opts.buffer_size) +
                         ") must exceed source_batch_size (" +
                         std::to_string(opts.source_batch_size) +
                         ") or the buffer never refills; the original uses 5 x source_batch_size");
  if (opts.buffer_size < opts.rows)
    return Status::Error("packer: buffer_size must be at least rows");
  return GreedyBestFitPacker(std::move(source), opts);
}

Result<int64_t> GreedyBestFitPacker::Refill(int64_t max_items) {
  int64_t added = 0;
  const int64_t sb = opts_.source_batch_size;
  while (!exhausted_ && opts_.buffer_size - static_cast<int64_t>(buffer_.size()) > sb) {
    if (added + sb > max_items) break;  // one more source batch could exceed the request
    int64_t pulled = 0;
    std::vector<int32_t> seq;
    for (; pulled < sb; ++pulled) {
      seq.clear();
      MBERT_ASSIGN_OR_RETURN(const bool got, source_(&seq));
      if (!got) {
        exhausted_ = true;
        break;
      }
      if (seq.empty()) continue;  // dropped, as in the original
      if (static_cast<int64_t>(seq.size()) > opts_.max_seq_len) {
        seq.resize(static_cast<size_t>(opts_.max_seq_len));
        ++stats_.truncated;
      }
      buffer_.push_back(seq);
      ++added;
      ++stats_.seqs_consumed;
    }
  }
  return added;
}

Result<bool> GreedyBestFitPacker::Next(std::vector<PackedBatch>* rows, int num_rows) {
  const int n_rows = num_rows > 0 ? num_rows : opts_.rows;
  const int64_t P = opts_.row_tokens;
  std::vector<std::vector<int32_t>> taken;  // placed sequences, in the order they were popped
  std::vector<std::vector<size_t>> placed(static_cast<size_t>(n_rows));  // indices into taken
  std::vector<int64_t> remaining(static_cast<size_t>(n_rows), P);
  std::vector<std::vector<int32_t>> set_aside;

  while (true) {
    if (buffer_.empty()) {
      MBERT_ASSIGN_OR_RETURN(const int64_t added,
                             Refill(opts_.buffer_size - static_cast<int64_t>(set_aside.size())));
      if (added == 0) break;
    }
    std::vector<int32_t> seq = std::move(buffer_.front());
    buffer_.pop_front();
    const int64_t len = static_cast<int64_t>(seq.size());
    int best = -1;
    for (int r = 0; r < n_rows; ++r) {
      // Strict < keeps the first row among equals (numpy argmin semantics).
      if (remaining[static_cast<size_t>(r)] >= len &&
          (best < 0 || remaining[static_cast<size_t>(r)] < remaining[static_cast<size_t>(best)]))
        best = r;
    }
    if (best < 0) {
      set_aside.push_back(std::move(seq));
    } else {
      remaining[static_cast<size_t>(best)] -= len;
      placed[static_cast<size_t>(best)].push_back(taken.size());
      taken.push_back(std::move(seq));
    }
  }
  // deque.extendleft: each set-aside sequence in turn goes to the front (order reversed).
  for (auto& s : set_aside) buffer_.push_front(std::move(s));

  for (const auto& p : placed) {
    if (p.empty()) {
      // End of data: the original stops iterating here and drops what it placed. Those
      // sequences go back to the front of the buffer instead, so a caller asking for fewer rows
      // (or saving the state) loses nothing.
      for (auto it = taken.rbegin(); it != taken.rend(); ++it) buffer_.push_front(std::move(*it));
      return false;
    }
  }

  rows->clear();
  rows->reserve(static_cast<size_t>(n_rows));
  for (int r = 0; r < n_rows; ++r) {
    PackedBatch row;
    row.cu_seqlens.push_back(0);
    for (size_t i : placed[static_cast<size_t>(r)]) {
      row.AppendSequence(taken[i]);
      ++stats_.seqs_emitted;
    }
    const int64_t pad = remaining[static_cast<size_t>(r)];
    stats_.real_tokens += P - pad;
    if (pad > 0)
      row.AppendSequence(std::vector<int32_t>(static_cast<size_t>(pad), opts_.pad_token_id));
    stats_.slots += P;
    rows->push_back(std::move(row));
  }
  ++stats_.batches;
  return true;
}

void GreedyBestFitPacker::RestoreBuffer(const std::vector<std::vector<int32_t>>& seqs,
                                        const PackerStats& stats) {
  buffer_.assign(seqs.begin(), seqs.end());
  stats_ = stats;
  exhausted_ = false;
}

}  // namespace mbert
