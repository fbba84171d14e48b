// JSONL examples: one JSON object per line with a text field, an optional second text and a
// label (a string or an integer; a number for regression). Field names are the caller's, with
// the defaults of TableOptions. A line that is not an object, a missing or mistyped field is an
// error naming file, line and (for JSON syntax errors) column; empty lines are errors too.
// Lines are parsed one at a time (bounded memory besides the examples kept).
#pragma once

#include <istream>
#include <string>

#include "data/table_reader.h"

namespace mbert::data {

Result<TextDataset> ReadJsonl(const std::string& path, const TableOptions& opts);
Result<TextDataset> ReadJsonl(std::istream& in, const std::string& name, const TableOptions& opts);

}  // namespace mbert::data
