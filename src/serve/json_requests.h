// Request parsing and validation: the JSON body, typed optional fields, and the input forms the
// routes accept (text, text pairs, token ids). Every check throws ApiError (api_error.h) with
// the status the route answers: malformed JSON 400, a wrong type or an empty input 422.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mbert::serve {

// Most inputs one request may carry (TEI's default max_client_batch_size is 32; mbert is
// roomier, but bounded so one request cannot monopolise the worker).
inline constexpr size_t kMaxInputsPerRequest = 2048;

using Json = nlohmann::json;

// The body as a JSON object: malformed JSON is 400, anything but an object 422.
Json ParseBody(const std::string& body);

// Optional fields: absent or null gives nullopt; a value of the wrong type is 422.
std::optional<bool> OptionalBool(const Json& obj, const char* key);
std::optional<int64_t> OptionalInt(const Json& obj, const char* key);
std::optional<std::string> OptionalString(const Json& obj, const char* key);
// A field that must be present (422 when missing or null).
const Json& RequiredField(const Json& obj, const char* key);

// `s` as a JSON string literal (invalid UTF-8 replaced, never thrown).
std::string JsonString(const std::string& s);

// One input before tokenization: a text, a text pair, or token ids used as given.
struct RawInput {
  std::string text;
  std::optional<std::string> text_pair;
  std::vector<int32_t> ids;
  bool is_ids = false;
};

struct ParsedInputs {
  std::vector<RawInput> items;
  bool batched = false;  // the request sent a list of inputs (the answer is then a list too)
};

// str | [str] | [int] | [[int]]: texts, or token-id sequences ([int] is one sequence).
ParsedInputs ParseInputs(const Json& value, const char* field);

// /predict and friends: str | [str] (one text) | [str, str] (one pair) | [[str] | [str, str]]
// (a batch) | [int] (one id sequence) | [[int]] (a batch of id sequences).
ParsedInputs ParsePredictInputs(const Json& value, const char* field);

// Token ids for /decode: [int] (one sequence) or [[int]].
std::vector<std::vector<int32_t>> ParseIdLists(const Json& value, const char* field);

}  // namespace mbert::serve
