#include "services/marketplace/replay.h"

#include <zlib.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/marketplace/world.h"

namespace marketlens::marketplace {
namespace {

using ::marketlens::testing::IsOk;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

std::string Write(const std::string& name, const std::string& content) {
  const std::string path = TempPath(name);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

std::string WriteGz(const std::string& name, const std::string& content) {
  const std::string path = TempPath(name);
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, content.data(), static_cast<unsigned>(content.size()));
  gzclose(f);
  return path;
}

const char kReviews[] =
    // 2014 format
    R"({"reviewerID": "A2SUAM1J3GNN3B", "asin": "0000013714", "reviewerName": "J. McDonald", "helpful": [2, 3], "reviewText": "I bought this for my husband who plays the piano.", "overall": 5.0, "summary": "Heavenly Highway Hymns", "unixReviewTime": 1252800000, "reviewTime": "09 13, 2009"})"
    "\n"
    // 2018 format with verified, vote as a string with a comma, style
    R"({"overall": 2.0, "verified": true, "reviewTime": "10 2, 2015", "reviewerID": "A1B2", "asin": "B00ZZZ", "style": {"Format:": " Hardcover"}, "reviewerName": "Kim", "reviewText": "Arrived damaged.", "summary": "Meh", "unixReviewTime": 1443744000, "vote": "1,234"})"
    "\n"
    // exact duplicate of the first line
    R"({"reviewerID": "A2SUAM1J3GNN3B", "asin": "0000013714", "reviewerName": "J. McDonald", "helpful": [2, 3], "reviewText": "I bought this for my husband who plays the piano.", "overall": 5.0, "summary": "Heavenly Highway Hymns", "unixReviewTime": 1252800000, "reviewTime": "09 13, 2009"})"
    "\n"
    // no reviewText (allowed), overall as a string
    R"({"reviewerID": "A1B2", "asin": "0000013714", "overall": "4", "summary": "ok", "unixReviewTime": 1400000000})"
    "\n"
    "\n"  // blank line: skipped, not bad
    R"({"reviewerID": "A9", "asin": "0000013714", "overall": 7, "unixReviewTime": 1400000000})"
    "\n"  // bad: overall
    R"({"asin": "0000013714", "overall": 3, "unixReviewTime": 1400000000})"
    "\n"  // bad: no reviewer
    R"({"reviewerID": "A9", "asin": "0000013714", "overall": 3})"
    "\n"  // bad: no time
    R"({"reviewerID": "A9", "asin": "0000013714", "overall": 3, "unixReviewTime": 1400000000, "reviewText": 5})"
    "\n"                                     // bad: text type
    "{\"reviewerID\": \"A9\", \"asin\": \n"  // bad: truncated JSON
    "[1, 2, 3]\n"                            // bad: not an object
    "this is not json\r\n";                  // bad

TEST(ReplayTest, AmazonReviewsWithMalformedLinesAndDuplicates) {
  ReplayOptions o;
  o.reviews_path = Write("reviews.json", kReviews);
  auto d = Replay(o);
  ASSERT_THAT(d, IsOk()) << d.status();
  ASSERT_EQ(d->replay_files.size(), 1u);
  const auto& fs = d->replay_files[0];
  EXPECT_EQ(fs.format(), "amazon_reviews");
  EXPECT_EQ(fs.lines(), 12);
  EXPECT_EQ(fs.records(), 3);
  EXPECT_EQ(fs.duplicates(), 1);
  EXPECT_EQ(fs.bad_lines(), 7);
  ASSERT_GE(fs.bad_line_examples_size(), 1);
  EXPECT_EQ(fs.bad_line_examples(0), "line 6: overall must be a number 1..5");
  ASSERT_EQ(d->reviews.size(), 3u);
  // In time order with sequential ids.
  EXPECT_EQ(d->reviews[0].id(), "R000000001");
  EXPECT_EQ(d->reviews[0].customer_id(), "A2SUAM1J3GNN3B");
  EXPECT_EQ(d->reviews[0].rating(), 5);
  EXPECT_EQ(d->reviews[0].helpful_votes(), 2);
  EXPECT_EQ(d->reviews[0].title(), "Heavenly Highway Hymns");
  EXPECT_EQ(d->reviews[1].rating(), 4);
  EXPECT_EQ(d->reviews[1].text(), "");
  EXPECT_EQ(d->reviews[2].helpful_votes(), 1234);
  EXPECT_TRUE(d->reviews[2].verified_purchase());
  EXPECT_EQ(d->products.size(), 2u);
  EXPECT_EQ(d->customers.size(), 2u);
  EXPECT_EQ(d->customers[0].id(), "A1B2");
  EXPECT_EQ(d->customers[0].name(), "Kim");
  EXPECT_EQ(d->now, absl::FromUnixSeconds(1443744001));
  auto world = World::Create(*d);
  ASSERT_THAT(world, IsOk()) << world.status();
  EXPECT_EQ((*world)->GetProduct("0000013714")->rating_count(), 2);
  EXPECT_EQ((*world)->Info().source(), "replay");
}

TEST(ReplayTest, AmazonMetadataBothFormatsGzipped) {
  const std::string meta =
      // 2014: a Python repr
      "{'asin': '0000013714', 'title': \"Kid's Hymns\", 'price': 13.02, 'salesRank': {'Books': 3}, "
      "'categories': [['Books', 'Music']], 'brand': 'Hymnal'}\n"
      // 2018: JSON with a string price range and a category list
      R"({"asin": "B00ZZZ", "title": "Speaker", "brand": "Voltix", "price": "$5.99 - $12.99", "category": ["Electronics", "Audio"], "description": ["Loud.", "Small."]})"
      "\n"
      R"({"asin": "B00YYY", "title": "Odd price", "price": "<span>call</span>", "main_cat": "Toys"})"
      "\n"
      R"({"asin": "B00ZZZ", "title": "dup"})"
      "\n"
      R"({"title": "no asin"})"
      "\n"
      "{'asin': 'broken\n";
  ReplayOptions o;
  o.metadata_path = WriteGz("meta.json.gz", meta);
  o.reviews_path = Write("reviews2.json", kReviews);
  auto d = Replay(o);
  ASSERT_THAT(d, IsOk()) << d.status();
  ASSERT_EQ(d->replay_files.size(), 2u);
  const auto& fs = d->replay_files[1];
  EXPECT_EQ(fs.records(), 3);
  EXPECT_EQ(fs.duplicates(), 1);
  EXPECT_EQ(fs.bad_lines(), 2);
  ASSERT_EQ(d->products.size(), 3u);
  auto world = World::Create(*d);
  ASSERT_THAT(world, IsOk()) << world.status();
  auto hymns = (*world)->GetProduct("0000013714");
  EXPECT_EQ(hymns->title(), "Kid's Hymns");
  EXPECT_EQ(hymns->category(), "Books");
  EXPECT_EQ(hymns->brand(), "Hymnal");
  EXPECT_EQ(hymns->price_cents(), 1302);
  EXPECT_EQ(hymns->rating_count(), 2);
  auto speaker = (*world)->GetProduct("B00ZZZ");
  EXPECT_EQ(speaker->price_cents(), 599);
  EXPECT_EQ(speaker->category(), "Electronics");
  EXPECT_EQ(speaker->description(), "Loud.\nSmall.");
  auto odd = (*world)->GetProduct("B00YYY");
  EXPECT_EQ(odd->category(), "Toys");
  EXPECT_EQ(odd->price_cents(), 0);
  EXPECT_EQ(odd->attributes().at("price_raw"), "<span>call</span>");
  EXPECT_EQ((*world)->ListProducts({.category = "Books"}).items.size(), 1u);
}

TEST(ReplayTest, MovieLensRatingsInEveryDialect) {
  const std::string udata =
      "196\t242\t3\t881250949\n"
      "186\t302\t3\t891717742\n"
      "22\t377\t1\t878887116\n"
      "196\t242\t3\t881250949\n"  // duplicate
      "244\t51\t2\n"              // bad: 3 fields
      "166\t346\t9\t886397596\n"  // bad: rating
      "166\t346\t1\tyesterday\n"  // bad: time
      "\t346\t1\t886397596\n";    // bad: empty user
  ReplayOptions o;
  o.ratings_path = Write("u.data", udata);
  auto d = Replay(o);
  ASSERT_THAT(d, IsOk()) << d.status();
  const auto& fs = d->replay_files[0];
  EXPECT_EQ(fs.records(), 3);
  EXPECT_EQ(fs.duplicates(), 1);
  EXPECT_EQ(fs.bad_lines(), 4);
  ASSERT_EQ(d->interactions.size(), 3u);
  auto world = World::Create(*d);
  ASSERT_THAT(world, IsOk()) << world.status();
  auto page = (*world)->ListInteractions({});
  ASSERT_EQ(page.items.size(), 3u);
  EXPECT_EQ(page.items[0].customer_id(), "22");  // earliest first
  EXPECT_EQ(page.items[0].product_id(), "377");
  EXPECT_EQ(page.items[0].type(), v1::INTERACTION_TYPE_RATING);
  EXPECT_EQ(page.items[0].rating(), 1);
  EXPECT_EQ((*world)->Info().customers(), 3);

  ReplayOptions ml1m;
  ml1m.ratings_path = Write("ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n");
  auto d1 = Replay(ml1m);
  ASSERT_THAT(d1, IsOk());
  EXPECT_EQ(d1->interactions.size(), 2u);
  EXPECT_EQ(d1->replay_files[0].bad_lines(), 0);

  ReplayOptions csv;
  csv.ratings_path =
      Write("ratings.csv", "userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,3.5,1260759179\n");
  auto d2 = Replay(csv);
  ASSERT_THAT(d2, IsOk());
  EXPECT_EQ(d2->replay_files[0].bad_lines(), 0);
  ASSERT_EQ(d2->interactions.size(), 2u);
  EXPECT_EQ(d2->interactions[0].rating, 3);  // 2.5 rounds half up
  EXPECT_EQ(d2->interactions[1].rating, 4);
}

TEST(ReplayTest, ErrorsOnlyForMissingFiles) {
  EXPECT_EQ(Replay({}).status().code(), absl::StatusCode::kInvalidArgument);
  ReplayOptions o;
  o.reviews_path = "/nonexistent/reviews.json";
  EXPECT_EQ(Replay(o).status().code(), absl::StatusCode::kNotFound);
  ReplayOptions empty;
  empty.ratings_path = Write("empty.data", "");
  auto d = Replay(empty);
  ASSERT_THAT(d, IsOk());
  EXPECT_THAT(World::Create(*d), IsOk());
}

}  // namespace
}  // namespace marketlens::marketplace
