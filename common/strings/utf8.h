// UTF-8 validity, for text that came from outside (clients, files) and must end up in JSON or Postgres.
#ifndef MARKETLENS_COMMON_STRINGS_UTF8_H_
#define MARKETLENS_COMMON_STRINGS_UTF8_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace marketlens::strings {

// Length of the valid UTF-8 sequence starting at text[i] (1..4), or 0 if the bytes there are not one:
// stray continuation bytes, truncated sequences, overlong forms, surrogates, code points past U+10FFFF.
size_t Utf8SequenceLength(absl::string_view text, size_t i);

// `text` with every byte that does not start a valid sequence replaced by U+FFFD.
std::string SanitizeUtf8(absl::string_view text);

}  // namespace marketlens::strings

#endif  // MARKETLENS_COMMON_STRINGS_UTF8_H_
