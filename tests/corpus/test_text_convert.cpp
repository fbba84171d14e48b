// The HTML and reST converters: markup goes, the text and its paragraphs stay.
#include <gtest/gtest.h>

#include "corpus/text_convert.h"

namespace mbert::corpus {
namespace {

TEST(HtmlToText, DropsMarkupKeepsText) {
  const std::string html =
      "<html><head><title>Ignored</title><STYLE>p { color: red }</STYLE></head><body>"
      "<h1>Install</h1><p>Run <code>make</code> &amp; wait &lt;5&gt; min&#46;</p>"
      "<!-- a comment --><script type='x'>alert(1)</script>"
      "<ul><li>one</li><li>two&nbsp;words</li></ul><p>caf&#xe9;   and\n  more</p>"
      "<pre>  indented\n    code</pre></body></html>";
  EXPECT_EQ(HtmlToText(html),
            "Install\n\nRun make & wait <5> min.\n\none\ntwo words\n\ncafé and more\n\n"
            "  indented\n    code");
}

TEST(HtmlToText, SurvivesBrokenInput) {
  EXPECT_EQ(HtmlToText("text <b"), "text");
  EXPECT_EQ(HtmlToText("<script>never closed"), "");
  EXPECT_EQ(HtmlToText("a &bogus; b &#99999999; c"), "a &bogus; b &#99999999; c");
  EXPECT_EQ(HtmlToText("&#0;"), "\xEF\xBF\xBD");
}

TEST(RstToText, DropsDirectivesAndRoles) {
  const std::string rst =
      "Title\n=====\n\n.. _label:\n\n.. note::\n   :class: warn\n\n   Call :func:`os.open` or\n"
      "   :ref:`the guide <guide>`.\n\n.. This is a comment\n   spanning lines.\n\n"
      "Use ``mbert`` and **bold** *it* with `Python <https://python.org>`_ and refs_.\n\n"
      "Example::\n\n    x = 1\n";
  EXPECT_EQ(RstToText(rst),
            "Title\n\n   Call os.open or\n   the guide.\n\n"
            "Use mbert and bold it with Python and refs.\n\nExample:\n\n    x = 1");
}

}  // namespace
}  // namespace mbert::corpus
