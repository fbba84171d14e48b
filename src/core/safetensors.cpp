#include "core/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

namespace mbert {

namespace {

// Headers are small JSON (kilobytes for real models); reject absurd sizes before allocating.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

std::string Errno() { return std::strerror(errno); }

}  // namespace

struct SafetensorsFile::Mapping {
  void* addr = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (addr != nullptr && size > 0) munmap(addr, size);
  }
};

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Result<SafetensorsFile> SafetensorsFile::Open(const std::string& path) {
  // O_NONBLOCK: a FIFO in place of a weight file must not block open() before fstat rejects it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return Status::Error(path + ": cannot open: " + Errno());
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const std::string e = Errno();
    ::close(fd);
    return Status::Error(path + ": cannot stat: " + e);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::Error(path + ": not a regular file");
  }
  auto mapping = std::make_shared<Mapping>();
  mapping->size = static_cast<size_t>(st.st_size);
  if (mapping->size > 0) {
    mapping->addr = mmap(nullptr, mapping->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (mapping->addr == MAP_FAILED) {
      mapping->addr = nullptr;
      const std::string e = Errno();
      ::close(fd);
      return Status::Error(path + ": mmap failed: " + e);
    }
  }
  ::close(fd);
  auto parsed = Parse(static_cast<const uint8_t*>(mapping->addr), mapping->size, path);
  if (!parsed.ok()) return parsed.status();
  SafetensorsFile file = std::move(parsed).value();
  file.mapping_ = std::move(mapping);
  return file;
}

Result<SafetensorsFile> SafetensorsFile::Parse(const uint8_t* bytes, size_t size,
                                               const std::string& origin) {
  const std::string fix = " (re-export the checkpoint with safetensors.torch.save_file)";
  if (size < 8) {
    return Status::Error(origin + ": truncated safetensors file: " + std::to_string(size) +
                         " bytes, fewer than the 8-byte header length" + fix);
  }
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
  if (header_len > kMaxHeaderBytes || header_len > size - 8) {
    return Status::Error(origin + ": corrupt safetensors header: declared header length " +
                         std::to_string(header_len) + " but the file has " + std::to_string(size) +
                         " bytes" + fix);
  }
  // nlohmann keeps the last of two equal keys; a second entry for one tensor name would silently
  // replace the first, so the top-level keys are collected while parsing.
  std::string duplicate;
  std::set<std::string> keys;
  auto on_event = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (depth == 1 && event == nlohmann::json::parse_event_t::key && duplicate.empty() &&
        !keys.insert(parsed.get<std::string>()).second)
      duplicate = parsed.get<std::string>();
    return true;
  };
  nlohmann::json header = nlohmann::json::parse(bytes + 8, bytes + 8 + header_len, on_event,
                                                /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) {
    return Status::Error(origin + ": corrupt safetensors header: not a JSON object" + fix);
  }
  if (!duplicate.empty())
    return Status::Error(origin + ": corrupt safetensors header: tensor '" + duplicate +
                         "' is listed twice" + fix);
  const uint8_t* data = bytes + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;

  SafetensorsFile file;
  file.path_ = origin;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& entry = it.value();
    if (name == "__metadata__") {
      if (!entry.is_object()) return Status::Error(origin + ": __metadata__ is not an object");
      for (auto m = entry.begin(); m != entry.end(); ++m) {
        if (m.value().is_string()) file.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = origin + ": tensor '" + name + "'";
    if (!entry.is_object()) return Status::Error(where + ": header entry is not an object");
    auto dt = entry.find("dtype");
    auto sh = entry.find("shape");
    auto off = entry.find("data_offsets");
    if (dt == entry.end() || !dt->is_string())
      return Status::Error(where + ": missing string field 'dtype'");
    if (sh == entry.end() || !sh->is_array())
      return Status::Error(where + ": missing array field 'shape'");
    if (off == entry.end() || !off->is_array() || off->size() != 2)
      return Status::Error(where + ": 'data_offsets' must be [begin, end]");
    auto dtype = ParseDType(dt->get<std::string>());
    if (!dtype) return Status::Error(where + ": unknown dtype '" + dt->get<std::string>() + "'");
    TensorView view;
    view.name = name;
    view.dtype = *dtype;
    uint64_t numel = 1;
    for (const auto& d : *sh) {
      if (!d.is_number_unsigned() && !(d.is_number_integer() && d.get<int64_t>() >= 0))
        return Status::Error(where + ": shape entries must be non-negative integers");
      const uint64_t v = d.get<uint64_t>();
      if (v != 0 && numel > (std::numeric_limits<uint64_t>::max() >> 4) / v)
        return Status::Error(where + ": shape too large");
      numel *= v;
      view.shape.push_back(static_cast<int64_t>(v));
    }
    if (!(*off)[0].is_number_unsigned() || !(*off)[1].is_number_unsigned())
      return Status::Error(where + ": data_offsets must be non-negative integers");
    const uint64_t begin = (*off)[0].get<uint64_t>();
    const uint64_t end = (*off)[1].get<uint64_t>();
    const uint64_t expect = numel * static_cast<uint64_t>(DTypeSize(*dtype));
    if (begin > end || end > data_size) {
      return Status::Error(where + ": data_offsets [" + std::to_string(begin) + ", " +
                           std::to_string(end) + "] outside the data region of " +
                           std::to_string(data_size) + " bytes (truncated file?)" + fix);
    }
    if (end - begin != expect) {
      return Status::Error(where + ": " + std::to_string(end - begin) + " bytes for shape " +
                           ShapeString(view.shape) + " of " + std::string(DTypeName(*dtype)) +
                           ", expected " + std::to_string(expect));
    }
    view.data = data + begin;
    view.nbytes = static_cast<size_t>(expect);
    file.index_[name] = file.tensors_.size();
    file.tensors_.push_back(std::move(view));
  }
  // Two tensors sharing bytes would alias: writing one (a fine-tune) would change the other, and
  // a crafted file could make a weight read another's data. Empty tensors occupy nothing.
  std::vector<const TensorView*> by_offset;
  for (const TensorView& t : file.tensors_)
    if (t.nbytes > 0) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorView* a, const TensorView* b) { return a->data < b->data; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorView& prev = *by_offset[i - 1];
    const TensorView& cur = *by_offset[i];
    if (cur.data < prev.data + prev.nbytes) {
      return Status::Error(
          origin + ": corrupt safetensors header: tensors '" + prev.name + "' and '" + cur.name +
          "' overlap (bytes [" + std::to_string(cur.data - data) + ", " +
          std::to_string(prev.data + prev.nbytes - data) + ") of the data region)" + fix);
    }
  }
  return file;
}

const TensorView* SafetensorsFile::Find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

void SafetensorsFile::Release(const TensorView& v) const {
  if (mapping_ == nullptr || mapping_->addr == nullptr || v.nbytes == 0) return;
  const auto base = reinterpret_cast<uintptr_t>(mapping_->addr);
  const auto begin = reinterpret_cast<uintptr_t>(v.data);
  if (begin < base || begin + v.nbytes > base + mapping_->size) return;
  // Only the pages entirely inside the tensor: one it shares with a neighbour stays mapped.
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t lo = (begin + page - 1) / page * page, hi = (begin + v.nbytes) / page * page;
  if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
}

namespace {

// Hands put(i, value) every element of a floating tensor read as fp32 (F64 rounds here); false
// for any other dtype. The fp32/bf16 converters below add their same-dtype memcpy fast paths.
template <typename Put>
bool ForEachAsFloat(const TensorView& v, Put put) {
  const int64_t n = v.numel();
  switch (v.dtype) {
    case DType::kF32:
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < n; ++i) {
        float f;
        std::memcpy(&f, v.data + 4 * i, 4);
        put(i, f);
      }
      return true;
    case DType::kBF16:
    case DType::kF16: {
      const bool bf16 = v.dtype == DType::kBF16;
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, v.data + 2 * i, 2);
        put(i, bf16 ? Bf16ToFloat(h) : F16ToFloat(h));
      }
      return true;
    }
    case DType::kF64:
      for (int64_t i = 0; i < n; ++i) {
        double d;
        std::memcpy(&d, v.data + 8 * i, 8);
        put(i, static_cast<float>(d));
      }
      return true;
    default:
      return false;
  }
}

Status NotFloating(const TensorView& v, const std::string& origin) {
  return Status::Error(origin + ": tensor '" + v.name + "' has dtype " +
                       std::string(DTypeName(v.dtype)) +
                       "; expected a floating type (F32, BF16, F16, F64)");
}

}  // namespace

Status ConvertToFloat(const TensorView& v, float* out, const std::string& origin) {
  if (v.dtype == DType::kF32) {
    std::memcpy(out, v.data, static_cast<size_t>(v.numel()) * 4);
    return Status::Ok();
  }
  if (!ForEachAsFloat(v, [out](int64_t i, float f) { out[i] = f; })) return NotFloating(v, origin);
  return Status::Ok();
}

Status ConvertToBf16(const TensorView& v, uint16_t* out, const std::string& origin) {
  if (v.dtype == DType::kBF16) {
    std::memcpy(out, v.data, static_cast<size_t>(v.numel()) * 2);
    return Status::Ok();
  }
  if (!ForEachAsFloat(v, [out](int64_t i, float f) { out[i] = FloatToBf16(f); }))
    return NotFloating(v, origin);
  return Status::Ok();
}

Result<std::vector<int32_t>> ReadInt32(const TensorView& v, const std::string& origin) {
  std::vector<int32_t> out(static_cast<size_t>(v.numel()));
  if (v.dtype == DType::kI32) {
    std::memcpy(out.data(), v.data, out.size() * 4);
  } else if (v.dtype == DType::kI64) {
    for (size_t i = 0; i < out.size(); ++i) {
      int64_t x;
      std::memcpy(&x, v.data + 8 * i, 8);
      if (x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max())
        return Status::Error(origin + ": tensor '" + v.name + "' value out of int32 range");
      out[i] = static_cast<int32_t>(x);
    }
  } else {
    return Status::Error(origin + ": tensor '" + v.name + "' has dtype " +
                         std::string(DTypeName(v.dtype)) + "; expected I32 or I64");
  }
  return out;
}

namespace {

Status WriteAll(int fd, const void* buf, size_t n, const std::string& path) {
  const char* p = static_cast<const char*>(buf);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::Error(path + ": write failed: " + Errno());
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

// Write to a temporary sibling, fsync, rename over the target, fsync the directory.
template <typename WriteBody>
Status AtomicWrite(const std::string& path, WriteBody&& body) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Error(tmp + ": cannot create: " + Errno());
  Status st = body(fd, tmp);
  if (st.ok() && ::fsync(fd) != 0) st = Status::Error(tmp + ": fsync failed: " + Errno());
  if (::close(fd) != 0 && st.ok()) st = Status::Error(tmp + ": close failed: " + Errno());
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string e = Errno();
    ::unlink(tmp.c_str());
    return Status::Error(path + ": rename failed: " + e);
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

}  // namespace

Status WriteSafetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                        const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const TensorToWrite& t : tensors) {
    MBERT_CHECK(t.tensor != nullptr, "null tensor ", t.name);
    MBERT_CHECK(t.dtype == DType::kF32 || t.dtype == DType::kBF16, "unsupported write dtype");
    const uint64_t nbytes =
        static_cast<uint64_t>(t.tensor->numel()) * static_cast<uint64_t>(DTypeSize(t.dtype));
    header[t.name] = {{"dtype", std::string(DTypeName(t.dtype))},
                      {"shape", t.tensor->shape()},
                      {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string hdr = header.dump();
  // Pad with spaces so the data region starts 8-byte aligned (as the reference writer does).
  while ((hdr.size() + 8) % 8 != 0) hdr.push_back(' ');
  return AtomicWrite(path, [&](int fd, const std::string& tmp) -> Status {
    uint8_t len[8];
    uint64_t n = hdr.size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
    MBERT_RETURN_IF_ERROR(WriteAll(fd, len, 8, tmp));
    MBERT_RETURN_IF_ERROR(WriteAll(fd, hdr.data(), hdr.size(), tmp));
    std::vector<uint16_t> buf;
    for (const TensorToWrite& t : tensors) {
      const size_t count = static_cast<size_t>(t.tensor->numel());
      if (t.dtype == DType::kF32) {
        MBERT_RETURN_IF_ERROR(WriteAll(fd, t.tensor->data(), count * 4, tmp));
      } else {
        buf.resize(count);
        for (size_t i = 0; i < count; ++i) buf[i] = FloatToBf16(t.tensor->data()[i]);
        MBERT_RETURN_IF_ERROR(WriteAll(fd, buf.data(), count * 2, tmp));
      }
    }
    return Status::Ok();
  });
}

Status WriteInt32Safetensors(const std::string& path,
                             const std::vector<std::pair<std::string, std::vector<int32_t>>>& t) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  uint64_t offset = 0;
  for (const auto& [name, v] : t) {
    const uint64_t nbytes = v.size() * 4;
    header[name] = {
        {"dtype", "I32"}, {"shape", {v.size()}}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string hdr = header.dump();
  while ((hdr.size() + 8) % 8 != 0) hdr.push_back(' ');
  return AtomicWrite(path, [&](int fd, const std::string& tmp) -> Status {
    uint8_t len[8];
    for (int i = 0; i < 8; ++i)
      len[i] = static_cast<uint8_t>(static_cast<uint64_t>(hdr.size()) >> (8 * i));
    MBERT_RETURN_IF_ERROR(WriteAll(fd, len, 8, tmp));
    MBERT_RETURN_IF_ERROR(WriteAll(fd, hdr.data(), hdr.size(), tmp));
    for (const auto& [name, v] : t)
      MBERT_RETURN_IF_ERROR(WriteAll(fd, v.data(), v.size() * 4, tmp));
    return Status::Ok();
  });
}

Status WriteFileAtomic(const std::string& path, const std::string& contents) {
  return AtomicWrite(path, [&](int fd, const std::string& tmp) {
    return WriteAll(fd, contents.data(), contents.size(), tmp);
  });
}

}  // namespace mbert
