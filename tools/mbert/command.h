// Each `mbert` subcommand lives in its own cmd_<name>.cpp and registers itself on the root CLI11
// app through an Add<Name>Command function declared here; main.cpp runs the one that was parsed.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace mbert::cli {

struct Subcommand {
  CLI::App* app = nullptr;
  std::function<int()> run;  // returns the process exit code; errors go to stderr
};

Subcommand AddInfoCommand(CLI::App& root);
Subcommand AddFillMaskCommand(CLI::App& root);
Subcommand AddEmbedCommand(CLI::App& root);
Subcommand AddClassifyCommand(CLI::App& root);
Subcommand AddTokenizeCommand(CLI::App& root);
Subcommand AddTrainCommand(CLI::App& root);
Subcommand AddBenchCommand(CLI::App& root);
Subcommand AddPullCommand(CLI::App& root);
Subcommand AddModelsCommand(CLI::App& root);
Subcommand AddServeCommand(CLI::App& root);
Subcommand AddEvalCommand(CLI::App& root);
Subcommand AddFinetuneCommand(CLI::App& root);
Subcommand AddDataCommand(CLI::App& root);
Subcommand AddPlotCommand(CLI::App& root);
Subcommand AddConvertCommand(CLI::App& root);

}  // namespace mbert::cli
