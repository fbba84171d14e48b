#include "batch/packed_batch.h"

#include <algorithm>
#include <string>

#include "core/check.h"

namespace mbert {

PackedBatch PackedBatch::FromSequences(const std::vector<std::vector<int32_t>>& seqs) {
  PackedBatch b;
  size_t n = 0;
  for (const auto& s : seqs) n += s.size();
  b.input_ids.reserve(n);
  b.positions.reserve(n);
  b.cu_seqlens.reserve(seqs.size() + 1);
  b.cu_seqlens.push_back(0);
  for (const auto& s : seqs) b.AppendSequence(s);
  return b;
}

void PackedBatch::AppendSequence(const std::vector<int32_t>& ids,
                                 const std::vector<int32_t>* seq_labels) {
  if (cu_seqlens.empty()) cu_seqlens.push_back(0);
  const int32_t len = static_cast<int32_t>(ids.size());
  if (seq_labels != nullptr) {
    MBERT_CHECK(seq_labels->size() == ids.size(), "labels ", seq_labels->size(), " vs ids ",
                ids.size());
    MBERT_CHECK(labels.size() == input_ids.size(), "labels given for only some sequences");
    labels.insert(labels.end(), seq_labels->begin(), seq_labels->end());
  } else {
    MBERT_CHECK(labels.empty(), "a labelled batch needs labels for every sequence");
  }
  input_ids.insert(input_ids.end(), ids.begin(), ids.end());
  for (int32_t p = 0; p < len; ++p) positions.push_back(p);
  cu_seqlens.push_back(cu_seqlens.back() + len);
  max_seqlen = std::max(max_seqlen, len);
}

int64_t PackedBatch::num_labeled() const {
  return static_cast<int64_t>(
      std::count_if(labels.begin(), labels.end(), [](int32_t l) { return l != -100; }));
}

int64_t PackedBatch::num_non_pad(int32_t pad_id) const {
  return static_cast<int64_t>(
      std::count_if(input_ids.begin(), input_ids.end(), [&](int32_t t) { return t != pad_id; }));
}

Status PackedBatch::Validate() const {
  const int64_t n = num_tokens();
  if (cu_seqlens.empty() || cu_seqlens.front() != 0 || cu_seqlens.back() != n)
    return Status::Error("packed batch: cu_seqlens must start at 0 and end at the token count " +
                         std::to_string(n));
  if (positions.size() != input_ids.size())
    return Status::Error("packed batch: positions has " + std::to_string(positions.size()) +
                         " entries for " + std::to_string(n) + " tokens");
  if (!labels.empty() && labels.size() != input_ids.size())
    return Status::Error("packed batch: labels has " + std::to_string(labels.size()) +
                         " entries for " + std::to_string(n) +
                         " tokens (use none or one per token)");
  int32_t longest = 0;
  for (int s = 0; s < num_seqs(); ++s) {
    const int32_t len = seq_len(s);
    if (len < 0)
      return Status::Error("packed batch: cu_seqlens decreases at sequence " + std::to_string(s));
    longest = std::max(longest, len);
    for (int32_t p = 0; p < len; ++p) {
      if (positions[static_cast<size_t>(seq_begin(s) + p)] != p)
        return Status::Error("packed batch: positions of sequence " + std::to_string(s) +
                             " do not restart at 0 and count up");
    }
  }
  if (longest != max_seqlen)
    return Status::Error("packed batch: max_seqlen is " + std::to_string(max_seqlen) +
                         " but the longest sequence has " + std::to_string(longest) + " tokens");
  return Status::Ok();
}

PackedBatch PackedBatch::Concat(const std::vector<PackedBatch>& parts) {
  PackedBatch out;
  out.cu_seqlens.push_back(0);
  const bool labelled = !parts.empty() && !parts.front().labels.empty();
  for (const PackedBatch& p : parts) {
    MBERT_CHECK(p.labels.empty() != labelled || p.num_tokens() == 0,
                "Concat of labelled and unlabelled batches");
    const int32_t base = out.cu_seqlens.back();
    out.input_ids.insert(out.input_ids.end(), p.input_ids.begin(), p.input_ids.end());
    out.positions.insert(out.positions.end(), p.positions.begin(), p.positions.end());
    out.labels.insert(out.labels.end(), p.labels.begin(), p.labels.end());
    for (size_t i = 1; i < p.cu_seqlens.size(); ++i)
      out.cu_seqlens.push_back(base + p.cu_seqlens[i]);
    out.max_seqlen = std::max(out.max_seqlen, p.max_seqlen);
  }
  return out;
}

}  // namespace mbert
