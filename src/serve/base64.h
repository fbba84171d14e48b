// Base64 (RFC 4648, with padding) of float vectors for OpenAI's encoding_format "base64": the
// floats' little-endian IEEE-754 bytes, which is what OpenAI clients decode with
// numpy.frombuffer(..., dtype="float32").
#pragma once

#include <cstdint>
#include <string>

namespace mbert::serve {

std::string Base64Encode(const uint8_t* data, size_t n);
std::string Base64Floats(const float* v, int64_t n);

}  // namespace mbert::serve
