// A model directory rewritten with its weights in another dtype (`mbert convert`): the weights
// (model.safetensors, HF names), config.json with `torch_dtype` set to match, and the tokenizer
// files. Written into a hidden sibling directory and renamed into place, so the output directory
// holds either nothing new or the whole converted model.
#pragma once

#include <string>

#include "core/dtype.h"
#include "mbert/status.h"

namespace mbert {

struct ConvertOptions {
  DType dtype = DType::kF32;  // F32 or BF16
  bool overwrite = false;     // replace a non-empty `out_dir`
};

// transformers' name of a weight dtype ("float32", "bfloat16").
const char* TorchDTypeName(DType dtype);

// Loads `model_dir` (config.json, model.safetensors or a sharded index; any floating dtype) and
// writes it to `out_dir` in `o.dtype`. config.json keeps every field of the source and gains
// `torch_dtype` (and `dtype`, when the source has that transformers 5.x field); tokenizer.json,
// tokenizer_config.json and special_tokens_map.json are copied byte for byte when present. An
// `out_dir` that exists and is not empty is an error unless `o.overwrite`; `out_dir` may not be
// `model_dir` itself.
Status ConvertModel(const std::string& model_dir, const std::string& out_dir,
                    const ConvertOptions& o);

}  // namespace mbert
