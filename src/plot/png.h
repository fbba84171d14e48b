// PNG encoding of a Canvas: 8-bit RGB, no interlace, the image data deflated with zlib. The
// whole file is built in memory (a 900x600 plot is a few tens of kilobytes).
#pragma once

#include <string>

#include "mbert/status.h"
#include "plot/canvas.h"

namespace mbert::plot {

// The bytes of a PNG file holding `canvas`; an error only if zlib fails.
Result<std::string> EncodePng(const Canvas& canvas);

}  // namespace mbert::plot
