// GET /: a small self-contained HTML page (inline CSS and JS, nothing fetched from elsewhere) to
// try the served models from a browser: fill-mask, the cosine similarity of two texts' /embed
// embeddings, and /predict for sequence classifiers. The page calls the server's own routes.
#pragma once

#include <string>

#include "serve/routes.h"
#include "serve/state.h"

namespace mbert::serve {

// The page's HTML (UTF-8).
const char* WebPageHtml();

// The route: the page as text/html. It needs no API key; its requests send the key typed into
// its key field.
Reply WebPage(ServerState& s, const std::string& body);

}  // namespace mbert::serve
