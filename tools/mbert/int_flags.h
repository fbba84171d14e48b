// A CLI11 check for integer flags with a lower bound. CLI11's own PositiveNumber and
// NonNegativeNumber go through double and report `--top-k 0` as "Value 0 not in range 0.000000 to
// 1797693134862315708...": a range that does not even exclude the value. This one names the bound
// and the value as integers ("--top-k: must be an integer >= 1, got '0'").
#pragma once

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdint>
#include <string>
#include <system_error>

namespace mbert::cli {

inline CLI::Validator AtLeast(int64_t lo) {
  const std::string bound = std::to_string(lo);
  return CLI::Validator(
      [lo, bound](std::string& text) -> std::string {
        int64_t v = 0;
        const char* end = text.data() + text.size();
        auto [p, ec] = std::from_chars(text.data(), end, v);
        if (ec == std::errc::result_out_of_range)
          return "must be an integer >= " + bound + " that fits in 64 bits, got '" + text + "'";
        if (ec != std::errc() || p != end || text.empty())
          return "must be an integer >= " + bound + ", got '" + text + "'";
        if (v < lo) return "must be >= " + bound + ", got " + text;
        return std::string();
      },
      "INT>=" + bound);
}

}  // namespace mbert::cli
