#include "services/collector/csv_reader.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace marketlens::collector {
namespace {

struct Rec {
  int64_t line;
  std::vector<std::string> fields;
  std::string error;
  std::string raw;
};

// Reads `input` fed in chunks of `chunk` bytes.
std::vector<Rec> ReadAll(const std::string& input, size_t chunk = 1 << 20, CsvOptions options = {},
                         size_t expected = 0, CsvReader* out_reader = nullptr) {
  CsvReader local(options);
  CsvReader& reader = out_reader ? *out_reader : local;
  reader.set_expected_fields(expected);
  std::vector<Rec> out;
  size_t offset = 0;
  CsvRecord r;
  for (;;) {
    auto result = reader.Next(&r);
    if (result == CsvReader::Result::kEnd) break;
    if (result == CsvReader::Result::kNeedMore) {
      if (offset >= input.size()) {
        reader.Finish();
      } else {
        reader.Feed(absl::string_view(input).substr(offset, chunk));
        offset += chunk;
      }
      continue;
    }
    Rec rec{r.line, {}, r.error, std::string(r.raw)};
    for (auto f : r.fields) rec.fields.emplace_back(f);
    out.push_back(std::move(rec));
  }
  return out;
}

using Fields = std::vector<std::string>;

TEST(CsvReader, SimpleRecordsAndLineEnds) {
  for (size_t chunk : {1, 2, 3, 7, 1 << 20}) {
    auto recs = ReadAll("a,b,c\n1,2,3\r\n4,5,6\r7,8,9", chunk);
    ASSERT_EQ(recs.size(), 4u) << chunk;
    EXPECT_EQ(recs[0].fields, (Fields{"a", "b", "c"}));
    EXPECT_EQ(recs[1].fields, (Fields{"1", "2", "3"}));
    EXPECT_EQ(recs[2].fields, (Fields{"4", "5", "6"}));
    EXPECT_EQ(recs[3].fields, (Fields{"7", "8", "9"}));
    EXPECT_EQ(recs[3].line, 4);
    EXPECT_EQ(recs[1].raw, "1,2,3");
  }
}

TEST(CsvReader, BomIsStripped) {
  for (size_t chunk : {1, 2, 100}) {
    auto recs = ReadAll("\xEF\xBB\xBFid,name\n1,x\n", chunk);
    ASSERT_EQ(recs.size(), 2u);
    EXPECT_EQ(recs[0].fields, (Fields{"id", "name"}));
  }
}

TEST(CsvReader, Utf16IsAFileError) {
  CsvReader reader;
  auto recs = ReadAll(std::string("\xFF\xFEi\0d\0", 6), 100, {}, 0, &reader);
  EXPECT_TRUE(recs.empty());
  EXPECT_NE(reader.file_error().find("UTF-16"), std::string::npos);
}

TEST(CsvReader, QuotedFieldsWithDelimitersQuotesAndNewlines) {
  const std::string input =
      "id,notes,n\n1,\"a, b\",2\n2,\"say \"\"hi\"\"\",3\n3,\"line one\nline two\r\nthree\",4\n4,x,5\n";
  for (size_t chunk : {1, 5, 1 << 20}) {
    auto recs = ReadAll(input, chunk, {}, 3);
    ASSERT_EQ(recs.size(), 5u) << chunk;
    EXPECT_EQ(recs[1].fields, (Fields{"1", "a, b", "2"}));
    EXPECT_EQ(recs[2].fields, (Fields{"2", "say \"hi\"", "3"}));
    EXPECT_EQ(recs[3].fields, (Fields{"3", "line one\nline two\r\nthree", "4"}));
    EXPECT_EQ(recs[3].line, 4);
    EXPECT_EQ(recs[4].line, 7);  // the quoted field spanned lines 4..6
    EXPECT_EQ(recs[4].fields, (Fields{"4", "x", "5"}));
  }
}

TEST(CsvReader, LenientQuotes) {
  auto recs = ReadAll("a,b\n  \"x\" ,5\" screen\n\"ab\"cd,e\n");
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[1].fields, (Fields{"x ", "5\" screen"}));
  EXPECT_EQ(recs[2].fields, (Fields{"abcd", "e"}));
}

TEST(CsvReader, BlankLinesAreSkippedButCounted) {
  auto recs = ReadAll("a,b\n\n\r\n1,2\n\n");
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].line, 4);
}

TEST(CsvReader, EmptyFieldsAndTrailingDelimiter) {
  auto recs = ReadAll("a,b,c\n,,\n1,,3,\n");
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[1].fields, (Fields{"", "", ""}));
  EXPECT_EQ(recs[2].fields, (Fields{"1", "", "3", ""}));
}

TEST(CsvReader, DetectsDelimiter) {
  {
    CsvReader reader;
    auto recs = ReadAll("a;b;\"c;d\"\n1;2,5;3\n", 1 << 20, {}, 0, &reader);
    EXPECT_EQ(reader.delimiter(), ';');
    ASSERT_EQ(recs.size(), 2u);
    EXPECT_EQ(recs[1].fields, (Fields{"1", "2,5", "3"}));
  }
  {
    CsvReader reader;
    auto recs = ReadAll("a\tb\n1\t2\n", 2, {}, 0, &reader);
    EXPECT_EQ(reader.delimiter(), '\t');
    EXPECT_EQ(recs[1].fields, (Fields{"1", "2"}));
  }
  {
    CsvReader reader;
    auto recs = ReadAll("single\nv\n", 1 << 20, {}, 0, &reader);
    EXPECT_EQ(reader.delimiter(), ',');
  }
}

TEST(CsvReader, UnclosedQuoteDoesNotSwallowTheNeighbours) {
  // Line 3 opens a quote that the quote on line 5 would close: the multi-line record would have the wrong
  // width (4 fields), so line 3 alone is reported and lines 4.. are read normally.
  const std::string input = "id,name,n\n1,a,1\n2,\"broken,2\n3,c,3\n\"4\",d,4\n5,e,5\n";
  for (size_t chunk : {1, 4, 1 << 20}) {
    auto recs = ReadAll(input, chunk, {}, 3);
    ASSERT_EQ(recs.size(), 6u) << chunk;
    EXPECT_EQ(recs[2].line, 3);
    EXPECT_NE(recs[2].error.find("unbalanced quote"), std::string::npos);
    EXPECT_EQ(recs[2].raw, "2,\"broken,2");
    EXPECT_EQ(recs[3].fields, (Fields{"3", "c", "3"}));
    EXPECT_EQ(recs[3].line, 4);
    EXPECT_EQ(recs[4].fields, (Fields{"4", "d", "4"}));
    EXPECT_EQ(recs[5].fields, (Fields{"5", "e", "5"}));
    EXPECT_EQ(recs[5].line, 6);
  }
}

TEST(CsvReader, UnclosedQuoteAtEndOfFile) {
  auto recs = ReadAll("id,name\n1,\"open\n2,b\n3,c\n", 1 << 20, {}, 2);
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_NE(recs[1].error.find("not closed"), std::string::npos);
  EXPECT_EQ(recs[1].line, 2);
  EXPECT_EQ(recs[2].fields, (Fields{"2", "b"}));
  EXPECT_EQ(recs[3].fields, (Fields{"3", "c"}));
  EXPECT_EQ(recs[3].line, 4);
}

TEST(CsvReader, OverlongRecordIsReportedAndSkipped) {
  CsvOptions options;
  options.max_record_bytes = 100;
  const std::string input = "a,b\n1," + std::string(1000, 'x') + "\n2,y\n";
  for (size_t chunk : {7, 64, 1 << 20}) {
    auto recs = ReadAll(input, chunk, options, 2);
    ASSERT_EQ(recs.size(), 3u) << chunk;
    EXPECT_NE(recs[1].error.find("longer than 100"), std::string::npos);
    EXPECT_EQ(recs[2].fields, (Fields{"2", "y"}));
    EXPECT_EQ(recs[2].line, 3);
  }
}

TEST(CsvReader, MemoryStaysBoundedWhileStreaming) {
  std::string input = "id,text\n";
  for (int i = 0; i < 200000; ++i) absl::StrAppend(&input, i, ",some text for row ", i, "\n");
  CsvReader reader;
  size_t offset = 0, records = 0;
  CsvRecord r;
  for (;;) {
    auto result = reader.Next(&r);
    if (result == CsvReader::Result::kEnd) break;
    if (result == CsvReader::Result::kNeedMore) {
      if (offset >= input.size()) {
        reader.Finish();
      } else {
        reader.Feed(absl::string_view(input).substr(offset, 64 << 10));
        offset += 64 << 10;
      }
      continue;
    }
    ++records;
  }
  EXPECT_EQ(records, 200001u);
  EXPECT_GT(input.size(), 5u << 20);
  EXPECT_LT(reader.peak_buffered_bytes(), 200u << 10);
}

}  // namespace
}  // namespace marketlens::collector
