// The local engine's writers for the content prompts: fluent text from the typed context's facts, and nothing
// else (they never state a fact that was not retrieved), citing the rows they used. The content RPCs
// (content_service.h) fill these contexts; the same facts go into the prompt text for a remote LLM.
#ifndef MARKETLENS_SERVICES_ANALYZER_RAG_CONTENT_WRITERS_H_
#define MARKETLENS_SERVICES_ANALYZER_RAG_CONTENT_WRITERS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "services/analyzer/llm/local_backend.h"
#include "services/analyzer/llm/prompts.h"
#include "services/analyzer/rag/brief_tools.h"
#include "services/analyzer/rag/content_store.h"
#include "services/analyzer/rag/content_text.h"

namespace marketlens::analyzer::rag {

// summarize_interactions
struct SummaryContext : llm::PromptContext {
  std::string who;
  std::vector<std::string> discussed;  // products of discussion in their contact months
  int64_t contacts_total = 0, contacts_loaded = 0, reviews_total = 0, shop_interactions = 0;
  std::string top_channel;
  int top_channel_count = 0;
  std::optional<Contact> last;
  std::vector<std::string> key_topics;
  std::optional<Review> latest_review;
  int sentiment_n = 0;
  double sentiment = 0;
  std::string label;
  std::vector<Fact> facts;
};

// generate_content (a personalised email)
struct EmailContext : llm::PromptContext {
  std::string first_name;
  std::string greeting;  // "Hi Luke", or "Dear Jedi" for a customer known by occupation only
  std::optional<Contact> complaint;
  std::optional<Activity> anchor;
  bool bought = false;
  int review_count = 0;
  double rating = 0;
  std::vector<std::string> praised;  // aspects
  std::string quote;
  std::vector<std::string> pick_titles;
  std::vector<Fact> facts;
};

// generate_brief (an influencer brief)
struct BriefContext : llm::PromptContext {
  std::string name, brand, category, platform, goal;
  double rating = 0;
  int reviews = 0;
  std::vector<std::pair<std::string, std::pair<int, double>>> praised;  // aspect -> (mentions, polarity)
  std::vector<std::pair<std::string, double>> issues;                   // category -> share
  std::vector<std::pair<std::string, std::string>> quotes;              // (review id, sentence)
  int platform_posts = 0;
  double platform_er = -1, overall_er = -1;
  std::vector<std::tuple<std::string, double, std::string>> top_influencers;  // (name, er, best post id)
  std::string segment, region;
  double segment_share = 0;
  PlatformPerformance performance;                    // hashtags and angles that perform on the platform
  std::map<std::string, std::string> angle_examples;  // angle -> the opening line of its best caption
  std::vector<Fact> facts;
};

// Registers the writers for the content prompts (summarize_interactions, generate_content, generate_brief)
// on `backend`.
void RegisterLocalWriters(llm::LocalBackend* backend);
// A local backend with those writers.
std::unique_ptr<llm::LocalBackend> MakeLocalBackend(std::string model = "local-engine");

// "discount_code" -> "discount-code": how a brief names a caption angle.
std::string AngleName(const std::string& angle);

}  // namespace marketlens::analyzer::rag

#endif  // MARKETLENS_SERVICES_ANALYZER_RAG_CONTENT_WRITERS_H_
