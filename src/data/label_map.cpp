#include "data/label_map.h"

#include <algorithm>
#include <charconv>
#include <set>

namespace mbert::data {

namespace {

bool ParseInteger(const std::string& s, int64_t* v) {
  if (s.empty()) return false;
  const char* b = s.data();
  const char* e = b + s.size();
  const auto r = std::from_chars(b, e, *v);
  return r.ec == std::errc() && r.ptr == e;
}

}  // namespace

Result<LabelMap> LabelMap::FromList(std::vector<std::string> id2label) {
  LabelMap m;
  for (size_t i = 0; i < id2label.size(); ++i) {
    if (id2label[i].empty()) return Status::Error("label " + std::to_string(i) + " is empty");
    if (!m.label2id_.emplace(id2label[i], static_cast<int64_t>(i)).second)
      return Status::Error("label '" + id2label[i] + "' appears twice in the label list");
  }
  m.id2label_ = std::move(id2label);
  return m;
}

LabelMap LabelMap::FromSeen(const std::vector<std::string>& seen) {
  std::set<std::string> distinct(seen.begin(), seen.end());
  std::vector<std::string> labels(distinct.begin(), distinct.end());  // byte order
  const bool numeric = std::all_of(labels.begin(), labels.end(), [](const std::string& s) {
    int64_t v = 0;
    return ParseInteger(s, &v);
  });
  if (numeric) {
    std::stable_sort(labels.begin(), labels.end(), [](const std::string& a, const std::string& b) {
      int64_t x = 0, y = 0;
      ParseInteger(a, &x);
      ParseInteger(b, &y);
      return x < y;
    });
  }
  LabelMap m;
  for (size_t i = 0; i < labels.size(); ++i)
    m.label2id_.emplace(labels[i], static_cast<int64_t>(i));
  m.id2label_ = std::move(labels);
  return m;
}

int64_t LabelMap::Id(const std::string& label) const {
  const auto it = label2id_.find(label);
  return it == label2id_.end() ? -1 : it->second;
}

nlohmann::json LabelMap::ToConfigJson() const {
  nlohmann::json id2label = nlohmann::json::object(), label2id = nlohmann::json::object();
  for (size_t i = 0; i < id2label_.size(); ++i) {
    id2label[std::to_string(i)] = id2label_[i];
    label2id[id2label_[i]] = static_cast<int64_t>(i);
  }
  return {{"id2label", id2label}, {"label2id", label2id}};
}

}  // namespace mbert::data
