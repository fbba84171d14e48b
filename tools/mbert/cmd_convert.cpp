// mbert convert --model DIR --out DIR --dtype bf16|f32 [--force]: a model directory with its
// weights rewritten in another dtype (src/model/convert.h), e.g. a training checkpoint (fp32
// master weights) shipped as bf16 at half the size.
#include <filesystem>
#include <iostream>
#include <memory>

#include "command.h"
#include "hub/hub.h"
#include "model/convert.h"

namespace mbert::cli {

namespace {

struct ConvertArgs {
  std::string model, out, dtype;
  bool force = false;
};

int Run(const ConvertArgs& a) {
  auto dir = hub::ResolveModelDir(a.model);
  if (!dir.ok()) {
    std::cerr << "error: " << dir.status().message() << "\n";
    return 1;
  }
  ConvertOptions o;
  o.dtype = a.dtype == "bf16" ? DType::kBF16 : DType::kF32;
  o.overwrite = a.force;
  if (Status st = ConvertModel(dir.value(), a.out, o); !st.ok()) {
    std::cerr << "error: " << st.message() << "\n";
    return 1;
  }
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(a.out + "/model.safetensors", ec);
  std::cout << "wrote " << a.out << " (" << TorchDTypeName(o.dtype) << ", model.safetensors "
            << (ec ? 0 : bytes) << " bytes)\n";
  return 0;
}

}  // namespace

Subcommand AddConvertCommand(CLI::App& root) {
  auto a = std::make_shared<ConvertArgs>();
  CLI::App* app = root.add_subcommand(
      "convert", "write a model directory with its weights in another dtype (bf16 or f32)");
  app->add_option("-m,--model", a->model, "HF model directory or name")->required();
  app->add_option("-o,--out", a->out, "output directory (absent or empty, unless --force)")
      ->required();
  app->add_option("--dtype", a->dtype, "weight dtype of the output: bf16 or f32")
      ->required()
      ->check(CLI::IsMember({"bf16", "f32"}));
  app->add_flag("--force", a->force, "replace a non-empty output directory");
  return {app, [a]() { return Run(*a); }};
}

}  // namespace mbert::cli
