// The process-wide BM25 index: the same scores as a textbook BM25 over the whole corpus (bm25.h's
// Bm25Index as the reference), in scoped searches too (both ways of walking a scope); versions, removal,
// eviction within max_docs, compaction; and relevant rows ranked first on hand cases.
#include "services/analyzer/rag/corpus_index.h"

#include <atomic>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/analyzer/rag/bm25.h"

namespace marketlens::analyzer::rag {
namespace {

CorpusDoc Review(const std::string& id, const std::string& product, const std::string& customer, int rating,
                 int64_t micros, const std::string& text, int version = 1) {
  return {Source::kReview, id, product, customer, rating, version, micros, text};
}
CorpusDoc Contact(const std::string& id, const std::string& customer, int64_t micros,
                  const std::string& text) {
  return {Source::kContact, id, "", customer, 0, 1, micros, text};
}

std::vector<std::string> Ids(const std::vector<CorpusHit>& hits) {
  std::vector<std::string> out;
  for (const auto& h : hits) out.push_back(h.id);
  return out;
}

// A privacy erasure: every document of one customer goes (reviews and contacts), nobody else's.
TEST(CorpusIndexTest, RemoveCustomerDropsAllTheirDocumentsOnly) {
  CorpusIndex index;
  index.Upsert(Review("r1", "p1", "u1", 5, 1, "battery lasts a week"));
  index.Upsert(Review("r2", "p1", "u2", 4, 2, "battery fine"));
  index.Upsert(Contact("k1", "u1", 3, "battery warranty claim"));
  index.Upsert(Contact("k2", "u1", 4, "parcel late"));
  EXPECT_EQ(index.CustomerDocs("u1"),
            (std::vector<std::pair<Source, std::string>>{
                {Source::kReview, "r1"}, {Source::kContact, "k1"}, {Source::kContact, "k2"}}));
  EXPECT_EQ(index.RemoveCustomer("u1"), 3u);
  EXPECT_TRUE(index.CustomerDocs("u1").empty());
  EXPECT_TRUE(index.Search("battery parcel", {.customer_id = "u1"}, 10).empty());
  EXPECT_EQ(Ids(index.Search("battery", {}, 10)), std::vector<std::string>{"r2"});
  EXPECT_EQ(index.RemoveCustomer("u1"), 0u);
  EXPECT_EQ(index.RemoveCustomer("nobody"), 0u);
  EXPECT_EQ(index.stats().documents, 1u);
}

TEST(CorpusIndexTest, RelevantRowsOfTheScopeComeFirst) {
  CorpusIndex index;
  // Product p1: two reviews about the battery, one about the strap; p2 mentions the battery a lot.
  index.Upsert(Review("r1", "p1", "u1", 5, 1, "Great watch, the battery lasts a week"));
  index.Upsert(Review("r2", "p1", "u2", 2, 2, "The strap broke. Great screen though"));
  index.Upsert(Review("r3", "p1", "u3", 4, 3, "Battery battery battery: two weeks on one charge, great"));
  index.Upsert(Review("r4", "p2", "u1", 5, 4, "Battery great, battery strong, battery forever"));
  index.Upsert(Contact("k1", "u1", 5, "warranty claim. Kinetek watch. strap snapped, replacement sent"));
  index.Upsert(Contact("k2", "u1", 6, "delivery delay. parcel late"));

  EXPECT_EQ(Ids(index.Search("battery", {.product_id = "p1"}, 10)), (std::vector<std::string>{"r3", "r1"}));
  // "great" is in most documents: it barely counts; "strap" decides.
  EXPECT_EQ(Ids(index.Search("great strap", {.product_id = "p1"}, 1)), std::vector<std::string>{"r2"});
  // Only good reviews.
  EXPECT_EQ(Ids(index.Search("strap battery", {.product_id = "p1", .min_rating = 4}, 10)),
            (std::vector<std::string>{"r3", "r1"}));
  // A customer's rows of both sources; only contacts.
  EXPECT_EQ(Ids(index.Search("strap warranty", {.customer_id = "u1"}, 10)), std::vector<std::string>{"k1"});
  EXPECT_EQ(Ids(index.Search("battery late parcel", {.source = Source::kContact, .customer_id = "u1"}, 10)),
            std::vector<std::string>{"k2"});
  // Unknown scope, stopwords only, unknown words: nothing.
  EXPECT_TRUE(index.Search("battery", {.product_id = "p9"}, 10).empty());
  EXPECT_TRUE(index.Search("the and of", {}, 10).empty());
  EXPECT_TRUE(index.Search("zebra", {}, 10).empty());
  EXPECT_TRUE(CorpusIndex().Search("battery", {}, 10).empty());
}

// Random corpora: scores equal a textbook BM25 over the whole corpus, unscoped and per scope, whichever way
// the scope is walked (rare terms walk their postings, common ones the scope's documents).
TEST(CorpusIndexTest, ScoresEqualTextbookBm25OverTheWholeCorpus) {
  std::mt19937 rng(7);
  const std::vector<std::string> vocabulary = {
      "battery", "strap",  "screen", "charge", "hinge",   "parcel", "late",  "refund", "warranty", "sound",
      "bass",    "button", "glass",  "leaks",  "cracked", "smell",  "rash",  "fits",   "small",    "cable",
      "great",   "good",   "bad",    "love",   "hate",    "broken", "works", "fast",   "slow",     "product"};
  std::vector<CorpusDoc> docs;
  std::vector<Document> reference;
  for (int i = 0; i < 600; ++i) {
    std::string text;
    const int words = 3 + static_cast<int>(rng() % 25);
    for (int w = 0; w < words; ++w) {
      // Zipf-like: early words are common.
      const size_t pick = std::min<size_t>(vocabulary.size() - 1, (rng() % 100) * (rng() % 100) / 300);
      absl::StrAppend(&text, w ? " " : "", vocabulary[pick]);
    }
    CorpusDoc d = i % 3 == 0 ? Contact(absl::StrCat("k", i), absl::StrCat("u", i % 40), i, text)
                             : Review(absl::StrCat("r", i), absl::StrCat("p", i % 25),
                                      absl::StrCat("u", i % 40), 1 + i % 5, i, text);
    docs.push_back(d);
    reference.push_back({absl::StrCat(SourceName(d.source), ":", d.id), "", text});
  }
  CorpusIndex index;
  EXPECT_EQ(index.UpsertBatch(docs), docs.size());
  Bm25Index textbook(reference);
  for (const std::string query : {"battery", "strap hinge", "great product", "leaks cracked smell",
                                  "cable rash fits small glass", "love great good works"}) {
    std::map<std::string, double> want;
    for (const Hit& h : textbook.Search(query, docs.size())) want[textbook.docs()[h.doc].id] = h.score;
    auto check = [&](const CorpusFilter& filter, auto in_scope) {
      std::map<std::string, double> got, expected;
      for (const CorpusHit& h : index.Search(query, filter, docs.size()))
        got[absl::StrCat(SourceName(h.source), ":", h.id)] = h.score;
      for (size_t i = 0; i < docs.size(); ++i) {
        const std::string key = absl::StrCat(SourceName(docs[i].source), ":", docs[i].id);
        if (in_scope(docs[i]) && want.contains(key)) expected[key] = want[key];
      }
      ASSERT_EQ(got.size(), expected.size()) << query;
      for (const auto& [key, score] : expected) EXPECT_NEAR(got[key], score, 1e-9) << query << " " << key;
    };
    check({}, [](const CorpusDoc&) { return true; });
    check({.product_id = "p7"}, [](const CorpusDoc& d) { return d.product_id == "p7"; });
    check({.customer_id = "u3"}, [](const CorpusDoc& d) { return d.customer_id == "u3"; });
    check({.source = Source::kReview, .product_id = "p4", .customer_id = "u4", .min_rating = 3},
          [](const CorpusDoc& d) {
            return d.source == Source::kReview && d.product_id == "p4" && d.customer_id == "u4" &&
                   d.rating >= 3;
          });
    // Best first.
    auto hits = index.Search(query, {}, 20);
    for (size_t i = 1; i < hits.size(); ++i) EXPECT_GE(hits[i - 1].score, hits[i].score);
  }
}

TEST(CorpusIndexTest, VersionsReplaceAndRemoveForgets) {
  CorpusIndex index;
  EXPECT_TRUE(index.Upsert(Review("r1", "p1", "", 5, 1, "the hinge is solid", 2)));
  EXPECT_FALSE(index.Upsert(Review("r1", "p1", "", 1, 1, "the hinge cracked", 1)));  // older
  EXPECT_FALSE(index.Upsert(Review("r1", "p1", "", 1, 1, "the hinge cracked", 2)));  // same
  EXPECT_EQ(Ids(index.Search("cracked", {}, 5)), std::vector<std::string>{});
  EXPECT_TRUE(index.Upsert(Review("r1", "p1", "", 1, 1, "the hinge cracked", 3)));  // an edit
  EXPECT_EQ(Ids(index.Search("cracked", {}, 5)), std::vector<std::string>{"r1"});
  EXPECT_TRUE(index.Search("solid", {}, 5).empty());
  EXPECT_EQ(index.IndexedVersion(Source::kReview, "r1"), 3);
  EXPECT_EQ(index.IndexedVersion(Source::kContact, "r1"), 0);  // ids are per source
  EXPECT_TRUE(index.Remove(Source::kReview, "r1"));
  EXPECT_FALSE(index.Remove(Source::kReview, "r1"));
  EXPECT_TRUE(index.Search("cracked", {}, 5).empty());
  EXPECT_EQ(index.stats().documents, 0u);
}

// At most max_docs documents, the newest; churn (edits, evictions) is compacted away and scores stay
// those of the documents alive.
TEST(CorpusIndexTest, BoundedToTheNewestDocumentsThroughChurn) {
  CorpusIndex index({.max_docs = 500});
  std::vector<Document> alive;
  for (int i = 0; i < 5000; ++i) {
    const std::string text = absl::StrCat("word", i % 50, " common term", i % 7, " unique", i);
    index.Upsert(Review(absl::StrCat("r", i), absl::StrCat("p", i % 10), "", 5, i, text));
    // Every third document is edited once.
    if (i % 3 == 0)
      index.Upsert(Review(absl::StrCat("r", i), absl::StrCat("p", i % 10), "", 5, i, text + " edited", 2));
  }
  const CorpusStats s = index.stats();
  EXPECT_EQ(s.documents, 500u);
  EXPECT_EQ(s.evicted, 4500u);
  // Tombstones are purged once they pass 1024 documents (each document has 4-5 terms).
  EXPECT_LE(s.postings, (500u + 1025u) * 5);
  EXPECT_LT(s.terms, 700u);  // the evicted documents' unique words are gone
  // The oldest are gone, the newest kept; an old document is refused by the full index.
  EXPECT_EQ(index.IndexedVersion(Source::kReview, "r4499"), 0);
  EXPECT_EQ(index.IndexedVersion(Source::kReview, "r4501"), 1);
  EXPECT_EQ(index.IndexedVersion(Source::kReview, "r4998"), 2);
  EXPECT_FALSE(index.WouldKeep(10));
  EXPECT_FALSE(index.Upsert(Review("old", "p1", "", 5, 10, "ancient words")));
  EXPECT_EQ(index.stats().refused, 1u);
  EXPECT_TRUE(index.Search("ancient", {}, 5).empty());
  // Scores are a textbook BM25's over the 500 alive.
  for (int i = 4500; i < 5000; ++i) {
    std::string text = absl::StrCat("word", i % 50, " common term", i % 7, " unique", i);
    if (i % 3 == 0) text += " edited";
    alive.push_back({absl::StrCat("r", i), "review", text});
  }
  Bm25Index textbook(alive);
  for (const std::string query : {"word7 edited", "term3 unique4711", "common"}) {
    auto want = textbook.Search(query, 1000);
    auto got = index.Search(query, {}, 1000);
    ASSERT_EQ(got.size(), want.size()) << query;
    std::map<std::string, double> by_id;
    for (const auto& h : got) by_id[h.id] = h.score;
    for (const auto& h : want) EXPECT_NEAR(by_id[textbook.docs()[h.doc].id], h.score, 1e-9) << query;
  }
  std::printf("500 documents after 5000 upserts + 1667 edits: %zu postings, %zu terms, ~%zu KB\n", s.postings,
              s.terms, s.approx_bytes / 1024);
}

TEST(CorpusIndexTest, SearchesRunWhileDocumentsArrive) {
  CorpusIndex index({.max_docs = 2000});
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 20000; ++i) {
      index.Upsert(Review(absl::StrCat("r", i), absl::StrCat("p", i % 20), "", 5, i,
                          absl::StrCat("battery ", i % 2 ? "great" : "awful", " strap", i % 13)));
    }
    done = true;
  });
  int searches = 0;
  while (!done.load()) {
    for (const auto& h : index.Search("battery strap3", {.product_id = "p3"}, 5)) EXPECT_GT(h.score, 0);
    ++searches;
  }
  writer.join();
  EXPECT_GT(searches, 0);
  EXPECT_EQ(index.stats().documents, 2000u);
}

}  // namespace
}  // namespace marketlens::analyzer::rag
