#include "services/collector/ingest_schema.h"

#include <optional>
#include <string>
#include <vector>

#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace marketlens::collector {
namespace {

using Values = RowValues;
using ::marketlens::testing::IsOk;

std::vector<absl::string_view> V(const std::vector<std::string>& s) {
  return std::vector<absl::string_view>(s.begin(), s.end());
}

std::optional<std::string> Get(const KindSpec& spec, const Values& values, const std::string& column) {
  for (size_t c = 0; c < spec.columns.size(); ++c) {
    if (spec.columns[c].name == column) {
      return values[c].present ? std::optional<std::string>(values[c].text) : std::nullopt;
    }
  }
  ADD_FAILURE() << "no column " << column;
  return std::nullopt;
}

TEST(RowValidator, MatchesHeadersByNameInAnyOrder) {
  const KindSpec* spec = FindKind("campaign_posts");
  ASSERT_NE(spec, nullptr);
  std::vector<std::string> header = {"Posted At", "campaignId",    " INFLUENCER ", "Platform", "Views",
                                     "likes",     "Comment Count", "shares",       "notes",    ""};
  auto v = RowValidator::Create(spec, V(header));
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->ignored_columns(), (std::vector<std::string>{"notes"}));
  std::vector<std::string> row = {"Jan 15, 2024", " C1 ", "@anna", "Instagram", "1,200",
                                  "100",          "10",   "2",     "x",         ""};
  Values values;
  auto problem = v->Validate(V(row), &values);
  ASSERT_FALSE(problem.has_value()) << problem->reason;
  EXPECT_EQ(Get(*spec, values, "campaign_id"), "C1");
  EXPECT_EQ(Get(*spec, values, "influencer"), "@anna");
  EXPECT_EQ(Get(*spec, values, "platform"), "instagram");
  EXPECT_EQ(Get(*spec, values, "views"), "1200");
  EXPECT_EQ(Get(*spec, values, "comments"), "10");
  EXPECT_EQ(Get(*spec, values, "product_id"), "");
  EXPECT_EQ(Get(*spec, values, "posted_at"), "2024-01-15 00:00:00.000000+00");
  // No id column: derived from the normalised content, so another date format gives the same id.
  const std::string id = *Get(*spec, values, "id");
  EXPECT_EQ(id.substr(0, 3), "cp_");
  row[0] = "2024-01-15";
  row[4] = "1200";
  ASSERT_FALSE(v->Validate(V(row), &values).has_value());
  EXPECT_EQ(*Get(*spec, values, "id"), id);
  row[2] = "@bob";
  ASSERT_FALSE(v->Validate(V(row), &values).has_value());
  EXPECT_NE(*Get(*spec, values, "id"), id);
}

TEST(RowValidator, CampaignPostCaptionsAndHashtagsAreOptional) {
  const KindSpec* spec = FindKind("campaign_posts");
  ASSERT_NE(spec, nullptr);
  // Both columns: the hashtags cell wins, split on spaces, commas and '#', lower-cased.
  auto both =
      RowValidator::Create(spec, V({"campaign", "influencer", "platform", "date", "Caption", "Hashtags"}));
  ASSERT_THAT(both, IsOk());
  Values values;
  ASSERT_FALSE(
      both->Validate(V({"C1", "@a", "tiktok", "2024-01-15", "Look! #Tutorial", "#Tutorial, fyp#Ad"}), &values)
          .has_value());
  EXPECT_EQ(Get(*spec, values, "caption"), "Look! #Tutorial");
  EXPECT_EQ(Get(*spec, values, "hashtags"), "{\"tutorial\",\"fyp\",\"ad\"}");
  // An empty hashtags cell: the caption's #tags. "n/a": none.
  ASSERT_FALSE(both->Validate(V({"C1", "@a", "tiktok", "2024-01-15", "Look! #Tutorial #fyp", ""}), &values)
                   .has_value());
  EXPECT_EQ(Get(*spec, values, "hashtags"), "{\"tutorial\",\"fyp\"}");
  ASSERT_FALSE(both->Validate(V({"C1", "@a", "tiktok", "2024-01-15", "plain", "n/a"}), &values).has_value());
  EXPECT_EQ(Get(*spec, values, "hashtags"), "{}");
  // Only a caption column: hashtags from it.
  auto caption_only = RowValidator::Create(spec, V({"campaign", "influencer", "platform", "date", "text"}));
  ASSERT_THAT(caption_only, IsOk());
  ASSERT_FALSE(caption_only->Validate(V({"C1", "@a", "x", "2024-01-15", "so good #HonestReview"}), &values)
                   .has_value());
  EXPECT_EQ(Get(*spec, values, "caption"), "so good #HonestReview");
  EXPECT_EQ(Get(*spec, values, "hashtags"), "{\"honestreview\"}");
  // Neither: empty caption, no hashtags (the old file shape still loads).
  auto neither = RowValidator::Create(spec, V({"campaign", "influencer", "platform", "date"}));
  ASSERT_THAT(neither, IsOk());
  ASSERT_FALSE(neither->Validate(V({"C1", "@a", "x", "2024-01-15"}), &values).has_value());
  EXPECT_EQ(Get(*spec, values, "caption"), "");
  EXPECT_EQ(Get(*spec, values, "hashtags"), "{}");
  // Bad bytes in a caption refuse the row, naming the column.
  auto problem = caption_only->Validate(V({"C1", "@a", "x", "2024-01-15", "caf\xE9"}), &values);
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->column, "caption");
}

TEST(RowValidator, MissingRequiredColumnFailsTheFile) {
  auto v = RowValidator::Create(FindKind("campaign_posts"), V({"campaign_id", "influencer", "views"}));
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("platform"), std::string::npos);
  EXPECT_NE(v.status().message().find("posted_at"), std::string::npos);
}

TEST(RowValidator, DuplicateColumnFailsTheFileButBetterNamesWin) {
  auto dup =
      RowValidator::Create(FindKind("contacts"), V({"customer_id", "Customer ID", "started_at", "channel"}));
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("duplicate"), std::string::npos);
  // "date" is only an alias of started_at: the exact name wins, the alias is ignored.
  auto ok = RowValidator::Create(FindKind("contacts"), V({"date", "customer_id", "started_at", "channel"}));
  ASSERT_THAT(ok, IsOk());
  EXPECT_EQ(ok->ignored_columns(), (std::vector<std::string>{"date"}));
}

TEST(RowValidator, RefusesBadRowsWithColumnAndReason) {
  const KindSpec* spec = FindKind("campaign_posts");
  auto v = RowValidator::Create(
      spec, V({"post_id", "campaign_id", "influencer", "platform", "views", "likes", "posted_at"}));
  ASSERT_THAT(v, IsOk());
  Values values;
  auto p = v->Validate(V({"p1", "C1", "anna", "tiktok", "abc", "-3", "2024-02-30"}), &values);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->column, "views");
  EXPECT_NE(p->reason.find("views: not a number"), std::string::npos);
  EXPECT_NE(p->reason.find("likes: negative"), std::string::npos);
  EXPECT_NE(p->reason.find("posted_at: impossible date"), std::string::npos);

  p = v->Validate(V({"p1", "N/A", "anna", "tiktok", "1", "1", "2024-01-01"}), &values);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->column, "campaign_id");
  EXPECT_NE(p->reason.find("missing value"), std::string::npos);

  p = v->Validate(V({"p1", "C1", "anna", "tiktok", "1", "1", "2024-01-01", "extra"}), &values);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->column, "");
  EXPECT_NE(p->reason.find("8 fields"), std::string::npos);

  p = v->Validate(V({"p1", "C\xE9", "anna", "tiktok", "1", "1", "2024-01-01"}), &values);
  ASSERT_TRUE(p.has_value());
  EXPECT_NE(p->reason.find("UTF-8"), std::string::npos);

  // Empty counts are 0; a row longer or shorter than the header is malformed, even with empty extras.
  EXPECT_FALSE(v->Validate(V({"p1", "C1", "anna", "tiktok", "", "", "2024-01-01"}), &values).has_value());
  EXPECT_EQ(Get(*spec, values, "views"), "0");
  EXPECT_EQ(Get(*spec, values, "id"), "p1");
  p = v->Validate(V({"p1", "C1", "anna", "tiktok", "", "", "2024-01-01", "", " "}), &values);
  ASSERT_TRUE(p.has_value());
  EXPECT_NE(p->reason.find("malformed line: 9 fields but the header has 7"), std::string::npos) << p->reason;
  p = v->Validate(V({"p1", "C1", "anna", "tiktok", "5"}), &values);
  ASSERT_TRUE(p.has_value());
  EXPECT_NE(p->reason.find("malformed line: 5 fields but the header has 7 (the row is cut short)"),
            std::string::npos)
      << p->reason;
}

TEST(RowValidator, ContactsAndInteractions) {
  const KindSpec* contacts = FindKind("contacts");
  auto v = RowValidator::Create(contacts, V({"Customer", "Date", "Medium", "Subject", "Sentiment", "Notes"}));
  ASSERT_THAT(v, IsOk());
  Values values;
  ASSERT_FALSE(
      v->Validate(V({"C7", "15/01/2024 10:00", "Phone", "refund", "-40%", "line1\nline2"}), &values));
  EXPECT_EQ(Get(*contacts, values, "channel"), "call");
  EXPECT_EQ(Get(*contacts, values, "sentiment"), "-0.40000000000000002");
  EXPECT_EQ(Get(*contacts, values, "notes"), "line1\nline2");
  auto p = v->Validate(V({"C7", "2024-01-15", "fax", "", "2", ""}), &values);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->column, "sentiment");  // "fax" is kept as another channel; 2 is out of range
  EXPECT_EQ(v->notes().other_channels.at("fax"), 1);
  ASSERT_FALSE(v->Validate(V({"C7", "2024-01-15", "chat", "", "", ""}), &values));
  EXPECT_EQ(Get(*contacts, values, "sentiment"), std::nullopt);

  const KindSpec* interactions = FindKind("interactions");
  auto iv = RowValidator::Create(interactions, V({"user", "item", "event", "stars", "timestamp"}));
  ASSERT_THAT(iv, IsOk());
  ASSERT_FALSE(iv->Validate(V({"U1", "P1", "Add to cart", "", "2024-01-15"}), &values));
  EXPECT_EQ(Get(*interactions, values, "type"), "add_to_cart");
  p = iv->Validate(V({"U1", "P1", "rating", "", "2024-01-15"}), &values);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->column, "rating");
  p = iv->Validate(V({"U1", "P1", "rating", "6", "2024-01-15"}), &values);
  ASSERT_TRUE(p.has_value());
  EXPECT_NE(p->reason.find("not 1..5"), std::string::npos);
}

TEST(RowValidator, BlankRows) {
  EXPECT_TRUE(RowValidator::IsBlank(V({"", " ", "\t"})));
  EXPECT_FALSE(RowValidator::IsBlank(V({"", "x"})));
}

// The briefs' own headers and the usual variants.
TEST(RowValidator, RealHeaderNames) {
  const std::vector<std::string> brief001 = {
      "\xEF\xBB\xBF"
      "campaignId",
      "influencerId",
      "Platform",
      "Post Date",
      "views",
      "likes",
      "comments",
      "shares"};
  auto posts = RowValidator::Create(FindKind("campaign_posts"), V(brief001));
  ASSERT_THAT(posts, IsOk());
  EXPECT_EQ(posts->matched_columns(), 8u);
  EXPECT_TRUE(posts->ignored_columns().empty());
  const std::vector<std::string> ext = {"Date Start", "Interaction", "Customers", "Topic", "Sentiment"};
  auto contacts = RowValidator::Create(FindKind("contacts"), V(ext));
  ASSERT_THAT(contacts, IsOk());
  EXPECT_EQ(contacts->matched_columns(), 5u);
  for (const std::vector<std::string>& header :
       {std::vector<std::string>{"campaign_id", "influencer_id", "PLATFORM", "post_date", "Views (count)"},
        std::vector<std::string>{"CampaignID", "Influencer Id", "platform", "postDate [UTC]", "likes"}}) {
    auto v = RowValidator::Create(FindKind("campaign_posts"), V(header));
    ASSERT_THAT(v, IsOk());
    EXPECT_EQ(v->matched_columns(), 5u);
  }
  // Kinds detected from the header alone.
  EXPECT_EQ(DetectKind(V(brief001))->spec->kind, "campaign_posts");
  EXPECT_EQ(DetectKind(V(ext))->spec->kind, "contacts");
  EXPECT_EQ(DetectKind(V({"Customer Id", "Occupation", "Type"}))->spec->kind, "customers");
  EXPECT_EQ(DetectKind(V({"Date", "Product"}))->spec->kind, "discussed_products");
  EXPECT_FALSE(DetectKind(V({"name", "age"})).has_value());
  EXPECT_FALSE(DetectKind(V({"Customer Id"})).has_value());  // a lone id says nothing
}

TEST(RowValidator, MissingColumnNamesTheHeaderReadAndTheNamesAccepted) {
  auto v = RowValidator::Create(FindKind("campaign_posts"),
                                V({"campaignId", "handle_name", "Platform", "Post Date"}));
  ASSERT_FALSE(v.ok());
  const std::string m(v.status().message());
  EXPECT_NE(m.find("missing required column(s) influencer (accepted names, any case, spacing or _: "
                   "influencer/influencerid/influencerhandle/"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("(campaign_posts header read: campaignId, handle_name, Platform, Post Date)"),
            std::string::npos)
      << m;
}

}  // namespace
}  // namespace marketlens::collector
