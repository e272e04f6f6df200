#include "services/marketplace/export.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "services/marketplace/generator.h"
#include "services/marketplace/replay.h"

namespace marketlens::marketplace {
namespace {

using ::marketlens::testing::IsOk;

std::string TempDir(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// Strict RFC 4180 for one physical line: nullopt on a stray or unbalanced quote.
std::optional<std::vector<std::string>> ParseCsvLine(const std::string& line) {
  std::vector<std::string> fields;
  std::string cur;
  size_t i = 0;
  while (true) {
    cur.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) return std::nullopt;
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            cur.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        cur.push_back(line[i++]);
      }
      if (i < line.size() && line[i] != ',') return std::nullopt;
    } else {
      while (i < line.size() && line[i] != ',') {
        if (line[i] == '"') return std::nullopt;
        cur.push_back(line[i++]);
      }
    }
    fields.push_back(cur);
    if (i >= line.size()) return fields;
    ++i;  // comma
  }
}

GeneratedWorld Small() {
  GeneratorOptions o;
  o.products = 60;
  o.seed = 4;
  auto g = Generate(o);
  EXPECT_THAT(g, IsOk());
  return *std::move(g);
}

TEST(ExportTest, CleanExportRoundTripsThroughReplay) {
  GeneratedWorld g = Small();
  ExportOptions o;
  o.out_dir = TempDir("clean");
  o.mess_rate = 0;
  auto sum = ExportWorld(g.data, o);
  ASSERT_THAT(sum, IsOk()) << sum.status();
  EXPECT_EQ(sum->products, 60);
  EXPECT_EQ(sum->messy_rows, 0);
  EXPECT_EQ(Lines(o.out_dir + "/summary.txt").at(0), sum->Line());
  EXPECT_EQ(
      sum->Line().rfind(absl::StrCat("products=60 reviews=", g.data.reviews.size(), " interactions="), 0), 0u)
      << sum->Line();
  EXPECT_EQ(Lines(o.out_dir + "/interactions.csv").size(), g.data.interactions.size() + 1);
  EXPECT_EQ(Lines(o.out_dir + "/csv_mess.csv").size(), 1u);
  EXPECT_EQ(Lines(o.out_dir + "/truth_reviews.jsonl").size(), g.data.reviews.size());
  EXPECT_EQ(Lines(o.out_dir + "/truth_influencers.jsonl").size(), g.data.influencer_truth.size());
  EXPECT_EQ(Lines(o.out_dir + "/truth_captions.jsonl").size(), g.data.caption_truth.size());
  EXPECT_GT(g.data.caption_truth.size(), 20u);
  {
    // Campaign posts carry their caption and "#tag #tag" hashtags.
    const auto lines = Lines(o.out_dir + "/campaign_posts.csv");
    ASSERT_EQ(lines.size(), g.data.posts.size() + 1);
    const std::vector<std::string> header = *ParseCsvLine(lines[0]);
    ASSERT_GE(header.size(), 12u);
    EXPECT_EQ(header[10], "caption");
    EXPECT_EQ(header[11], "hashtags");
    const auto first = *ParseCsvLine(lines[1]);
    EXPECT_EQ(first[10], g.data.posts[0].caption());
    EXPECT_EQ(first[11].rfind("#" + g.data.posts[0].hashtags(0), 0), 0u) << first[11];
  }

  ReplayOptions r;
  r.reviews_path = o.out_dir + "/reviews.json";
  r.metadata_path = o.out_dir + "/meta.json";
  r.ratings_path = o.out_dir + "/u.data";
  auto back = Replay(r);
  ASSERT_THAT(back, IsOk()) << back.status();
  for (const auto& f : back->replay_files) {
    EXPECT_EQ(f.bad_lines(), 0) << f.path() << " "
                                << (f.bad_line_examples_size() ? f.bad_line_examples(0) : "");
    EXPECT_EQ(f.duplicates(), 0) << f.path();
  }
  EXPECT_EQ(back->reviews.size(), g.data.reviews.size());
  EXPECT_EQ(back->replay_files[2].records(), sum->ratings);
  // Texts and titles survive the JSON round trip.
  std::multiset<std::string> before, after;
  for (const auto& x : g.data.reviews) before.insert(x.title() + "|" + x.text());
  for (const auto& x : back->reviews) after.insert(x.title() + "|" + x.text());
  EXPECT_EQ(before, after);
  std::map<std::string, int64_t> prices;
  for (const auto& p : back->products) prices[p.id()] = p.price_cents();
  for (const auto& p : g.data.products) EXPECT_EQ(prices[p.id()], p.price_cents()) << p.id();
  // Every clean CSV line parses with the header's column count.
  for (const char* name : {"products.csv", "customers.csv", "reviews.csv", "interactions.csv",
                           "campaign_posts.csv", "contacts.csv"}) {
    const auto lines = Lines(o.out_dir + "/" + name);
    const size_t columns = ParseCsvLine(lines.at(0))->size();
    for (size_t i = 1; i < lines.size(); ++i) {
      auto fields = ParseCsvLine(lines[i]);
      ASSERT_TRUE(fields.has_value()) << name << ":" << i + 1 << " " << lines[i];
      ASSERT_EQ(fields->size(), columns) << name << ":" << i + 1;
    }
  }
}

TEST(ExportTest, MessyCsvsMatchTheirManifest) {
  GeneratedWorld g = Small();
  ExportOptions o;
  o.out_dir = TempDir("messy");
  o.mess_rate = 0.1;
  o.truth = false;
  auto sum = ExportWorld(g.data, o);
  ASSERT_THAT(sum, IsOk()) << sum.status();
  const auto manifest = Lines(o.out_dir + "/csv_mess.csv");
  ASSERT_EQ(static_cast<int64_t>(manifest.size()) - 1, sum->messy_rows);
  EXPECT_GT(sum->messy_rows, 100);
  std::map<std::string, std::map<int, std::pair<std::string, std::string>>>
      mess;  // file -> line -> (column, kind)
  std::map<std::string, int> kinds;
  for (size_t i = 1; i < manifest.size(); ++i) {
    std::vector<std::string> f = absl::StrSplit(manifest[i], ',');
    ASSERT_EQ(f.size(), 4u) << manifest[i];
    int line = 0;
    ASSERT_TRUE(absl::SimpleAtoi(f[1], &line));
    mess[f[0]][line] = {f[2], f[3]};
    kinds[f[3]]++;
  }
  for (const char* k :
       {"missing_value", "bad_date", "wrong_type", "duplicate", "stray_quote", "wrong_column_count"}) {
    EXPECT_GT(kinds[k], 0) << k;
  }
  EXPECT_FALSE(std::filesystem::exists(o.out_dir + "/truth_reviews.jsonl"));
  int checked = 0;
  for (const char* name : {"products.csv", "customers.csv", "reviews.csv", "interactions.csv",
                           "campaign_posts.csv", "contacts.csv"}) {
    const auto lines = Lines(o.out_dir + "/" + name);
    const std::vector<std::string> header = *ParseCsvLine(lines.at(0));
    for (size_t i = 1; i < lines.size(); ++i) {
      const int line = static_cast<int>(i) + 1;
      auto fields = ParseCsvLine(lines[i]);
      auto it = mess[name].find(line);
      if (it == mess[name].end()) {
        ASSERT_TRUE(fields.has_value()) << name << ":" << line;
        ASSERT_EQ(fields->size(), header.size()) << name << ":" << line;
        continue;
      }
      ++checked;
      const auto& [column, kind] = it->second;
      if (kind == "stray_quote") {
        EXPECT_FALSE(fields.has_value()) << name << ":" << line << " " << lines[i];
      } else if (kind == "wrong_column_count") {
        ASSERT_TRUE(fields.has_value());
        EXPECT_NE(fields->size(), header.size());
      } else if (kind == "duplicate") {
        EXPECT_EQ(lines[i], lines[i - 1]) << name << ":" << line;
      } else {
        ASSERT_TRUE(fields.has_value()) << name << ":" << line;
        size_t c = 0;
        while (c < header.size() && header[c] != column) ++c;
        ASSERT_LT(c, header.size()) << column;
        const std::string& v = (*fields)[c];
        if (kind == "bad_date") {
          absl::Time t;
          std::string err;
          EXPECT_FALSE(absl::ParseTime("%Y-%m-%dT%H:%M:%SZ", v, &t, &err)) << v;
        } else if (kind == "wrong_type") {
          double x;
          EXPECT_FALSE(absl::SimpleAtod(v, &x) && v != "true" && v != "false") << v;
        } else if (kind == "missing_value") {
          EXPECT_TRUE(v.empty() || v == "NULL" || v == "N/A" || v == " ") << v;
        }
      }
    }
  }
  EXPECT_EQ(checked, sum->messy_rows);
}

TEST(ExportTest, NeedsADirectory) {
  EXPECT_EQ(ExportWorld(WorldData(), {}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CsvFieldTest, QuotesOnlyWhenNeeded) {
  EXPECT_EQ(CsvField("plain"), "plain");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
}

}  // namespace
}  // namespace marketlens::marketplace
