// Test fixture for test_capi: the tiny sequence- and token-classification configs with the real
// tokenizer's vocabulary (50,368) and Megatron-initialised random weights, plus the real
// tokenizer.json, so the C API's text paths can run end to end on classifiers (the golden tiny
// classifiers have a 1,024-token vocabulary and no tokenizer). Usage: make_text_models SRC OUT.
#include <filesystem>
#include <iostream>

#include "core/safetensors.h"
#include "model/config.h"
#include "model/weights.h"
#include "train/init.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: make_text_models TESTDATA_DIR OUT_DIR\n";
    return 2;
  }
  const std::string src = argv[1], out = argv[2];
  for (const char* name : {"tiny-seqcls-cls", "tiny-tokcls"}) {
    auto c = mbert::ModelConfig::FromFile(src + "/" + name + "/config.json");
    if (!c.ok()) {
      std::cerr << c.status().message() << "\n";
      return 1;
    }
    c->vocab_size = 50368;
    mbert::TensorTable params;
    for (const mbert::ParamSpec& p : mbert::ExpectedParams(c.value()))
      params.emplace(p.name, mbert::Tensor(p.shape));
    const std::string dir = out + "/" + name;
    fs::create_directories(dir);
    mbert::Status st = mbert::MegatronInit(c.value(), 7, &params);
    if (st.ok()) st = mbert::SaveWeights(dir, c.value(), params);
    if (st.ok()) st = mbert::WriteFileAtomic(dir + "/config.json", c->ToJson().dump(2));
    if (!st.ok()) {
      std::cerr << st.message() << "\n";
      return 1;
    }
    fs::copy_file(src + "/tiny-mlm/tokenizer.json", dir + "/tokenizer.json",
                  fs::copy_options::overwrite_existing);
  }
  return 0;
}
