// libFuzzer target: config.json parsing (JSON syntax and ModernBertConfig field validation).
#include <cstddef>
#include <cstdint>

#include "model/config.h"
#include "model/plan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  auto c = mbert::ModelConfig::FromJson(j, "fuzz/config.json");
  if (c.ok()) {
    auto plan = mbert::BuildLayerPlan(c.value());
    (void)plan;
    (void)c->ToJson().dump();
  }
  return 0;
}
