// UTF-8 validity, for text that came from outside (clients, files) and must end up in JSON or Postgres.
#ifndef MARKETLENS_COMMON_STRINGS_UTF8_H_
#define MARKETLENS_COMMON_STRINGS_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace marketlens::strings {

// Length of the valid UTF-8 sequence starting at text[i] (1..4), or 0 if the bytes there are not one:
// stray continuation bytes, truncated sequences, overlong forms, surrogates, code points past U+10FFFF.
size_t Utf8SequenceLength(absl::string_view text, size_t i);

// `text` with every byte that does not start a valid sequence replaced by U+FFFD.
std::string SanitizeUtf8(absl::string_view text);

// Appends `code_point` encoded as UTF-8; a surrogate or a value past U+10FFFF (not a character) is
// appended as U+FFFD, so the result is always valid UTF-8. For decoders of escapes (JSON \u, XML &#...;).
void AppendUtf8(uint32_t code_point, std::string* out);

}  // namespace marketlens::strings

#endif  // MARKETLENS_COMMON_STRINGS_UTF8_H_
