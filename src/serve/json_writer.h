// Floats in responses at their shortest round-trip form ("0.1", not nlohmann's double
// rendering "0.10000000149011612"): large float arrays are written straight into the body
// string, single floats are handed to nlohmann as the double that prints the same way.
#pragma once

#include <cstdint>
#include <string>

namespace mbert::serve {

// Appends `v` (null when not finite, as JSON has no NaN).
void AppendFloat(float v, std::string* out);
// Appends [v0,v1,...].
void AppendFloatArray(const float* v, int64_t n, std::string* out);
// The double whose shortest form is the float's shortest form.
double ShortDouble(float v);

}  // namespace mbert::serve
