// mbert pull NAME[@revision]: download a model into the Hugging Face cache.
// mbert models [list] | mbert models rm NAME: what the cache holds, and removing a model.
#include <iostream>

#include "command.h"
#include "hub/hub.h"

namespace mbert::cli {

namespace {

int Fail(const Status& st) {
  std::cerr << "error: " << st.message() << "\n";
  return 1;
}

std::string Size(int64_t bytes) {
  char buf[32];
  if (bytes >= (int64_t{1} << 30))
    std::snprintf(buf, sizeof buf, "%.1f GB", static_cast<double>(bytes) / (1 << 30));
  else if (bytes >= (1 << 20))
    std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / (1 << 20));
  else
    std::snprintf(buf, sizeof buf, "%.1f kB", static_cast<double>(bytes) / (1 << 10));
  return buf;
}

}  // namespace

Subcommand AddPullCommand(CLI::App& root) {
  auto name = std::make_shared<std::string>();
  CLI::App* app = root.add_subcommand(
      "pull", "download a model (org/name[@revision]) into the Hugging Face cache");
  app->add_option("name", *name, "org/name or org/name@revision (branch, tag or commit)")
      ->required();
  return {app, [name]() -> int {
            auto ref = hub::ParseRepoRef(*name);
            if (!ref.ok()) return Fail(ref.status());
            auto dir = hub::Pull(hub::HubEnv::FromEnvironment(), ref.value());
            if (!dir.ok()) return Fail(dir.status());
            std::cout << dir.value() << "\n";
            return 0;
          }};
}

Subcommand AddModelsCommand(CLI::App& root) {
  auto rm = std::make_shared<std::string>();
  CLI::App* app = root.add_subcommand("models", "list the models in the Hugging Face cache");
  CLI::App* rm_app = app->add_subcommand("rm", "remove a model (all its revisions) from the cache");
  rm_app->add_option("name", *rm, "org/name")->required();
  return {app, [rm, rm_app]() -> int {
            const hub::HubEnv env = hub::HubEnv::FromEnvironment();
            if (rm_app->parsed()) {
              Status st = hub::RemoveFromCache(env, *rm);
              if (!st.ok()) return Fail(st);
              std::cout << "removed " << *rm << "\n";
              return 0;
            }
            auto repos = hub::ListCache(env);
            if (!repos.ok()) return Fail(repos.status());
            std::cout << "cache: " << env.cache_dir << "\n";
            for (const hub::CachedRepo& r : repos.value()) {
              std::cout << r.repo_id << "  " << Size(r.size_on_disk) << "\n";
              for (const auto& rev : r.revisions) {
                std::cout << "  " << rev.commit;
                for (const auto& ref : rev.refs) std::cout << " (" << ref << ")";
                std::cout << "\n    ";
                for (size_t i = 0; i < rev.files.size(); ++i)
                  std::cout << (i ? " " : "") << rev.files[i];
                std::cout << "\n";
              }
            }
            return 0;
          }};
}

}  // namespace mbert::cli
