#include "services/recommender/data/interactions.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/files/read_file.h"
#include "common/status/macros.h"

namespace marketlens::recommender {
namespace {

constexpr absl::string_view kEventNames[kEventTypeCount] = {"rating",   "view", "click", "add_to_cart",
                                                            "purchase", "like", "skip",  "do_not_show"};

// MovieLens 100k genre columns of u.item, in order.
constexpr absl::string_view kMovieLensGenres[19] = {
    "unknown",     "Action", "Adventure", "Animation", "Children's", "Comedy",  "Crime",
    "Documentary", "Drama",  "Fantasy",   "Film-Noir", "Horror",     "Musical", "Mystery",
    "Romance",     "Sci-Fi", "Thriller",  "War",       "Western"};

std::vector<absl::string_view> SplitFields(absl::string_view line) {
  if (line.find('\t') != absl::string_view::npos) {
    return absl::StrSplit(line, '\t', absl::SkipWhitespace());
  }
  if (line.find(',') != absl::string_view::npos) return absl::StrSplit(line, ',');
  return absl::StrSplit(line, ' ', absl::SkipWhitespace());
}

absl::Status LineError(absl::string_view name, int line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(name, ":", line, ": ", what));
}

}  // namespace

absl::string_view EventTypeName(EventType type) { return kEventNames[static_cast<int>(type)]; }

std::optional<EventType> ParseEventType(absl::string_view name) {
  for (int i = 0; i < kEventTypeCount; ++i) {
    if (kEventNames[i] == name) return static_cast<EventType>(i);
  }
  return std::nullopt;
}

void InteractionLog::Add(absl::string_view user, absl::string_view item, EventType type, float value,
                         int64_t timestamp, absl::string_view session) {
  Event e;
  e.user = users.Intern(user);
  e.item = items.Intern(item);
  e.type = type;
  e.value = value;
  e.timestamp = timestamp;
  e.session = session.empty() ? -1 : sessions.Intern(session);
  events.push_back(e);
}

std::pair<int64_t, int64_t> InteractionLog::TimeRange() const {
  if (events.empty()) return {0, 0};
  int64_t lo = events[0].timestamp, hi = events[0].timestamp;
  for (const Event& e : events) {
    lo = std::min(lo, e.timestamp);
    hi = std::max(hi, e.timestamp);
  }
  return {lo, hi};
}

absl::StatusOr<InteractionLog> ParseInteractions(absl::string_view text, absl::string_view name,
                                                 const ReadOptions& options) {
  InteractionLog log;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripTrailingAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<absl::string_view> fields = SplitFields(line);
    for (auto& f : fields) f = absl::StripAsciiWhitespace(f);
    if (fields.size() < 3 || fields.size() > 5) {
      return LineError(
          name, line_number,
          absl::StrCat("expected `user item rating [timestamp [event]]`, got ", fields.size(), " fields"));
    }
    float rating = 0;
    if (!absl::SimpleAtof(fields[2], &rating)) {
      // A header line ("userId,movieId,rating,timestamp") is allowed as the first line only.
      if (log.events.empty() && line_number == 1) continue;
      return LineError(name, line_number, absl::StrCat("rating `", fields[2], "` is not a number"));
    }
    if (fields[0].empty() || fields[1].empty()) return LineError(name, line_number, "empty user or item id");
    int64_t timestamp = 0;
    if (fields.size() >= 4 && !absl::SimpleAtoi(fields[3], &timestamp)) {
      double t = 0;  // ratings.csv of some exports writes fractional seconds
      if (!absl::SimpleAtod(fields[3], &t)) {
        return LineError(name, line_number, absl::StrCat("timestamp `", fields[3], "` is not a number"));
      }
      timestamp = static_cast<int64_t>(t);
    }
    EventType type = EventType::kRating;
    if (fields.size() == 5) {
      std::optional<EventType> parsed = ParseEventType(fields[4]);
      if (!parsed) return LineError(name, line_number, absl::StrCat("unknown event type `", fields[4], "`"));
      type = *parsed;
    }
    if (type == EventType::kRating && rating < options.min_rating) continue;
    log.Add(fields[0], fields[1], type, type == EventType::kRating ? rating : 1.0f, timestamp);
  }
  return log;
}

absl::StatusOr<InteractionLog> ReadInteractionsFile(const std::string& path, const ReadOptions& options) {
  ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  return ParseInteractions(text, path, options);
}

std::string FormatUData(const InteractionLog& log) {
  std::string out;
  out.reserve(log.events.size() * 24);
  for (const Event& e : log.events) {
    absl::StrAppend(&out, log.users.Name(e.user), "\t", log.items.Name(e.item), "\t", e.value, "\t",
                    e.timestamp);
    if (e.type != EventType::kRating) absl::StrAppend(&out, "\t", EventTypeName(e.type));
    out.push_back('\n');
  }
  return out;
}

absl::Status WriteUDataFile(const std::string& path, const InteractionLog& log) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write ", path));
  out << FormatUData(log);
  out.close();
  if (!out) return absl::DataLossError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::StatusOr<ItemCatalog> ParseItems(absl::string_view text, absl::string_view name) {
  ItemCatalog catalog;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripTrailingAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    if (line.find('|') != absl::string_view::npos && line.find('\t') == absl::string_view::npos) {
      // MovieLens u.item.
      std::vector<absl::string_view> f = absl::StrSplit(line, '|');
      if (f.size() != 24) {
        return LineError(name, line_number, absl::StrCat("u.item lines have 24 fields, got ", f.size()));
      }
      ItemInfo info;
      info.title = std::string(f[1]);
      std::string genres;
      for (int g = 0; g < 19; ++g) {
        if (f[5 + g] == "1") {
          if (info.category.empty()) info.category = std::string(kMovieLensGenres[g]);
          absl::StrAppend(&genres, genres.empty() ? "" : " ", kMovieLensGenres[g]);
          info.attributes.emplace_back("genre", std::string(kMovieLensGenres[g]));
        }
      }
      info.description = genres;
      if (!f[2].empty())
        info.attributes.emplace_back("year",
                                     std::string(f[2].substr(f[2].size() >= 4 ? f[2].size() - 4 : 0)));
      catalog[std::string(f[0])] = std::move(info);
      continue;
    }
    std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
    if (f.size() < 3 || f.size() > 5) {
      return LineError(name, line_number,
                       "expected `item<TAB>category<TAB>title[<TAB>description[<TAB>k=v;k=v]]`");
    }
    if (f[0].empty()) return LineError(name, line_number, "empty item id");
    ItemInfo info;
    info.category = std::string(f[1]);
    info.title = std::string(f[2]);
    if (f.size() >= 4) info.description = std::string(f[3]);
    if (f.size() == 5) {
      for (absl::string_view kv : absl::StrSplit(f[4], ';', absl::SkipEmpty())) {
        std::pair<absl::string_view, absl::string_view> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
        info.attributes.emplace_back(std::string(p.first), std::string(p.second));
      }
    }
    catalog[std::string(f[0])] = std::move(info);
  }
  return catalog;
}

absl::StatusOr<ItemCatalog> ReadItemsFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  return ParseItems(text, path);
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  return files::ReadFileToString(path, {.read_error = absl::StatusCode::kDataLoss});
}

}  // namespace marketlens::recommender
