// libFuzzer target: the training config parser (TrainConfig::FromJson) on arbitrary JSON. Any
// input must give a config that passes its own Validate or a Status error naming the field; never
// a crash, an uncaught exception or undefined behaviour (UBSan checks the integer casts).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "train/train_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  // A base directory that does not exist: a "model" path never reads a real file.
  auto c = mbert::TrainConfig::FromJson(j, "fuzz/train.json", "/nonexistent-mbert-fuzz");
  if (c.ok() && !c->Validate("fuzz/train.json").ok()) std::abort();  // accepted but invalid
  return 0;
}
