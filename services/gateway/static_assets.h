// The dashboard's files, served by the gateway at "/" (index.html) and "/<file>". Held in memory: either
// compiled into the binary (the checked-in front end under services/gateway/dashboard/, see BUILD) or read
// from --static_dir at start-up (for working on the front end without rebuilding). Each file gets a strong
// ETag (its SHA-256) so browsers revalidate cheaply (304).
#ifndef MARKETLENS_SERVICES_GATEWAY_STATIC_ASSETS_H_
#define MARKETLENS_SERVICES_GATEWAY_STATIC_ASSETS_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace marketlens::gateway {

struct StaticAsset {
  std::string content_type;
  std::string body;
  std::string etag;  // "\"<sha256 prefix>\""
};

class StaticAssets {
 public:
  // path: "/index.html", "/app.js".
  void Add(absl::string_view path, std::string body);
  // Every regular file under `dir` (recursively), by its path relative to it.
  static absl::StatusOr<StaticAssets> FromDirectory(const std::string& dir);
  // The files compiled into the binary (empty when the binary has none).
  static StaticAssets Embedded();

  // "/" is "/index.html". Null when there is no such file.
  const StaticAsset* Find(absl::string_view path) const;
  size_t size() const { return files_.size(); }

  static std::string ContentTypeFor(absl::string_view path);

 private:
  std::map<std::string, StaticAsset, std::less<>> files_;
};

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_STATIC_ASSETS_H_
