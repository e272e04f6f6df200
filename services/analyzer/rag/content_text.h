// Small text helpers of the grounded content (content_service.h): dates, names, excerpts and lists as a
// person reads them, and the retrieved rows ("facts") that generated text may cite.
#ifndef MARKETLENS_SERVICES_ANALYZER_RAG_CONTENT_TEXT_H_
#define MARKETLENS_SERVICES_ANALYZER_RAG_CONTENT_TEXT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace marketlens::analyzer::rag {

// A retrieved row that text may use, with the id it is cited by.
struct Fact {
  std::string source, id, text;
};

// "March 4, 2025".
std::string Date(int64_t micros);
// "Luke Skywalker" -> "Luke"; "there" for an empty name.
std::string FirstName(const std::string& name);
// At most `max` bytes of `text`, cut at a word (and never inside a UTF-8 sequence), with "..." when cut.
std::string Excerpt(absl::string_view text, size_t max = 160);
// The first sentence of `text` that mentions one of `terms` (earlier terms first), else its longest
// sentence (a one-word title such as "Great" says nothing).
std::string SentenceAbout(absl::string_view text, const std::vector<std::string>& terms);
// "1 review", "3 reviews".
std::string Plural(int64_t n, const std::string& one, const std::string& many);
// "a", "a and b", "a, b and c".
std::string JoinAnd(const std::vector<std::string>& items);
// "sound_quality" -> "sound quality".
std::string Humanize(const std::string& aspect);
// "Voltix Bluetooth Speaker, 360 Degree Sound - Black" -> "Voltix Bluetooth Speaker".
std::string ShortTitle(absl::string_view title);

}  // namespace marketlens::analyzer::rag

#endif  // MARKETLENS_SERVICES_ANALYZER_RAG_CONTENT_TEXT_H_
