// Typed, range-checked reads of the fields of a JSON object that came from outside (config.json,
// a training config, modules.json, trainer_state.json, ...). Every error names the file, the
// field (dotted for nested objects) and what is allowed, e.g.
//   train.json: field 'data.max_seq_len' must be an integer in [2, 1048576], got 0
// Integers are compared with the bounds before any cast, so 4294967300 is an error rather than
// the 4 that get<int>() would make of it; numbers must be finite. An absent or null field leaves
// the output as it was (the caller's default).
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "mbert/status.h"

namespace mbert {

// Checks one JSON value; `field` is the full prefix of the message ("FILE: field 'x'").
Status CheckJsonInt(const nlohmann::json& v, const std::string& field, int64_t lo, int64_t hi,
                    int64_t* out);
// A finite number in [lo, hi], or in (lo, hi] with `lo_open` (e.g. a learning rate above 0).
Status CheckJsonNumber(const nlohmann::json& v, const std::string& field, double lo, double hi,
                       bool lo_open, double* out);

class JsonFields {
 public:
  // `object` must outlive this reader; an error unless it is a JSON object.
  static Result<JsonFields> Of(const nlohmann::json& object, std::string origin,
                               std::string prefix = "");

  bool Has(const char* key) const;  // present and not null
  const nlohmann::json& at(const char* key) const { return (*object_)[key]; }
  const nlohmann::json& object() const { return *object_; }

  // "FILE: field 'prefix.key'", the start of every message about that field.
  std::string Field(std::string_view key) const;
  Status Error(std::string_view key, const std::string& what) const;

  template <typename T>
  Status Int(const char* key, T* out, int64_t lo, int64_t hi) const {
    static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
    if constexpr (sizeof(T) < sizeof(int64_t) || std::is_unsigned_v<T>) {
      // The bounds never reach past the target type, so the cast below cannot wrap.
      lo = std::max<int64_t>(lo, static_cast<int64_t>(std::numeric_limits<T>::min()));
      if (static_cast<uint64_t>(std::numeric_limits<T>::max()) <
          static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        hi = std::min<int64_t>(hi, static_cast<int64_t>(std::numeric_limits<T>::max()));
    }
    if (!Has(key)) return Status::Ok();
    int64_t v = 0;
    MBERT_RETURN_IF_ERROR(CheckJsonInt(at(key), Field(key), lo, hi, &v));
    *out = static_cast<T>(v);
    return Status::Ok();
  }
  Status Number(const char* key, double* out, double lo, double hi, bool lo_open = false) const;
  Status Number(const char* key, float* out, double lo, double hi, bool lo_open = false) const;
  Status Bool(const char* key, bool* out) const;
  Status String(const char* key, std::string* out) const;
  Status StringList(const char* key, std::vector<std::string>* out, size_t max_items) const;
  // A nested object ("data", "optimizer"); absent or null reads as an empty object.
  Result<JsonFields> Object(const char* key) const;
  // An error naming the first field outside `known` (a typo must not be silently ignored).
  Status OnlyKnown(std::initializer_list<std::string_view> known) const;

 private:
  JsonFields(const nlohmann::json* object, std::string origin, std::string prefix)
      : object_(object), origin_(std::move(origin)), prefix_(std::move(prefix)) {}
  const nlohmann::json* object_;
  std::string origin_;
  std::string prefix_;  // "data." inside the training config's "data" object
};

}  // namespace mbert
