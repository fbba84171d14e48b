#include "train/metrics_file.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "core/file_io.h"
#include "core/safetensors.h"

namespace mbert {

Status TruncateMetrics(const std::string& path, int64_t last_step) {
  if (!FileExists(path)) return Status::Ok();
  std::string kept;
  if (last_step >= 0) {
    MBERT_ASSIGN_OR_RETURN(const std::string text, ReadFile(path));
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && j.contains("step") && j["step"].is_number_integer() &&
          j["step"].get<int64_t>() <= last_step)
        kept += line + "\n";
    }
  }
  return WriteFileAtomic(path, kept);
}

}  // namespace mbert
