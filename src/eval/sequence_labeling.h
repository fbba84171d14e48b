// Token-classification metrics as seqeval 1.2 computes them (default mode, IOB2 / IOBES prefixes,
// not the `strict` mode):
//   Entities        seqeval.metrics.sequence_labeling.get_entities on one sentence: chunks
//                   (type, first, last) by its end_of_chunk / start_of_chunk rules, so an "I-X"
//                   after "O" starts an entity and a type change ends one
//   EntityScores    f1_score / precision_score / recall_score with average="micro": an entity is
//                   right when its type and span both match; P = tp/pred, R = tp/gold,
//                   F1 = 2PR/(P+R), each 0 when its denominator is 0 (zero_division="warn")
//   TokenAccuracy   accuracy_score: equal tags over all tokens
// Sentences are evaluated separately (seqeval joins them with an "O" between, the same thing).
#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

namespace mbert::eval {

struct Entity {
  std::string type;
  int64_t first = 0, last = 0;  // token indices, inclusive
  bool operator==(const Entity& o) const {
    return type == o.type && first == o.first && last == o.last;
  }
  bool operator<(const Entity& o) const {
    return std::tie(type, first, last) < std::tie(o.type, o.first, o.last);
  }
};

std::vector<Entity> Entities(const std::vector<std::string>& tags);

struct EntityScores {
  double precision = 0, recall = 0, f1 = 0;
  int64_t true_positives = 0, predicted = 0, gold = 0;
};

// Every sentence of `pred` must have the length of its `gold` sentence (MBERT_CHECK).
EntityScores EntityF1(const std::vector<std::vector<std::string>>& pred,
                      const std::vector<std::vector<std::string>>& gold);
double TokenAccuracy(const std::vector<std::vector<std::string>>& pred,
                     const std::vector<std::vector<std::string>>& gold);

}  // namespace mbert::eval
