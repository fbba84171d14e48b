// mbert: the command line. Each subcommand registers itself (command.h); exit code 0 on success,
// 1 on a reported error (message on stderr), 2 on a usage error.
#include <omp.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <vector>

#include "command.h"
#include "core/thread_limit.h"

int main(int argc, char** argv) {
  CLI::App app{"mbert: ModernBERT in C++ (inference, tokenization, training)"};
  app.require_subcommand(1);
  int threads = 0;
  app.add_option(
      "--threads", threads,
      "worker threads (default: all cores; at most " + std::to_string(mbert::MaxThreads()) + ")");
  std::vector<mbert::cli::Subcommand> subs = {
      mbert::cli::AddInfoCommand(app),     mbert::cli::AddFillMaskCommand(app),
      mbert::cli::AddEmbedCommand(app),    mbert::cli::AddClassifyCommand(app),
      mbert::cli::AddTokenizeCommand(app), mbert::cli::AddTrainCommand(app),
      mbert::cli::AddBenchCommand(app),    mbert::cli::AddPullCommand(app),
      mbert::cli::AddModelsCommand(app),   mbert::cli::AddServeCommand(app),
      mbert::cli::AddEvalCommand(app),     mbert::cli::AddFinetuneCommand(app),
      mbert::cli::AddDataCommand(app),     mbert::cli::AddPlotCommand(app),
      mbert::cli::AddConvertCommand(app),
  };
  CLI11_PARSE(app, argc, argv);
  // Checked here rather than by a CLI11 validator so the message gives the allowed range and why;
  // libgomp crashes (SIGSEGV) when asked for more threads than it can create.
  if (mbert::Status st = mbert::CheckThreadCount(threads, "--threads"); !st.ok()) {
    std::cerr << "error: " << st.message() << "\n";
    return 2;
  }
  if (threads > 0) omp_set_num_threads(threads);
  for (auto& s : subs) {
    if (s.app->parsed()) return s.run();
  }
  return 2;
}
