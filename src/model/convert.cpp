#include "model/convert.h"

#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "core/file_io.h"
#include "core/safetensors.h"
#include "model/config.h"
#include "model/weights.h"

namespace mbert {

namespace fs = std::filesystem;

namespace {

// Where `out_dir` may go: absent, an empty directory, or (with overwrite) a non-empty one.
Status CheckDestination(const fs::path& model_dir, const fs::path& out, bool overwrite) {
  std::error_code ec;
  if (!fs::exists(out, ec)) return Status::Ok();
  if (!fs::is_directory(out, ec))
    return Status::Error(out.string() + ": exists and is not a directory");
  if (fs::equivalent(model_dir, out, ec))
    return Status::Error(out.string() + ": is the model directory itself; convert into another");
  if (!overwrite && !fs::is_empty(out, ec))
    return Status::Error(
        out.string() +
        ": exists and is not empty; refusing to overwrite it (overwrite: mbert convert --force)");
  return Status::Ok();
}

// The files of the converted model, written into `dir` (which exists and is empty).
Status WriteConverted(const std::string& model_dir, const std::string& dir,
                      const ConvertOptions& o) {
  const std::string config_path = model_dir + "/config.json";
  MBERT_ASSIGN_OR_RETURN(nlohmann::json cj, ReadJsonFile(config_path));
  MBERT_ASSIGN_OR_RETURN(ModelConfig c, ModelConfig::FromJson(cj, config_path));
  MBERT_ASSIGN_OR_RETURN(TensorTable params, LoadWeights(model_dir, c));
  MBERT_RETURN_IF_ERROR(SaveWeights(dir, c, params, o.dtype));
  cj["torch_dtype"] = TorchDTypeName(o.dtype);
  if (cj.contains("dtype")) cj["dtype"] = TorchDTypeName(o.dtype);
  MBERT_RETURN_IF_ERROR(WriteFileAtomic(dir + "/config.json", cj.dump(2) + "\n"));
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) {
    const std::string src = model_dir + "/" + f;
    if (!FileExists(src)) continue;
    MBERT_ASSIGN_OR_RETURN(std::string s, ReadFile(src));
    MBERT_RETURN_IF_ERROR(WriteFileAtomic(dir + "/" + f, s));
  }
  return Status::Ok();
}

// ".<name>.<what>-<pid>": a sibling of `out` that no other process picks.
std::string HiddenName(const fs::path& out, const char* what) {
  std::string name = ".";
  name.append(out.filename().string());
  name.append(".");
  name.append(what);
  name.append("-");
  name.append(std::to_string(getpid()));
  return name;
}

}  // namespace

const char* TorchDTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "float32";
    case DType::kBF16:
      return "bfloat16";
    case DType::kF16:
      return "float16";
    default:
      return "unknown";
  }
}

Status ConvertModel(const std::string& model_dir, const std::string& out_dir,
                    const ConvertOptions& o) {
  if (o.dtype != DType::kF32 && o.dtype != DType::kBF16)
    return Status::Error("convert: the output dtype must be F32 or BF16, not " +
                         std::string(DTypeName(o.dtype)));
  fs::path out = fs::path(out_dir).lexically_normal();
  if (out.filename().empty()) out = out.parent_path();
  MBERT_RETURN_IF_ERROR(CheckDestination(model_dir, out, o.overwrite));
  const fs::path parent = out.has_parent_path() ? out.parent_path() : fs::path(".");
  const fs::path tmp = parent / HiddenName(out, "tmp");
  const fs::path old = parent / HiddenName(out, "old");
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return Status::Error(tmp.string() + ": cannot create: " + ec.message());
  if (Status st = WriteConverted(model_dir, tmp.string(), o); !st.ok()) {
    fs::remove_all(tmp, ec);
    return st;
  }
  // Checked again: the destination may have changed while the weights were converted.
  if (Status st = CheckDestination(model_dir, out, o.overwrite); !st.ok()) {
    fs::remove_all(tmp, ec);
    return st;
  }
  const bool replace = fs::exists(out, ec) && !fs::is_empty(out, ec);
  if (replace) {
    fs::rename(out, old, ec);
    if (ec) {
      fs::remove_all(tmp, ec);
      return Status::Error(out.string() + ": cannot move aside: " + ec.message());
    }
  }
  fs::rename(tmp, out, ec);
  if (ec) {
    const std::string why = ec.message();
    if (replace) fs::rename(old, out, ec);
    fs::remove_all(tmp, ec);
    return Status::Error(out.string() + ": cannot rename " + tmp.string() + " into place: " + why);
  }
  if (replace) fs::remove_all(old, ec);
  return Status::Ok();
}

}  // namespace mbert
