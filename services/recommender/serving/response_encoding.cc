#include "services/recommender/serving/response_encoding.h"

#include <cstring>

namespace marketlens::recommender {
namespace {

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Proto3: an empty string is not written.
void PutString(int field, absl::string_view value, std::string* out) {
  if (value.empty()) return;
  PutVarint(static_cast<uint64_t>(field) << 3 | 2, out);
  PutVarint(value.size(), out);
  out->append(value.data(), value.size());
}

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// What PutString (PutReason) and PutDouble write, in bytes, for fields 1-15 (a one-byte tag): a string of
// `length` bytes, nothing when empty.
size_t StringFieldSize(size_t length) { return length == 0 ? 0 : 1 + VarintSize(length) + length; }
size_t DoubleFieldSize(double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits == 0 ? 0 : 1 + 8;
}

// A reason's parts, as one string field.
void PutReason(int field, const ReasonText& value, std::string* out) {
  if (value.empty()) return;
  PutVarint(static_cast<uint64_t>(field) << 3 | 2, out);
  PutVarint(value.size(), out);
  value.AppendTo(out);
}

// Proto3: a double is written unless its bits are all zero (so -0.0 is written, as the generated code does).
void PutDouble(int field, double value, std::string* out) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  if (bits == 0) return;
  PutVarint(static_cast<uint64_t>(field) << 3 | 1, out);
  char little_endian[8];
  for (int k = 0; k < 8; ++k) little_endian[k] = static_cast<char>(bits >> (8 * k));
  out->append(little_endian, sizeof(little_endian));
}

// RecommendedItem fields 5-7 for the item: from the catalogue entry, else the model's category.
void PutProductFields(const CatalogItem* product, const ServingModel* model, int32_t model_index,
                      std::string* out) {
  if (product != nullptr) {
    PutString(5, product->info.title, out);
    PutString(6, product->info.category, out);
    if (product->price) PutDouble(7, *product->price, out);
  } else if (model != nullptr && model_index >= 0 &&
             model_index < static_cast<int32_t>(model->bundle().item_category.size())) {
    PutString(6, model->bundle().item_category[model_index], out);
  }
}

const CatalogItem* ProductOf(const Candidate& c, const CatalogSnapshot* catalog) {
  return catalog != nullptr ? CatalogEntry(*catalog, c) : nullptr;
}

int32_t ModelIndexOf(const Candidate& c, const ServingModel* model) {
  if (model == nullptr) return -1;
  return c.model_index >= 0 ? c.model_index : model->bundle().items.Find(c.item_id);
}

}  // namespace

void AddRecommendedItems(const std::vector<Candidate>& items, const ServingModel* model,
                         const CatalogSnapshot* catalog,
                         google::protobuf::RepeatedPtrField<v1::RecommendedItem>* out) {
  for (const Candidate& c : items) {
    auto* item = out->Add();
    item->set_item_id(c.item_id);
    item->set_score(c.score);
    c.reason.AppendTo(item->mutable_reason());
    item->set_source(std::string(c.source));
    // By the catalogue index the engine resolved (the same snapshot), else by id.
    const CatalogItem* product = ProductOf(c, catalog);
    if (product != nullptr) {
      item->set_title(product->info.title);
      item->set_category(product->info.category);
      if (product->price) item->set_price(*product->price);
    } else if (model != nullptr) {
      const int32_t index = ModelIndexOf(c, model);
      if (index >= 0 && index < static_cast<int32_t>(model->bundle().item_category.size())) {
        item->set_category(model->bundle().item_category[index]);
      }
    }
  }
}

ItemFieldCache::ItemFieldCache(const ServingModel* model, const CatalogSnapshot* catalog) {
  if (model == nullptr) return;
  const ModelBundle& b = model->bundle();
  // Offsets first (the buffer grows), views once it is complete.
  std::vector<std::pair<size_t, size_t>> head_tail(b.num_items());
  for (int32_t i = 0; i < b.num_items(); ++i) {
    head_tail[i].first = bytes_.size();
    PutString(1, b.items.Name(i), &bytes_);
    head_tail[i].second = bytes_.size();
    const CatalogItem* product = catalog != nullptr ? catalog->Find(b.items.Name(i)) : nullptr;
    PutProductFields(product, model, i, &bytes_);
  }
  fields_.resize(b.num_items());
  const absl::string_view all(bytes_);
  for (int32_t i = 0; i < b.num_items(); ++i) {
    const size_t end = i + 1 < b.num_items() ? head_tail[i + 1].first : bytes_.size();
    fields_[i].head = all.substr(head_tail[i].first, head_tail[i].second - head_tail[i].first);
    fields_[i].tail = all.substr(head_tail[i].second, end - head_tail[i].second);
  }
}

void ItemFieldCache::Prefetch(const std::vector<Candidate>& items) const {
  for (const Candidate& c : items) {
    if (const Fields* f = ForModelItem(c.model_index)) __builtin_prefetch(f);
  }
  for (const Candidate& c : items) {
    if (const Fields* f = ForModelItem(c.model_index)) {
      __builtin_prefetch(f->head.data());
      __builtin_prefetch(f->tail.data() + f->tail.size() - (f->tail.empty() ? 0 : 1));
    }
  }
}

std::shared_ptr<const ItemFieldCache> ItemFieldCaches::For(const ServingModel* model,
                                                           const CatalogSnapshot* catalog) {
  if (model == nullptr) return nullptr;
  const std::pair<uint64_t, uint64_t> key(model->instance_id(),
                                          catalog != nullptr ? catalog->instance_id() : 0);
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [k, cache] : caches_) {
      if (k == key) return cache;
    }
  }
  auto cache = std::make_shared<const ItemFieldCache>(model, catalog);
  absl::MutexLock lock(&mu_);
  if (caches_.size() >= 8) caches_.erase(caches_.begin());  // the oldest pair: keeps it bounded
  caches_.emplace_back(key, cache);
  return cache;
}

void ResponseWriter::AddItem(const Candidate& c, const ItemFieldCache* fields, const ServingModel* model,
                             const CatalogSnapshot* catalog) {
  // The cached fields hold for an item the model has and whose catalogue entry is the one the cache was
  // built from (the engine's candidates of this call: same snapshots).
  const ItemFieldCache::Fields* cached =
      fields != nullptr && c.model_index >= 0 ? fields->ForModelItem(c.model_index) : nullptr;
  if (cached != nullptr) {
    // Written in place: the item's length is known before its bytes.
    const size_t length = cached->head.size() + DoubleFieldSize(c.score) + StringFieldSize(c.reason.size()) +
                          StringFieldSize(c.source.size()) + cached->tail.size();
    out_->push_back(static_cast<char>(1 << 3 | 2));
    PutVarint(length, out_);
    out_->append(cached->head.data(), cached->head.size());
    PutDouble(2, c.score, out_);
    PutReason(3, c.reason, out_);
    PutString(4, c.source, out_);
    out_->append(cached->tail.data(), cached->tail.size());
    return;
  }
  item_.clear();
  PutString(1, c.item_id, &item_);
  PutDouble(2, c.score, &item_);
  PutReason(3, c.reason, &item_);
  PutString(4, c.source, &item_);
  PutProductFields(ProductOf(c, catalog), model, ModelIndexOf(c, model), &item_);
  out_->push_back(static_cast<char>(1 << 3 | 2));
  PutVarint(item_.size(), out_);
  out_->append(item_);
}

void ResponseWriter::SetTrailer(const std::string& model_version, const std::string& experiment_id,
                                const std::string& variant) {
  PutString(2, model_version, out_);
  PutString(3, experiment_id, out_);
  PutString(4, variant, out_);
}

}  // namespace marketlens::recommender
