// Every business rule on its own, on a hand-made catalogue.
#include "services/recommender/serving/rules.h"

#include "gtest/gtest.h"

namespace marketlens::recommender {
namespace {

CatalogItem Item(const std::string& id, const std::string& category, int stock = 5, double margin = 0.1) {
  CatalogItem item;
  item.id = id;
  item.info.category = category;
  item.info.title = "Title " + id;
  item.stock = stock;
  item.margin = margin;
  return item;
}

std::vector<Candidate> Ranked(std::vector<std::string> ids) {
  std::vector<Candidate> out;
  double score = 100;
  for (const auto& id : ids) out.push_back({id, score--, "r", "als"});
  return out;
}

std::vector<std::string> Ids(const std::vector<Candidate>& c) {
  std::vector<std::string> out;
  for (const auto& x : c) out.push_back(x.item_id);
  return out;
}

class RulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    items_ = {Item("a", "K"), Item("b", "K"), Item("c", "K"),      Item("d", "K"),
              Item("e", "G"), Item("f", "G"), Item("out", "G", 0), Item("rich", "G", 5, 0.6),
              Item("x", "")};
    items_[4].blocked_regions.insert("DE");  // e is not sold in DE
  }
  std::shared_ptr<CatalogSnapshot> Catalog(std::vector<Promotion> promos = {}) {
    return std::make_shared<CatalogSnapshot>(items_, std::move(promos), absl::Now());
  }
  std::vector<CatalogItem> items_;
  RuleConfig config_{.max_per_category = 0};
};

TEST(ReasonTextTest, BorrowedPartsOwnTextAndLiterals) {
  const std::string name = "Hose";
  const ReasonText borrowed = ReasonText::Borrowed("popular in ", name, " this week");
  EXPECT_EQ(borrowed.size(), std::string("popular in Hose this week").size());
  EXPECT_EQ(borrowed, "popular in Hose this week");
  EXPECT_NE(borrowed, "popular in Hose this wee");
  EXPECT_NE(borrowed, "popular in Hosa this week");
  EXPECT_NE(borrowed, "popular at Hose this week");
  EXPECT_NE(borrowed, "popular in Hose this year");
  EXPECT_EQ(borrowed.str(), "popular in Hose this week");
  EXPECT_EQ(borrowed.name().data(), name.data());  // not copied
  std::string appended = "x";
  borrowed.AppendTo(&appended);
  EXPECT_EQ(appended, "xpopular in Hose this week");
  // Own text is shared by copies, not copied.
  const ReasonText own(std::string(40, 'r'));
  const ReasonText copy = own;
  EXPECT_EQ(copy.name().data(), own.name().data());
  EXPECT_EQ(copy, std::string(40, 'r'));
  EXPECT_EQ(ReasonText("promoted"), ReasonText::Borrowed("pro", "mot", "ed"));
  EXPECT_TRUE(ReasonText().empty());
  EXPECT_TRUE(ReasonText("").empty());
}

TEST_F(RulesTest, NeverOutOfStockOrUnknownToTheCatalogue) {
  auto catalog = Catalog();
  RuleContext c{.catalog = catalog.get(), .n = 10};
  EXPECT_EQ(Ids(ApplyBusinessRules(Ranked({"a", "out", "ghost", "b"}), c, config_)),
            (std::vector<std::string>{"a", "b"}));
  // Without a catalogue nothing can be checked, nothing is dropped.
  RuleContext none{.n = 10};
  EXPECT_EQ(Ids(ApplyBusinessRules(Ranked({"a", "out", "ghost"}), none, config_)).size(), 3u);
}

TEST_F(RulesTest, DoNotShowBoughtAndExcluded) {
  auto catalog = Catalog();
  absl::flat_hash_set<std::string> dns = {"a"}, bought = {"b"}, exclude = {"c"};
  RuleContext c{
      .catalog = catalog.get(), .do_not_show = &dns, .bought = &bought, .exclude = &exclude, .n = 10};
  EXPECT_EQ(Ids(ApplyBusinessRules(Ranked({"a", "b", "c", "d"}), c, config_)),
            (std::vector<std::string>{"d"}));
  RuleConfig keep_bought = config_;
  keep_bought.exclude_bought = false;
  EXPECT_EQ(Ids(ApplyBusinessRules(Ranked({"a", "b", "c", "d"}), c, keep_bought)),
            (std::vector<std::string>{"b", "d"}));
}

// The training history's purchases come as sorted model indexes: a candidate is matched by its
// model_index, one without it (and a promoted item) by its id through the model's ids.
TEST_F(RulesTest, BoughtModelItemsByIndexOrById) {
  auto catalog = Catalog();
  IdMap model_items;
  for (const char* id : {"a", "b", "c", "d"}) model_items.Intern(id);
  const std::vector<int32_t> bought = {1, 2};  // b, c
  RuleContext c{.catalog = catalog.get(), .n = 10};
  c.bought_model_items = bought;
  c.model_items = &model_items;
  std::vector<Candidate> candidates = Ranked({"a", "b", "c", "d", "e"});
  candidates[0].model_index = 0;
  candidates[1].model_index = 1;
  candidates[3].model_index = 3;  // c has no model_index: found by id; e is unknown to the model
  EXPECT_EQ(Ids(ApplyBusinessRules(candidates, c, config_)), (std::vector<std::string>{"a", "d", "e"}));
  EXPECT_FALSE(Allowed("c", c, config_));
  EXPECT_TRUE(Allowed("d", c, config_));
  RuleConfig keep_bought = config_;
  keep_bought.exclude_bought = false;
  EXPECT_EQ(Ids(ApplyBusinessRules(candidates, c, keep_bought)),
            (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  EXPECT_TRUE(Allowed("c", c, keep_bought));
}

// The engine's pool leaves ids empty for model items: the rules read them by model_index where a rule
// needs one and fill them in for the kept items (both overloads), with or without a catalogue.
TEST_F(RulesTest, IdsOfModelItemsReadByIndexAndFilledIn) {
  auto catalog = Catalog();
  IdMap model_items;
  for (const char* id : {"a", "b", "c", "d"}) model_items.Intern(id);
  std::vector<Candidate> candidates = Ranked({"a", "b", "c", "d"});
  for (int k = 0; k < 4; ++k) {
    candidates[k].item_id.clear();
    candidates[k].model_index = k;
  }
  absl::flat_hash_set<std::string> dns = {"b"};
  RuleContext c{.catalog = catalog.get(), .do_not_show = &dns, .n = 10};
  c.model_items = &model_items;
  EXPECT_EQ(Ids(ApplyBusinessRules(candidates, c, config_)), (std::vector<std::string>{"a", "c", "d"}));
  std::vector<CandidateRef> refs;
  for (const Candidate& x : candidates) refs.push_back({&x, x.score});
  EXPECT_EQ(Ids(ApplyBusinessRules(absl::MakeConstSpan(refs), c, config_)),
            (std::vector<std::string>{"a", "c", "d"}));
  RuleContext none{.do_not_show = &dns, .n = 10};
  none.model_items = &model_items;
  EXPECT_EQ(Ids(ApplyBusinessRules(candidates, none, config_)), (std::vector<std::string>{"a", "c", "d"}));
}

TEST_F(RulesTest, RegionRestrictions) {
  auto catalog = Catalog();
  RuleContext de{.catalog = catalog.get(), .region = "DE", .n = 10};
  RuleContext us{.catalog = catalog.get(), .region = "US", .n = 10};
  EXPECT_EQ(Ids(ApplyBusinessRules(Ranked({"e", "f"}), de, config_)), (std::vector<std::string>{"f"}));
  EXPECT_EQ(Ids(ApplyBusinessRules(Ranked({"e", "f"}), us, config_)), (std::vector<std::string>{"e", "f"}));
}

TEST_F(RulesTest, HighMarginBoostIsTenPercent) {
  auto catalog = Catalog();
  RuleContext c{.catalog = catalog.get(), .n = 10};
  std::vector<Candidate> in = {{"a", 1.05, "", ""}, {"rich", 1.0, "", ""}, {"b", 1.2, "", ""}};
  auto out = ApplyBusinessRules(in, c, config_);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].item_id, "b");
  EXPECT_EQ(out[1].item_id, "rich");  // 1.0 * 1.1 = 1.1 > 1.05
  EXPECT_DOUBLE_EQ(out[1].score, 1.1);
  EXPECT_EQ(out[2].item_id, "a");
  // Negative scores move up too.
  auto neg = ApplyBusinessRules({{"rich", -1.0, "", ""}}, c, config_);
  EXPECT_DOUBLE_EQ(neg[0].score, -0.9);
}

TEST_F(RulesTest, DiversityCapPerCategoryWithBackfill) {
  auto catalog = Catalog();
  RuleConfig cap = config_;
  cap.max_per_category = 2;
  RuleContext c{.catalog = catalog.get(), .n = 4};
  EXPECT_EQ(Ids(ApplyBusinessRules(Ranked({"a", "b", "c", "d", "e", "f"}), c, cap)),
            (std::vector<std::string>{"a", "b", "e", "f"}));
  // Only K items: the cap yields rather than returning a short list.
  EXPECT_EQ(Ids(ApplyBusinessRules(Ranked({"a", "b", "c", "d"}), c, cap)),
            (std::vector<std::string>{"a", "b", "c", "d"}));
  // Uncategorised items are not capped; diversity can be switched off per call.
  RuleContext off{.catalog = catalog.get(), .n = 3, .diversity = false};
  EXPECT_EQ(Ids(ApplyBusinessRules(Ranked({"a", "b", "c"}), off, cap)),
            (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(RulesTest, TruncatesToN) {
  auto catalog = Catalog();
  RuleContext c{.catalog = catalog.get(), .n = 2};
  EXPECT_EQ(ApplyBusinessRules(Ranked({"a", "b", "c"}), c, config_).size(), 2u);
}

TEST_F(RulesTest, ActivePromotionsAreInserted) {
  const absl::Time now = absl::Now();
  std::vector<Promotion> promos = {
      {.id = "p1",
       .item_id = "f",
       .starts = now - absl::Hours(1),
       .ends = now + absl::Hours(1),
       .slot = 1,
       .label = "Summer sale"},
      {.id = "p2",
       .item_id = "e",
       .starts = now + absl::Hours(1),
       .ends = now + absl::Hours(2),
       .slot = 0},  // not yet
      {.id = "p3",
       .item_id = "d",
       .starts = now - absl::Hours(1),
       .ends = now + absl::Hours(1),
       .surfaces = {"email"}},
      {.id = "p4",
       .item_id = "out",
       .starts = now - absl::Hours(1),
       .ends = now + absl::Hours(1)},  // out of stock
  };
  auto catalog = Catalog(promos);
  RuleContext home{.catalog = catalog.get(), .surface = "home", .now = now, .n = 3};
  auto out = ApplyBusinessRules(Ranked({"a", "b", "c"}), home, config_);
  EXPECT_EQ(Ids(out), (std::vector<std::string>{"a", "f", "b"}));
  EXPECT_EQ(out[1].source, "promotion");
  EXPECT_EQ(out[1].reason, "Summer sale");
  RuleContext email{.catalog = catalog.get(), .surface = "email", .now = now, .n = 3};
  EXPECT_EQ(Ids(ApplyBusinessRules(Ranked({"a", "b", "c"}), email, config_)),
            (std::vector<std::string>{"d", "f", "a"}));
  // An item already listed is not inserted twice.
  EXPECT_EQ(Ids(ApplyBusinessRules(Ranked({"f", "a", "b"}), home, config_)),
            (std::vector<std::string>{"f", "a", "b"}));
}

}  // namespace
}  // namespace marketlens::recommender
