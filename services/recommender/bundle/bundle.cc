#include "services/recommender/bundle/bundle.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/files/read_file.h"
#include "common/status/macros.h"

namespace marketlens::recommender {
namespace {

constexpr char kMagic[8] = {'M', 'L', 'R', 'E', 'C', 'B', '0', '1'};
constexpr uint32_t kFormatVersion = 2;  // 2: the NCF section at the end; 1 is still read

uint64_t Fnv1a64(const char* data, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 1099511628211ull;
  }
  return h;
}

class Writer {
 public:
  template <typename T>
  void Pod(T v) {
    out_.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  void String(const std::string& s) {
    Pod<uint64_t>(s.size());
    out_.append(s);
  }
  template <typename T>
  void Vector(const std::vector<T>& v) {
    Pod<uint64_t>(v.size());
    out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  void Strings(const std::vector<std::string>& v) {
    Pod<uint64_t>(v.size());
    for (const auto& s : v) String(s);
  }
  void Csr(const CsrMatrix& m) {
    Pod<int32_t>(m.rows);
    Pod<int32_t>(m.cols);
    Vector(m.indptr);
    Vector(m.indices);
    Vector(m.values);
  }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  Reader(const char* data, size_t size) : p_(data), end_(data + size) {}
  template <typename T>
  bool Pod(T* v) {
    if (static_cast<size_t>(end_ - p_) < sizeof(T)) return Fail();
    std::memcpy(v, p_, sizeof(T));
    p_ += sizeof(T);
    return true;
  }
  bool String(std::string* s) {
    uint64_t n;
    if (!Pod(&n) || static_cast<uint64_t>(end_ - p_) < n) return Fail();
    s->assign(p_, n);
    p_ += n;
    return true;
  }
  template <typename T>
  bool Vector(std::vector<T>* v) {
    uint64_t n;
    if (!Pod(&n) || n > static_cast<uint64_t>(end_ - p_) / sizeof(T)) return Fail();
    v->resize(n);
    std::memcpy(v->data(), p_, n * sizeof(T));
    p_ += n * sizeof(T);
    return true;
  }
  bool Strings(std::vector<std::string>* v) {
    uint64_t n;
    if (!Pod(&n) || n > static_cast<uint64_t>(end_ - p_) / 8) return Fail();
    v->resize(n);
    for (auto& s : *v) {
      if (!String(&s)) return false;
    }
    return true;
  }
  bool Csr(CsrMatrix* m) {
    return Pod(&m->rows) && Pod(&m->cols) && Vector(&m->indptr) && Vector(&m->indices) && Vector(&m->values);
  }
  bool done() const { return p_ == end_; }
  bool failed() const { return failed_; }

 private:
  bool Fail() {
    failed_ = true;
    return false;
  }
  const char* p_;
  const char* end_;
  bool failed_ = false;
};

absl::Status CheckCsr(const CsrMatrix& m, int32_t rows, int32_t cols, const char* what) {
  if (m.rows != rows || m.cols != cols || m.indptr.size() != static_cast<size_t>(rows) + 1 ||
      m.indptr[0] != 0 || m.indptr.back() != static_cast<int64_t>(m.indices.size()) ||
      m.indices.size() != m.values.size()) {
    return absl::DataLossError(absl::StrCat("bundle: ", what, " has inconsistent shape"));
  }
  for (int32_t r = 0; r < rows; ++r) {
    if (m.indptr[r] > m.indptr[r + 1]) return absl::DataLossError(absl::StrCat("bundle: ", what, " indptr"));
  }
  for (int32_t c : m.indices) {
    if (c < 0 || c >= cols)
      return absl::DataLossError(absl::StrCat("bundle: ", what, " column out of range"));
  }
  return absl::OkStatus();
}

}  // namespace

const char* ItemKindVerb(ItemKind kind) {
  switch (kind) {
    case ItemKind::kViewed:
      return "viewed";
    case ItemKind::kRated:
      return "rated";
    case ItemKind::kLiked:
      return "liked";
    case ItemKind::kCarted:
      return "added to cart";
    case ItemKind::kBought:
      return "bought";
    default:
      return "viewed";
  }
}

int DaypartOfHour(int hour) { return ((hour % 24) + 24) % 24 / 6; }

const char* DaypartName(int daypart) {
  static const char* names[kDayparts] = {"at night", "this morning", "this afternoon", "this evening"};
  return names[daypart & 3];
}

absl::Status ModelBundle::Validate() const {
  const int32_t u = num_users(), i = num_items();
  RETURN_IF_ERROR(CheckCsr(user_items, u, i, "user_items"));
  if (user_item_kind.size() != user_items.values.size())
    return absl::DataLossError("bundle: user_item_kind size");
  if (item_category.size() != static_cast<size_t>(i))
    return absl::DataLossError("bundle: item_category size");
  if (factors < 0 || user_factors.size() != static_cast<size_t>(u) * factors ||
      item_factors.size() != static_cast<size_t>(i) * factors) {
    return absl::DataLossError("bundle: factor sizes");
  }
  if (ncf_factors < 0 || ncf_hidden < 0 || (ncf_factors == 0) != (ncf_hidden == 0) ||
      ncf_user_gmf.size() != static_cast<size_t>(u) * ncf_factors ||
      ncf_user_hidden.size() != static_cast<size_t>(u) * ncf_hidden ||
      ncf_item_gmf.size() != static_cast<size_t>(i) * ncf_factors ||
      ncf_item_hidden.size() != static_cast<size_t>(i) * ncf_hidden ||
      ncf_w_mlp.size() != static_cast<size_t>(ncf_hidden) ||
      ncf_item_bias.size() != (ncf_factors > 0 ? static_cast<size_t>(i) : 0)) {
    return absl::DataLossError("bundle: ncf sizes");
  }
  RETURN_IF_ERROR(CheckCsr(item_neighbors, i, i, "item_neighbors"));
  RETURN_IF_ERROR(CheckCsr(copurchase, i, i, "copurchase"));
  auto check_pop = [&](const std::vector<float>& v, const std::string& what) -> absl::Status {
    if (v.size() != static_cast<size_t>(i))
      return absl::DataLossError(absl::StrCat("bundle: ", what, " size"));
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(check_pop(pop_all, "pop_all"));
  RETURN_IF_ERROR(check_pop(pop_recent, "pop_recent"));
  for (int d = 0; d < kDayparts; ++d) {
    RETURN_IF_ERROR(check_pop(pop_daypart[d], "pop_daypart"));
  }
  for (const auto& [region, v] : pop_region) {
    RETURN_IF_ERROR(check_pop(v, "pop_region " + region));
  }
  return absl::OkStatus();
}

std::string SerializeBundle(const ModelBundle& b) {
  Writer w;
  w.Pod<uint32_t>(kFormatVersion);
  w.String(b.version);
  w.String(b.algorithm);
  w.Pod(b.trained_at);
  w.Pod(b.data_from);
  w.Pod(b.data_to);
  w.Pod<uint64_t>(b.params.size());
  for (const auto& [k, v] : b.params) {
    w.String(k);
    w.String(v);
  }
  w.Pod<uint64_t>(b.metrics.size());
  for (const auto& [k, v] : b.metrics) {
    w.String(k);
    w.Pod(v);
  }
  w.Strings(b.users.names());
  w.Strings(b.items.names());
  w.Csr(b.user_items);
  w.Vector(b.user_item_kind);
  w.Strings(b.item_category);
  w.Pod(b.factors);
  w.Pod(b.als_alpha);
  w.Pod(b.als_regularization);
  w.Vector(b.user_factors);
  w.Vector(b.item_factors);
  w.Csr(b.item_neighbors);
  w.Csr(b.copurchase);
  w.Vector(b.pop_all);
  w.Vector(b.pop_recent);
  w.Pod(b.recent_window_seconds);
  for (const auto& v : b.pop_daypart) w.Vector(v);
  w.Pod<uint64_t>(b.pop_region.size());
  for (const auto& [region, v] : b.pop_region) {
    w.String(region);
    w.Vector(v);
  }
  w.Pod(b.w_als);
  w.Pod(b.w_item_knn);
  w.Pod(b.w_popularity);
  w.Pod(b.ncf_factors);
  w.Pod(b.ncf_hidden);
  for (const auto* v : {&b.ncf_user_gmf, &b.ncf_user_hidden, &b.ncf_item_gmf, &b.ncf_item_hidden,
                        &b.ncf_w_mlp, &b.ncf_item_bias}) {
    w.Vector(*v);
  }
  std::string payload = std::move(w.out());
  std::string out(kMagic, sizeof(kMagic));
  const uint64_t size = payload.size(), sum = Fnv1a64(payload.data(), payload.size());
  out.append(reinterpret_cast<const char*>(&size), 8);
  out.append(reinterpret_cast<const char*>(&sum), 8);
  out.append(payload);
  return out;
}

absl::StatusOr<ModelBundle> ParseBundle(const std::string& bytes) {
  if (bytes.size() < 24 || std::memcmp(bytes.data(), kMagic, 8) != 0) {
    return absl::DataLossError("bundle: not a model bundle (bad magic)");
  }
  uint64_t size, sum;
  std::memcpy(&size, bytes.data() + 8, 8);
  std::memcpy(&sum, bytes.data() + 16, 8);
  if (size != bytes.size() - 24) {
    return absl::DataLossError(
        absl::StrCat("bundle: truncated (", bytes.size() - 24, " of ", size, " bytes)"));
  }
  if (Fnv1a64(bytes.data() + 24, size) != sum) return absl::DataLossError("bundle: checksum mismatch");
  Reader r(bytes.data() + 24, size);
  ModelBundle b;
  uint32_t format = 0;
  r.Pod(&format);
  if (format != kFormatVersion && format != 1) {
    return absl::DataLossError(absl::StrCat("bundle: format version ", format, " is not supported"));
  }
  r.String(&b.version);
  r.String(&b.algorithm);
  r.Pod(&b.trained_at);
  r.Pod(&b.data_from);
  r.Pod(&b.data_to);
  uint64_t n = 0;
  if (r.Pod(&n) && n < size) {
    for (uint64_t k = 0; k < n && !r.failed(); ++k) {
      std::string key, value;
      if (r.String(&key) && r.String(&value)) b.params[key] = value;
    }
  }
  if (r.Pod(&n) && n < size) {
    for (uint64_t k = 0; k < n && !r.failed(); ++k) {
      std::string key;
      double value;
      if (r.String(&key) && r.Pod(&value)) b.metrics[key] = value;
    }
  }
  std::vector<std::string> users, items;
  r.Strings(&users);
  r.Strings(&items);
  b.users.Reserve(users.size());
  for (const auto& u : users) b.users.Intern(u);
  b.items.Reserve(items.size());
  for (const auto& i : items) b.items.Intern(i);
  r.Csr(&b.user_items);
  r.Vector(&b.user_item_kind);
  r.Strings(&b.item_category);
  r.Pod(&b.factors);
  r.Pod(&b.als_alpha);
  r.Pod(&b.als_regularization);
  r.Vector(&b.user_factors);
  r.Vector(&b.item_factors);
  r.Csr(&b.item_neighbors);
  r.Csr(&b.copurchase);
  r.Vector(&b.pop_all);
  r.Vector(&b.pop_recent);
  r.Pod(&b.recent_window_seconds);
  for (auto& v : b.pop_daypart) r.Vector(&v);
  if (r.Pod(&n) && n < size) {
    for (uint64_t k = 0; k < n && !r.failed(); ++k) {
      std::string region;
      std::vector<float> v;
      if (r.String(&region) && r.Vector(&v)) b.pop_region[region] = std::move(v);
    }
  }
  r.Pod(&b.w_als);
  r.Pod(&b.w_item_knn);
  r.Pod(&b.w_popularity);
  if (format >= 2) {
    r.Pod(&b.ncf_factors);
    r.Pod(&b.ncf_hidden);
    for (auto* v : {&b.ncf_user_gmf, &b.ncf_user_hidden, &b.ncf_item_gmf, &b.ncf_item_hidden, &b.ncf_w_mlp,
                    &b.ncf_item_bias}) {
      r.Vector(v);
    }
  }
  if (r.failed() || !r.done()) return absl::DataLossError("bundle: payload does not match the format");
  if (b.users.size() != static_cast<int32_t>(users.size()) ||
      b.items.size() != static_cast<int32_t>(items.size())) {
    return absl::DataLossError("bundle: duplicate ids");
  }
  RETURN_IF_ERROR(b.Validate());
  return b;
}

absl::Status WriteBundleFile(const ModelBundle& bundle, const std::string& path) {
  return WriteFileAtomically(SerializeBundle(bundle), path);
}

absl::Status WriteFileAtomically(const std::string& bytes, const std::string& path) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("cannot create ", tmp, ": ", std::strerror(errno)));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return absl::UnavailableError(absl::StrCat("cannot write ", tmp, ": ", std::strerror(err)));
    }
    done += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return absl::UnavailableError(absl::StrCat("cannot sync ", tmp, ": ", std::strerror(errno)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return absl::UnavailableError(absl::StrCat("cannot rename to ", path, ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFileBytes(const std::string& path) {
  return files::ReadFileToString(path,
                                 {.what = "model artifact", .read_error = absl::StatusCode::kUnavailable});
}

absl::StatusOr<ModelBundle> ReadBundleFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFileBytes(path));
  absl::StatusOr<ModelBundle> b = ParseBundle(bytes);
  if (!b.ok()) return absl::Status(b.status().code(), absl::StrCat(path, ": ", b.status().message()));
  return b;
}

absl::StatusOr<std::string> ArtifactPath(const std::string& uri) {
  if (absl::StartsWith(uri, "file://")) return uri.substr(7);
  if (absl::StartsWith(uri, "/")) return uri;
  return absl::UnimplementedError(
      absl::StrCat("artifact uri `", uri, "`: not a file path (file:// here; pg:// via the artifact store)"));
}

}  // namespace marketlens::recommender
