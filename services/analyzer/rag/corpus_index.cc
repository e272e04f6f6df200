#include "services/analyzer/rag/corpus_index.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "services/analyzer/rag/bm25.h"

namespace marketlens::analyzer::rag {

const char* SourceName(Source source) { return source == Source::kReview ? "review" : "contact"; }

CorpusIndex::CorpusIndex(CorpusIndexOptions options) : options_(options) {}

CorpusIndex::Prepared CorpusIndex::Prepare(const CorpusDoc& doc) {
  Prepared p;
  p.doc = &doc;
  absl::flat_hash_map<std::string, uint32_t> counts;
  for (std::string& t : Terms(doc.text)) {
    ++counts[std::move(t)];
    ++p.length;
  }
  p.counts.assign(counts.begin(), counts.end());
  return p;
}

uint32_t CorpusIndex::Intern(int kind, const std::string& name) {
  auto [it, inserted] = scope_ids_[kind].emplace(name, static_cast<uint32_t>(scope_docs_[kind].size()));
  if (inserted) scope_docs_[kind].emplace_back();
  return it->second;
}

bool CorpusIndex::UpsertLocked(const Prepared& p) {
  const CorpusDoc& doc = *p.doc;
  const int src = static_cast<int>(doc.source);
  auto existing = by_id_[src].find(doc.id);
  if (existing != by_id_[src].end()) {
    if (docs_[existing->second].version >= doc.version) return false;
    RemoveLocked(existing->second);
  } else if (live_ >= options_.max_docs && !by_age_.empty() && doc.micros < by_age_.begin()->first) {
    ++refused_;
    return false;
  }
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<uint32_t>(docs_.size());
    docs_.emplace_back();
  }
  Doc& d = docs_[slot];
  d = Doc();
  d.id = doc.id;
  d.micros = doc.micros;
  d.version = doc.version;
  d.length = p.length;
  d.rating = static_cast<uint8_t>(std::clamp(doc.rating, 0, 255));
  d.source = doc.source;
  d.alive = true;
  d.terms.reserve(p.counts.size());
  for (const auto& [term, count] : p.counts) {
    auto [it, inserted] = term_ids_.emplace(term, 0);
    if (inserted) {
      if (!free_terms_.empty()) {
        it->second = free_terms_.back();
        free_terms_.pop_back();
      } else {
        it->second = static_cast<uint32_t>(df_.size());
        df_.push_back(0);
        postings_.emplace_back();
      }
    }
    const uint32_t id = it->second;
    if (df_[id]++ == 0) ++live_terms_;
    postings_[id].push_back({slot, count});
    d.terms.push_back({id, count});
  }
  std::sort(d.terms.begin(), d.terms.end(),
            [](const TermCount& a, const TermCount& b) { return a.term < b.term; });
  if (!doc.product_id.empty()) {
    d.product = Intern(0, doc.product_id);
    scope_docs_[0][d.product].push_back(slot);
  }
  if (!doc.customer_id.empty()) {
    d.customer = Intern(1, doc.customer_id);
    scope_docs_[1][d.customer].push_back(slot);
  }
  by_age_.insert({d.micros, slot});
  by_id_[src][d.id] = slot;
  ++live_;
  ++live_by_source_[src];
  total_length_ += d.length;
  while (live_ > options_.max_docs && !by_age_.empty()) {
    RemoveLocked(by_age_.begin()->second);
    ++evicted_;
  }
  return true;
}

void CorpusIndex::RemoveLocked(uint32_t slot) {
  Doc& d = docs_[slot];
  if (!d.alive) return;
  d.alive = false;
  for (const TermCount& tc : d.terms) {
    if (--df_[tc.term] == 0) --live_terms_;
  }
  const int src = static_cast<int>(d.source);
  total_length_ -= d.length;
  --live_;
  --live_by_source_[src];
  by_id_[src].erase(d.id);
  for (int kind = 0; kind < 2; ++kind) {
    const uint32_t scope = kind == 0 ? d.product : d.customer;
    if (scope == kNone) continue;
    auto& v = scope_docs_[kind][scope];
    auto it = std::find(v.begin(), v.end(), slot);
    if (it != v.end()) {
      *it = v.back();
      v.pop_back();
    }
  }
  by_age_.erase({d.micros, slot});
  d.id.clear();
  d.id.shrink_to_fit();
  d.terms.clear();
  d.terms.shrink_to_fit();
  dead_.push_back(slot);
}

void CorpusIndex::MaybeCompactLocked() {
  if (dead_.size() <= std::max<size_t>(1024, live_ / 8)) return;
  for (size_t t = 0; t < postings_.size(); ++t) {
    auto& list = postings_[t];
    list.erase(
        std::remove_if(list.begin(), list.end(), [&](const Posting& p) { return !docs_[p.doc].alive; }),
        list.end());
    if (list.capacity() > 2 * list.size() + 8) list.shrink_to_fit();
  }
  // Terms no live document uses give their ids back.
  for (auto it = term_ids_.begin(); it != term_ids_.end();) {
    if (df_[it->second] == 0) {
      postings_[it->second].clear();
      postings_[it->second].shrink_to_fit();
      free_terms_.push_back(it->second);
      term_ids_.erase(it++);
    } else {
      ++it;
    }
  }
  free_.insert(free_.end(), dead_.begin(), dead_.end());
  dead_.clear();
}

bool CorpusIndex::Upsert(const CorpusDoc& doc) {
  const Prepared p = Prepare(doc);
  absl::MutexLock lock(&mu_);
  const bool changed = UpsertLocked(p);
  MaybeCompactLocked();
  return changed;
}

size_t CorpusIndex::UpsertBatch(const std::vector<CorpusDoc>& docs) {
  std::vector<Prepared> prepared;
  prepared.reserve(docs.size());
  for (const CorpusDoc& d : docs) prepared.push_back(Prepare(d));
  size_t changed = 0;
  absl::MutexLock lock(&mu_);
  for (const Prepared& p : prepared) changed += UpsertLocked(p);
  MaybeCompactLocked();
  return changed;
}

bool CorpusIndex::Remove(Source source, const std::string& id) {
  absl::MutexLock lock(&mu_);
  auto it = by_id_[static_cast<int>(source)].find(id);
  if (it == by_id_[static_cast<int>(source)].end()) return false;
  RemoveLocked(it->second);
  MaybeCompactLocked();
  return true;
}

size_t CorpusIndex::RemoveCustomer(const std::string& customer_id) {
  absl::MutexLock lock(&mu_);
  auto scope = scope_ids_[1].find(customer_id);
  if (scope == scope_ids_[1].end()) return 0;
  const std::vector<uint32_t> slots = scope_docs_[1][scope->second];  // a copy: removal edits the list
  size_t removed = 0;
  for (uint32_t slot : slots) {
    if (docs_[slot].alive && docs_[slot].customer == scope->second) {
      RemoveLocked(slot);
      ++removed;
    }
  }
  MaybeCompactLocked();
  return removed;
}

std::vector<std::pair<Source, std::string>> CorpusIndex::CustomerDocs(const std::string& customer_id) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::pair<Source, std::string>> out;
  auto scope = scope_ids_[1].find(customer_id);
  if (scope == scope_ids_[1].end()) return out;
  for (uint32_t slot : scope_docs_[1][scope->second]) {
    if (docs_[slot].alive && docs_[slot].customer == scope->second)
      out.emplace_back(docs_[slot].source, docs_[slot].id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

int CorpusIndex::IndexedVersion(Source source, const std::string& id) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = by_id_[static_cast<int>(source)].find(id);
  return it == by_id_[static_cast<int>(source)].end() ? 0 : docs_[it->second].version;
}

bool CorpusIndex::WouldKeep(int64_t micros) const {
  absl::ReaderMutexLock lock(&mu_);
  return live_ < options_.max_docs || by_age_.empty() || micros >= by_age_.begin()->first;
}

bool CorpusIndex::Matches(const Doc& d, const CorpusFilter& filter, uint32_t product,
                          uint32_t customer) const {
  return d.alive && (!filter.source.has_value() || d.source == *filter.source) &&
         (product == kNone || d.product == product) && (customer == kNone || d.customer == customer) &&
         d.rating >= filter.min_rating;
}

std::vector<CorpusHit> CorpusIndex::Search(absl::string_view query, const CorpusFilter& filter,
                                           size_t k) const {
  std::vector<std::string> words = Terms(query);
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  absl::ReaderMutexLock lock(&mu_);
  std::vector<CorpusHit> hits;
  if (live_ == 0 || k == 0) return hits;
  uint32_t product = kNone, customer = kNone;
  const std::vector<uint32_t>* scope = nullptr;
  for (int kind = 0; kind < 2; ++kind) {
    const std::string& name = kind == 0 ? filter.product_id : filter.customer_id;
    if (name.empty()) continue;
    auto it = scope_ids_[kind].find(name);
    if (it == scope_ids_[kind].end()) return hits;  // nothing of this product / customer is indexed
    (kind == 0 ? product : customer) = it->second;
    const std::vector<uint32_t>& docs = scope_docs_[kind][it->second];
    if (scope == nullptr || docs.size() < scope->size()) scope = &docs;
  }
  const double n = static_cast<double>(live_);
  const double avg_length = std::max(total_length_ / n, 1e-9);
  const double k1 = options_.k1, b = options_.b;
  absl::flat_hash_map<uint32_t, double> scores;
  for (const std::string& word : words) {
    auto t = term_ids_.find(word);
    if (t == term_ids_.end() || df_[t->second] == 0) continue;
    const uint32_t term = t->second;
    const double df = df_[term];
    const double idf = std::log(1 + (n - df + 0.5) / (df + 0.5));
    auto weight = [&](const Doc& d, uint32_t count) {
      const double f = count;
      return idf * f * (k1 + 1) / (f + k1 * (1 - b + b * d.length / avg_length));
    };
    if (scope != nullptr && scope->size() < postings_[term].size()) {
      for (uint32_t slot : *scope) {
        const Doc& d = docs_[slot];
        if (!Matches(d, filter, product, customer)) continue;
        auto it = std::lower_bound(d.terms.begin(), d.terms.end(), term,
                                   [](const TermCount& tc, uint32_t v) { return tc.term < v; });
        if (it != d.terms.end() && it->term == term) scores[slot] += weight(d, it->count);
      }
    } else {
      for (const Posting& p : postings_[term]) {
        const Doc& d = docs_[p.doc];
        if (!Matches(d, filter, product, customer)) continue;
        scores[p.doc] += weight(d, p.count);
      }
    }
  }
  hits.reserve(scores.size());
  for (const auto& [slot, score] : scores) {
    if (score <= 0) continue;
    const Doc& d = docs_[slot];
    hits.push_back({d.source, d.id, d.rating, d.micros, score});
  }
  auto better = [](const CorpusHit& a, const CorpusHit& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.micros != b.micros) return a.micros > b.micros;
    return a.id < b.id;
  };
  if (hits.size() > k) {
    std::partial_sort(hits.begin(), hits.begin() + k, hits.end(), better);
    hits.resize(k);
  } else {
    std::sort(hits.begin(), hits.end(), better);
  }
  return hits;
}

CorpusStats CorpusIndex::stats() const {
  absl::ReaderMutexLock lock(&mu_);
  CorpusStats s;
  s.documents = live_;
  s.reviews = live_by_source_[0];
  s.contacts = live_by_source_[1];
  s.terms = live_terms_;
  s.evicted = evicted_;
  s.refused = refused_;
  size_t bytes = docs_.capacity() * sizeof(Doc);
  for (const Doc& d : docs_) {
    bytes += d.terms.capacity() * sizeof(TermCount);
    if (d.id.capacity() > 15) bytes += d.id.capacity();
  }
  for (const auto& list : postings_) {
    s.postings += list.size();
    bytes += sizeof(list) + list.capacity() * sizeof(Posting);
  }
  bytes += df_.capacity() * sizeof(uint32_t);
  // Hash maps and the age set: entry plus per-entry overhead, roughly.
  bytes += term_ids_.size() * (sizeof(std::string) + 8 + 4);
  for (const auto& m : by_id_) bytes += m.size() * (sizeof(std::string) + 8 + 4);
  for (const auto& m : scope_ids_) bytes += m.size() * (sizeof(std::string) + 8 + 4);
  for (const auto& v : scope_docs_) {
    for (const auto& docs : v) bytes += sizeof(docs) + docs.capacity() * sizeof(uint32_t);
  }
  bytes += by_age_.size() * 48;
  s.approx_bytes = bytes;
  return s;
}

}  // namespace marketlens::analyzer::rag
