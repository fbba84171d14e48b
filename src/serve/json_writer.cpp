#include "serve/json_writer.h"

#include <charconv>
#include <cmath>

namespace mbert::serve {

void AppendFloat(float v, std::string* out) {
  if (!std::isfinite(v)) {
    *out += "null";
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

void AppendFloatArray(const float* v, int64_t n, std::string* out) {
  out->push_back('[');
  for (int64_t i = 0; i < n; ++i) {
    if (i) out->push_back(',');
    AppendFloat(v[i], out);
  }
  out->push_back(']');
}

double ShortDouble(float v) {
  if (!std::isfinite(v)) return static_cast<double>(v);
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  double d = 0.0;
  std::from_chars(buf, r.ptr, d);
  return d;
}

}  // namespace mbert::serve
