// Reads SemEval-2014 task 4 (aspect-based sentiment) XML: <sentences><sentence id><text>..</text>
// <aspectTerms><aspectTerm term polarity from to/></aspectTerms></sentence>...</sentences>.
//
// Why by hand and not with an XML library: the format is flat and fixed, and the one subtlety is in the
// offsets, which a generic parser would not handle anyway: `from`/`to` count Unicode characters (code points)
// of the entity-decoded <text>, not bytes (the laptop file has U+00A0 no-break spaces, 2 bytes
// each in UTF-8), so every term also gets byte offsets here, checked against its `term`.
#ifndef MARKETLENS_SERVICES_ANALYZER_ENGINE_SEMEVAL_XML_H_
#define MARKETLENS_SERVICES_ANALYZER_ENGINE_SEMEVAL_XML_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace marketlens::analyzer {

struct AnnotatedTerm {
  std::string term;
  std::string polarity;                 // positive | negative | neutral | conflict (as annotated)
  uint32_t from = 0, to = 0;            // Unicode characters into the sentence's text, `to` exclusive
  uint32_t byte_from = 0, byte_to = 0;  // the same span in bytes of the UTF-8 text
};

struct AnnotatedSentence {
  std::string id;
  std::string text;  // entity-decoded UTF-8, as the annotators saw it (leading/trailing spaces kept)
  std::vector<AnnotatedTerm> terms;
};

// INVALID_ARGUMENT (naming the sentence and what is wrong) for malformed XML, an unknown entity, offsets
// outside the text, or a term whose offsets do not cover exactly its `term`.
absl::StatusOr<std::vector<AnnotatedSentence>> ParseSemEvalXml(absl::string_view xml);

// Decodes the five XML entities and numeric ones (&#233; &#xE9;); INVALID_ARGUMENT for anything else.
absl::StatusOr<std::string> DecodeXmlEntities(absl::string_view s);

// byte offset of every character boundary of valid UTF-8 `text` (size: characters + 1). Invalid bytes count
// as one character each.
std::vector<uint32_t> CharToByteOffsets(absl::string_view text);

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_ENGINE_SEMEVAL_XML_H_
