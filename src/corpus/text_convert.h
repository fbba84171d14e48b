// Small, lossy converters from markup to the plain text a language model should read. They are
// deliberately simple (no DOM, no docutils): the goal is prose without markup noise, not a
// faithful rendering.
//
// HtmlToText:
//   - <script>, <style>, <head> and <!-- comments --> are dropped with their content;
//   - block elements (p, div, br, li, h1-h6, pre, tr, table, section, dd, dt, blockquote, ...)
//     end a line; </p>, </pre>, headings and </section> end a paragraph (blank line);
//   - every other tag is removed, keeping its text;
//   - entities: &amp; &lt; &gt; &quot; &apos; &#39; &nbsp; and numeric &#NNN; / &#xHH; are decoded
//     (to UTF-8), other named entities are kept as written;
//   - outside <pre>, runs of spaces and tabs become one space and lines are trimmed; blank-line
//     runs collapse to one.
// RstToText (reStructuredText, e.g. Python's and the kernel's documentation):
//   - section adornment lines (a line of one repeated punctuation character, length >= 3) are
//     dropped;
//   - explicit markup ".. directive:: args", ".. _target:", ".. |sub| ..." and comments ".."
//     are dropped with their option lines (":name: value" right below), but the indented body of
//     a directive (e.g. a code-block or note) is kept as text;
//   - roles :role:`text` and :role:`title <target>` become "text" / "title";
//   - ``literal`` becomes literal, `title <url>`_ becomes title, `ref`_ / ref_ become ref, and
//     **strong** / *emphasis* lose their stars.
#pragma once

#include <string>
#include <string_view>

namespace mbert::corpus {

std::string HtmlToText(std::string_view html);
std::string RstToText(std::string_view rst);

}  // namespace mbert::corpus
