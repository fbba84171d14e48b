// Fuzz target: the server's request parsers (src/serve/json_requests.cpp) on arbitrary bodies —
// the JSON body, the typed optional fields every route reads, and each input form (inputs,
// predict inputs, id lists). A request the server must refuse throws ApiError (it becomes a
// 400/422 answer); any other exception would reach the client as a 500, so it is a finding, and
// so is every ASan/UBSan report.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "serve/api_error.h"
#include "serve/base64.h"
#include "serve/json_requests.h"

namespace {

template <typename F>
void Expect(F&& f) {
  try {
    f();
  } catch (const mbert::serve::ApiError& e) {
    if (e.status() < 400 || e.status() > 499 || e.message().empty()) std::abort();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "non-ApiError exception escaped: %s\n", e.what());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mbert::serve;
  const std::string body(reinterpret_cast<const char*>(data), size);
  Expect([&] {
    const Json j = ParseBody(body);
    for (const char* key : {"normalize", "truncate", "raw_scores", "return_text",
                            "add_special_tokens", "skip_special_tokens"})
      Expect([&] { (void)OptionalBool(j, key); });
    for (const char* key : {"dimensions", "top_k"}) Expect([&] { (void)OptionalInt(j, key); });
    for (const char* key : {"model", "encoding_format", "truncation_direction", "query"})
      Expect([&] { (void)OptionalString(j, key); });
    for (const char* key : {"inputs", "input", "texts", "ids"}) {
      Expect([&] {
        const Json& v = RequiredField(j, key);
        Expect([&] {
          const ParsedInputs p = ParseInputs(v, key);
          if (p.items.empty() || p.items.size() > kMaxInputsPerRequest) std::abort();
          for (const RawInput& in : p.items) (void)JsonString(in.text);
        });
        Expect([&] { (void)ParsePredictInputs(v, key); });
        Expect([&] { (void)ParseIdLists(v, key); });
      });
    }
  });
  (void)JsonString(body);  // never throws on invalid UTF-8
  (void)Base64Encode(data, size);
  return 0;
}
