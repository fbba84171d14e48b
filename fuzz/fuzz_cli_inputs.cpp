// libFuzzer: the CLI's input parsing (tools/mbert/inputs.cpp) on arbitrary bytes. The first byte
// picks the format (text, jsonl, ids); the rest is parsed as one line (ParseInputLine) and as a
// stream of lines (InputReader, chunk by chunk). Only a Status may come back: no exception, no
// crash, and every record holds what its format promises.
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>

#include "inputs.h"

namespace {

void CheckRecord(const mbert::cli::InputRecord& r, mbert::cli::InputFormat format) {
  // An ids record has ids (non-negative), a text record has no ids; ids format never gives text.
  if (r.has_ids && r.ids.empty()) std::abort();
  if (!r.has_ids && !r.ids.empty()) std::abort();
  for (int32_t id : r.ids)
    if (id < 0) std::abort();
  if (format == mbert::cli::InputFormat::kIds && !r.has_ids) std::abort();
  if (format == mbert::cli::InputFormat::kText && (r.has_ids || r.text.empty())) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using mbert::cli::InputFormat;
  const InputFormat format = data[0] % 3 == 0   ? InputFormat::kText
                             : data[0] % 3 == 1 ? InputFormat::kJsonl
                                                : InputFormat::kIds;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto one = mbert::cli::ParseInputLine(rest, format, "fuzz:1");
  if (one.ok() && one.value()) CheckRecord(*one.value(), format);

  std::istringstream in{std::string(rest)};
  mbert::cli::InputReader reader(&in, format, "fuzz");
  std::vector<mbert::cli::InputRecord> chunk;
  int64_t total = 0;
  while (true) {
    auto more = reader.Next(&chunk);
    if (!more.ok() || !more.value()) break;
    for (const auto& r : chunk) {
      CheckRecord(r, format);
      if (r.line <= 0) std::abort();
    }
    total += static_cast<int64_t>(chunk.size());
  }
  if (total != reader.inputs_read()) std::abort();
  return 0;
}
