#include "core/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace mbert {

Result<std::string> ReadFile(const std::string& path, uint64_t max_bytes) {
  // O_NONBLOCK: opening a FIFO without a writer would otherwise wait forever before fstat could
  // tell us what it is. Regular files ignore the flag.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return Status::Error(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const std::string e = std::strerror(errno);
    ::close(fd);
    return Status::Error(path + ": cannot stat: " + e);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::Error(path + (S_ISDIR(st.st_mode) ? ": is a directory"
                                                     : ": not a regular file (a FIFO, device or "
                                                       "socket cannot be read as a file)"));
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > max_bytes) {
    ::close(fd);
    return Status::Error(path + ": " + std::to_string(size) + " bytes, more than the " +
                         std::to_string(max_bytes) + " this file may have");
  }
  std::string out(static_cast<size_t>(size), '\0');
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t r = ::read(fd, out.data() + done, out.size() - done);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      const std::string e = std::strerror(errno);
      ::close(fd);
      return Status::Error(path + ": read error: " + e);
    }
    if (r == 0) break;  // shrank while we read: keep what is there
    done += static_cast<size_t>(r);
  }
  ::close(fd);
  out.resize(done);
  return out;
}

Result<nlohmann::json> ReadJsonFile(const std::string& path, uint64_t max_bytes) {
  MBERT_ASSIGN_OR_RETURN(std::string text, ReadFile(path, max_bytes));
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return Status::Error(path + ": invalid JSON at byte " + std::to_string(e.byte) + ": " +
                         e.what());
  } catch (const nlohmann::json::exception& e) {
    // out_of_range 406: a number literal beyond double's range, such as 1e400.
    return Status::Error(path + ": invalid JSON: " + e.what());
  }
}

bool FileExists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

}  // namespace mbert
