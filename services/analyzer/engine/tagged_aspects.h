// The engine's use of an aspect tagger (aspect_tagger.h): a review's open-vocabulary terms become its
// aspect mentions, grouped by the taxonomy aspect a term names ("battery life" -> battery) or else by the
// term itself, lower-cased ("keyboard", "windows 8"), with the tagger's term polarity and the term's
// sentence.
#ifndef MARKETLENS_SERVICES_ANALYZER_ENGINE_TAGGED_ASPECTS_H_
#define MARKETLENS_SERVICES_ANALYZER_ENGINE_TAGGED_ASPECTS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "services/analyzer/engine/aspect_tagger.h"
#include "services/analyzer/engine/aspects.h"
#include "services/analyzer/engine/engine.h"
#include "services/analyzer/engine/tokenizer.h"

namespace marketlens::analyzer {

// The aspect a term belongs to: the taxonomy aspect of its last taxonomy word (the head of an English noun
// phrase: "screen resolution" -> screen), *discovered = false; else its words lower-cased and joined by one
// space, *discovered = true. Empty when the term has no word.
std::string AspectForTerm(const AspectTaxonomy& taxonomy, absl::string_view category, absl::string_view term,
                          bool* discovered);

// Appends one mention per aspect (polarity: the mean of its terms' P(positive) - P(negative); quote: the
// sentence of its first term), in order of first appearance, for the terms the tagger finds in `text.text`.
void AddTaggedAspects(const AspectTagger& tagger, const AspectTaxonomy& taxonomy, absl::string_view category,
                      const TokenizedText& text, std::vector<AspectMention>* out);

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_ENGINE_TAGGED_ASPECTS_H_
