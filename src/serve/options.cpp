#include "serve/options.h"

#include <filesystem>

namespace mbert::serve {

ModelSpec ParseModelSpec(const std::string& arg) {
  const size_t eq = arg.find('=');
  // A '/' before the '=' means the '=' belongs to a path, not to a name.
  if (eq != std::string::npos && eq > 0 && arg.find('/') > eq)
    return {arg.substr(0, eq), arg.substr(eq + 1)};
  std::error_code ec;
  if (std::filesystem::is_directory(arg, ec)) {
    std::filesystem::path p(arg);
    if (!p.has_filename()) p = p.parent_path();  // "dir/" -> "dir"
    const std::string name = p.filename().string();
    if (!name.empty() && name != "." && name != "..") return {name, arg};
  }
  return {arg, arg};
}

}  // namespace mbert::serve
