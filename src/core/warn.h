// Warnings: something the user should know that is not an error (a checkpoint tensor that no
// parameter uses, resuming against changed data when allowed). They go to stderr as
// "warning: ..." unless a handler is installed (tests capture them; a server could log them).
#pragma once

#include <functional>
#include <string>

namespace mbert {

void Warn(const std::string& message);
// Replaces where warnings go; an empty function restores stderr. Returns the previous handler.
std::function<void(const std::string&)> SetWarningHandler(
    std::function<void(const std::string&)> handler);

}  // namespace mbert
