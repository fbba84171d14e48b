// Helpers shared by the reader tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "mbert/status.h"

namespace mbert::testing {

inline std::string SharedData() {
  const char* d = std::getenv("MBERT_SHARED_DIR");
  return std::string(d ? d : "../shared") + "/data";
}

// The error message must contain every piece (the location "file:line:col" and the reason).
inline void ExpectErrorHas(const Status& s, std::initializer_list<std::string> pieces) {
  ASSERT_FALSE(s.ok()) << "expected an error";
  for (const std::string& p : pieces)
    EXPECT_NE(s.message().find(p), std::string::npos) << "'" << p << "' not in: " << s.message();
}

}  // namespace mbert::testing
