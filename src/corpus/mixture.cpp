#include "corpus/mixture.h"

#include <set>

#include "core/file_io.h"
#include "core/json_fields.h"

namespace mbert::corpus {

Result<Mixture> Mixture::FromJson(const nlohmann::json& j, const std::string& origin) {
  MBERT_ASSIGN_OR_RETURN(JsonFields f, JsonFields::Of(j, origin));
  MBERT_RETURN_IF_ERROR(f.OnlyKnown({"sources", "comment"}));
  if (!f.Has("sources") || !f.at("sources").is_array() || f.at("sources").empty())
    return f.Error("sources",
                   "must be a non-empty list of {\"name\": SOURCE, \"weight\": W} objects");
  Mixture m;
  std::set<std::string> names;
  for (size_t i = 0; i < f.at("sources").size(); ++i) {
    MBERT_ASSIGN_OR_RETURN(JsonFields s, JsonFields::Of(f.at("sources")[i], origin,
                                                        "sources[" + std::to_string(i) + "]."));
    MBERT_RETURN_IF_ERROR(s.OnlyKnown({"name", "weight", "comment"}));
    MixtureEntry e;
    if (!s.Has("name")) return s.Error("name", "is required (a source name from manifest.json)");
    MBERT_RETURN_IF_ERROR(s.String("name", &e.name));
    if (!names.insert(e.name).second) return s.Error("name", "'" + e.name + "' is listed twice");
    MBERT_RETURN_IF_ERROR(s.Number("weight", &e.weight, 0.0, 1e12, /*lo_open=*/true));
    m.sources.push_back(std::move(e));
  }
  return m;
}

Result<Mixture> Mixture::Read(const std::string& path) {
  MBERT_ASSIGN_OR_RETURN(nlohmann::json j, ReadJsonFile(path));
  return FromJson(j, path);
}

}  // namespace mbert::corpus
