#include "eval/sequence_labeling.h"

#include <algorithm>
#include <set>
#include <string_view>

#include "core/check.h"

namespace mbert::eval {

namespace {

// seqeval's end_of_chunk: did a chunk end between the previous and this token?
bool EndOfChunk(char prev_tag, char tag, const std::string& prev_type, const std::string& type) {
  if (prev_tag == 'E' || prev_tag == 'S') return true;
  if ((prev_tag == 'B' || prev_tag == 'I') && (tag == 'B' || tag == 'S' || tag == 'O')) return true;
  return prev_tag != 'O' && prev_tag != '.' && prev_type != type;
}

// seqeval's start_of_chunk: does a chunk start at this token?
bool StartOfChunk(char prev_tag, char tag, const std::string& prev_type, const std::string& type) {
  if (tag == 'B' || tag == 'S') return true;
  if ((prev_tag == 'E' || prev_tag == 'S' || prev_tag == 'O') && (tag == 'E' || tag == 'I'))
    return true;
  return tag != 'O' && tag != '.' && prev_type != type;
}

}  // namespace

std::vector<Entity> Entities(const std::vector<std::string>& tags) {
  std::vector<Entity> out;
  char prev_tag = 'O';
  std::string prev_type;
  int64_t begin = 0;
  const int64_t n = static_cast<int64_t>(tags.size());
  for (int64_t i = 0; i <= n; ++i) {
    // A virtual "O" after the last token closes what is open (seqeval appends one).
    const std::string_view chunk = i < n ? std::string_view(tags[static_cast<size_t>(i)]) : "O";
    const char tag = chunk.empty() ? '\0' : chunk[0];
    // type_ = chunk[1:].split('-', maxsplit=1)[-1] or '_'
    const std::string_view rest = chunk.size() > 1 ? chunk.substr(1) : std::string_view();
    const size_t dash = rest.find('-');
    const std::string_view type_view =
        dash == std::string_view::npos ? rest : rest.substr(dash + 1);
    const std::string type = type_view.empty() ? std::string(1, '_') : std::string(type_view);
    if (EndOfChunk(prev_tag, tag, prev_type, type)) out.push_back({prev_type, begin, i - 1});
    if (StartOfChunk(prev_tag, tag, prev_type, type)) begin = i;
    prev_tag = tag;
    prev_type = type;
  }
  return out;
}

EntityScores EntityF1(const std::vector<std::vector<std::string>>& pred,
                      const std::vector<std::vector<std::string>>& gold) {
  MBERT_CHECK(pred.size() == gold.size(), "sentences ", pred.size(), " vs ", gold.size());
  EntityScores s;
  for (size_t k = 0; k < pred.size(); ++k) {
    MBERT_CHECK(pred[k].size() == gold[k].size(), "sentence ", k, ": ", pred[k].size(), " vs ",
                gold[k].size(), " tags");
    // seqeval keeps entities in sets (per type), so a repeated chunk counts once.
    const std::vector<Entity> pv = Entities(pred[k]), gv = Entities(gold[k]);
    const std::set<Entity> p(pv.begin(), pv.end()), g(gv.begin(), gv.end());
    s.predicted += static_cast<int64_t>(p.size());
    s.gold += static_cast<int64_t>(g.size());
    for (const Entity& e : p) s.true_positives += g.count(e);
  }
  const double tp = static_cast<double>(s.true_positives);
  s.precision = s.predicted == 0 ? 0.0 : tp / static_cast<double>(s.predicted);
  s.recall = s.gold == 0 ? 0.0 : tp / static_cast<double>(s.gold);
  const double denom = s.precision + s.recall;
  s.f1 = denom == 0 ? 0.0 : 2 * s.precision * s.recall / denom;
  return s;
}

double TokenAccuracy(const std::vector<std::vector<std::string>>& pred,
                     const std::vector<std::vector<std::string>>& gold) {
  MBERT_CHECK(pred.size() == gold.size(), "sentences ", pred.size(), " vs ", gold.size());
  int64_t right = 0, total = 0;
  for (size_t k = 0; k < pred.size(); ++k) {
    MBERT_CHECK(pred[k].size() == gold[k].size(), "sentence ", k);
    for (size_t i = 0; i < pred[k].size(); ++i) right += pred[k][i] == gold[k][i];
    total += static_cast<int64_t>(pred[k].size());
  }
  MBERT_CHECK(total > 0, "no tokens");
  return static_cast<double>(right) / static_cast<double>(total);
}

}  // namespace mbert::eval
