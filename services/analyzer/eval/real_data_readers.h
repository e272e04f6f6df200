// Readers for the real public review datasets the analyzer is measured on (../shared/data, see its
// SOURCES.md), for tests, benchmarks and tools:
//   - Blitzer et al.'s Multi-Domain Sentiment Dataset (`*.review`): pseudo-XML, not well-formed (no root,
//     raw "&"), one tag per line with the value on the lines between; text with HTML entities.
//   - Amazon review data (2018) JSON lines (`*_5.json`): keys in any order, `reviewText`/`summary` optional.
//   - SemEval-2014 task 4 sentences (`*.xml`): a sentence-level polarity set made from the aspect-term
//     labels (ReadSemEvalPolarSentences).
// All give RealReview values. Errors: NOT_FOUND (no file), INVALID_ARGUMENT (naming the line).
#ifndef MARKETLENS_SERVICES_ANALYZER_EVAL_REAL_DATA_READERS_H_
#define MARKETLENS_SERVICES_ANALYZER_EVAL_REAL_DATA_READERS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace marketlens::analyzer {

struct RealReview {
  std::string id;       // Blitzer unique_id; Amazon reviewerID/asin (with a line number when repeated)
  std::string product;  // asin
  std::string title;    // Blitzer title; Amazon summary
  std::string text;     // review text, entities decoded
  int rating = 0;       // 1..5 stars

  // Title and text as the engine reads them ("Title.\nText").
  std::string TitleAndText() const;
};

// Decodes HTML/XML character references: named (&amp; &lt; &gt; &quot; &apos; &nbsp;) and numeric (&#8217;
// &#x2019;) ones, as UTF-8; anything else (a raw "&") is kept as it is.
std::string DecodeHtmlEntities(absl::string_view s);

// One Blitzer `*.review` file. A record without a parsable rating is an error (it names the line).
absl::StatusOr<std::vector<RealReview>> ReadBlitzerReviews(const std::string& path);

// One Amazon JSON-lines file; rows without text and summary are skipped, a line that is not a JSON object
// or lacks `overall` is an error.
absl::StatusOr<std::vector<RealReview>> ReadAmazonJsonLines(const std::string& path);

// SemEval-2014 task 4 XML (sentence/text/aspectTerms/aspectTerm@polarity): the sentences whose aspect terms
// are all positive (rating 5) or all negative (rating 1); sentences without terms, or with neutral,
// conflicting or mixed ones, are left out. Labelled sentences no one here wrote, for sentence-level checks.
absl::StatusOr<std::vector<RealReview>> ReadSemEvalPolarSentences(const std::string& path);

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_EVAL_REAL_DATA_READERS_H_
