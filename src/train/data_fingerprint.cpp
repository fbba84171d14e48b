#include "train/data_fingerprint.h"

#include <cstdio>

namespace mbert {

namespace {

using json = nlohmann::json;

std::string Hex(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

uint64_t HashDocs(const std::vector<std::vector<int32_t>>& docs, uint64_t h) {
  for (const auto& d : docs) {
    const uint64_t n = d.size();  // the length too, so [a b][c] and [a][b c] differ
    h = Fnv1a64(&n, sizeof n, h);
    h = Fnv1a64(d.data(), d.size() * sizeof(int32_t), h);
  }
  return h;
}

}  // namespace

uint64_t Fnv1a64(const void* data, size_t n, uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

json DataFingerprint(const std::vector<DataSourceInfo>& sources,
                     const std::vector<std::vector<int32_t>>& train,
                     const std::vector<std::vector<int32_t>>& eval) {
  json src = json::array();
  for (const DataSourceInfo& s : sources)
    src.push_back({{"path", s.path}, {"bytes", s.bytes}, {"fnv1a64", Hex(s.fnv1a64)}});
  int64_t tokens = 0;
  for (const auto& d : train) tokens += static_cast<int64_t>(d.size());
  return {{"sources", src},
          {"train_documents", train.size()},
          {"eval_documents", eval.size()},
          {"train_tokens", tokens},
          {"documents_fnv1a64", Hex(HashDocs(eval, HashDocs(train, kFnv1a64Offset)))}};
}

std::string DataFingerprintDiff(const json& saved, const json& now) {
  if (!saved.is_object()) return "the checkpoint records no data fingerprint";
  std::string out;
  auto add = [&](const std::string& s) { out += (out.empty() ? "" : "; ") + s; };
  const json none = json::array();
  const json& a = saved.contains("sources") ? saved["sources"] : none;
  const json& b = now["sources"];
  if (!a.is_array() || a.size() != b.size()) {
    add("data.train lists " + std::to_string(b.size()) + " files, the checkpoint's data had " +
        (a.is_array() ? std::to_string(a.size()) : std::string("an unreadable list")));
  } else {
    for (size_t i = 0; i < a.size(); ++i) {
      const std::string path = b[i]["path"].get<std::string>();
      if (a[i].value("bytes", json()) != b[i]["bytes"])
        add("data file " + path + " has " + b[i]["bytes"].dump() + " bytes, the checkpoint's had " +
            a[i].value("bytes", json()).dump());
      else if (a[i].value("fnv1a64", json()) != b[i]["fnv1a64"])
        add("data file " + path + " has the same size but different content");
    }
  }
  for (const char* k : {"train_documents", "eval_documents", "train_tokens"}) {
    if (saved.value(k, json()) != now[k])
      add(std::string(k) + " is " + now[k].dump() + ", the checkpoint's was " +
          saved.value(k, json()).dump());
  }
  if (out.empty() && saved.value("documents_fnv1a64", json()) != now["documents_fnv1a64"])
    add("the tokenized documents differ (tokenizer or data options changed)");
  return out;
}

}  // namespace mbert
