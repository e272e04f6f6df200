#include "services/recommender/data/hygiene.h"

#include <algorithm>
#include <numeric>
#include <vector>

#include "absl/strings/str_cat.h"

namespace marketlens::recommender {

bool IsPositive(EventType type) { return type != EventType::kSkip && type != EventType::kDoNotShow; }

std::string HygieneReport::ToString() const {
  return absl::StrCat("events in ", input_events, ", excluded users' ", excluded_user_events, ", duplicates ",
                      duplicate_events, ", bot users ", bot_users, " (", bot_events,
                      " events), under minimums ", min_count_events, " events (", users_dropped, " users, ",
                      items_dropped, " items, ", core_iterations, " passes), out ", output_events,
                      " events / ", output_users, " users / ", output_items, " items");
}

InteractionLog Clean(const InteractionLog& in, const HygieneOptions& options, HygieneReport* report) {
  HygieneReport r;
  r.input_events = static_cast<int64_t>(in.events.size());

  // Events in (user, item, type, timestamp) order, so duplicates are adjacent; the excluded users' dropped.
  std::vector<bool> excluded_user(in.users.size(), false);
  for (const std::string& u : options.excluded_users) {
    int32_t index = in.users.Find(u);
    if (index >= 0) excluded_user[index] = true;
  }
  std::vector<Event> events;
  events.reserve(in.events.size());
  for (const Event& e : in.events) {
    if (excluded_user[e.user]) {
      ++r.excluded_user_events;
      continue;
    }
    events.push_back(e);
  }
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    if (a.user != b.user) return a.user < b.user;
    if (a.item != b.item) return a.item < b.item;
    if (a.type != b.type) return a.type < b.type;
    return a.timestamp < b.timestamp;
  });

  // 2. Duplicates.
  std::vector<Event> unique;
  unique.reserve(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    if (!unique.empty()) {
      Event& last = unique.back();
      if (last.user == e.user && last.item == e.item && last.type == e.type) {
        if (e.type == EventType::kRating) {
          last = e;  // the latest rating wins
          ++r.duplicate_events;
          continue;
        }
        if (e.timestamp - last.timestamp <= options.duplicate_window_seconds) {
          ++r.duplicate_events;
          continue;  // keep the first of a burst
        }
      }
    }
    unique.push_back(e);
  }

  // 3. Bots: per user, events sorted by time, the most events within any 60 s window.
  std::vector<bool> bot(in.users.size(), false);
  {
    std::vector<int64_t> times;
    size_t begin = 0;
    while (begin < unique.size()) {
      size_t end = begin;
      while (end < unique.size() && unique[end].user == unique[begin].user) ++end;
      const int64_t count = static_cast<int64_t>(end - begin);
      bool is_bot = options.bot_max_events > 0 && count > options.bot_max_events;
      if (!is_bot && options.bot_max_events_per_minute > 0 && count > options.bot_max_events_per_minute) {
        times.clear();
        for (size_t i = begin; i < end; ++i) times.push_back(unique[i].timestamp);
        std::sort(times.begin(), times.end());
        size_t lo = 0;
        for (size_t hi = 0; hi < times.size() && !is_bot; ++hi) {
          while (times[hi] - times[lo] >= 60) ++lo;
          if (static_cast<int64_t>(hi - lo + 1) > options.bot_max_events_per_minute) is_bot = true;
        }
      }
      if (is_bot) {
        bot[unique[begin].user] = true;
        ++r.bot_users;
        r.bot_events += count;
      }
      begin = end;
    }
  }
  std::vector<Event> kept;
  kept.reserve(unique.size());
  for (const Event& e : unique) {
    if (!bot[e.user]) kept.push_back(e);
  }

  // 4. Minimum distinct positive interactions (k-core). Events are grouped by (user, item), so a distinct
  // pair is a run of events with at least one positive.
  std::vector<bool> user_alive(in.users.size(), true), item_alive(in.items.size(), true);
  for (int pass = 0; pass < options.max_core_iterations; ++pass) {
    std::vector<int32_t> user_count(in.users.size(), 0), item_count(in.items.size(), 0);
    for (size_t i = 0; i < kept.size();) {
      size_t j = i;
      bool positive = false;
      while (j < kept.size() && kept[j].user == kept[i].user && kept[j].item == kept[i].item) {
        positive |= IsPositive(kept[j].type);
        ++j;
      }
      if (positive && user_alive[kept[i].user] && item_alive[kept[i].item]) {
        ++user_count[kept[i].user];
        ++item_count[kept[i].item];
      }
      i = j;
    }
    bool changed = false;
    for (size_t u = 0; u < user_count.size(); ++u) {
      if (user_alive[u] && !bot[u] && user_count[u] < options.min_user_interactions) {
        user_alive[u] = false;
        changed = true;
      }
    }
    for (size_t it = 0; it < item_count.size(); ++it) {
      if (item_alive[it] && item_count[it] < options.min_item_interactions) {
        item_alive[it] = false;
        changed = true;
      }
    }
    r.core_iterations = pass + 1;
    if (!changed) break;
  }

  // Output with compact ids, events sorted by (user, timestamp).
  std::stable_sort(kept.begin(), kept.end(), [](const Event& a, const Event& b) {
    if (a.user != b.user) return a.user < b.user;
    return a.timestamp < b.timestamp;
  });
  InteractionLog out;
  std::vector<bool> had_user(in.users.size(), false), had_item(in.items.size(), false);
  for (const Event& e : kept) {
    had_user[e.user] = true;
    had_item[e.item] = true;
    if (!user_alive[e.user] || !item_alive[e.item]) {
      ++r.min_count_events;
      continue;
    }
    Event copy = e;
    copy.user = out.users.Intern(in.users.Name(e.user));
    copy.item = out.items.Intern(in.items.Name(e.item));
    copy.session = e.session < 0 ? -1 : out.sessions.Intern(in.sessions.Name(e.session));
    out.events.push_back(copy);
  }
  for (size_t u = 0; u < had_user.size(); ++u) r.users_dropped += (had_user[u] && !user_alive[u]);
  for (size_t i = 0; i < had_item.size(); ++i) r.items_dropped += (had_item[i] && !item_alive[i]);
  r.output_events = static_cast<int64_t>(out.events.size());
  r.output_users = out.users.size();
  r.output_items = out.items.size();
  if (report != nullptr) *report = r;
  return out;
}

}  // namespace marketlens::recommender
