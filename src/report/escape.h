#pragma once

// Text handling shared by the report renderers: making journaled bytes safe to show, and
// escaping for each output format. Pure functions.
//
// The journal holds raw process output: ANSI colour codes, carriage returns from progress
// bars, NULs, invalid UTF-8. SanitizeText turns it into text every format can carry (valid
// UTF-8 and only characters XML 1.0 allows), once, in the loader; the renderers then only
// escape.

#include <string>
#include <string_view>

namespace stagecraft::report {

// Drops ANSI escape sequences and control characters other than tab and newline, turns
// "\r\n" and lone '\r' into '\n', replaces invalid UTF-8 with U+FFFD, and drops C1 controls
// and the non-characters U+FFFE/U+FFFF (which XML forbids).
std::string SanitizeText(std::string_view bytes);

// & < > " ' as character references: valid in HTML text and attributes and in XML.
// ASCII control characters other than tab, newline and carriage return are dropped.
void AppendXmlEscaped(std::string& out, std::string_view text);
std::string XmlEscaped(std::string_view text);

// For Markdown inline text (table cells, list items, headings): backslash-escapes the
// characters that would start markup or raw HTML, and flattens newlines to spaces, so the
// text renders literally.
std::string MarkdownInline(std::string_view text);

// A backtick fence longer than any backtick run in `content` (at least three), so the
// content cannot close its own code block.
std::string MarkdownFence(std::string_view content);

// At most `max_bytes` of `text`, cut at a UTF-8 character boundary, with "…" appended
// when cut.
std::string Ellipsize(std::string_view text, size_t max_bytes);

}  // namespace stagecraft::report
