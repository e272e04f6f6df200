#include "services/gateway/static_assets.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/migrate/sha256.h"

namespace marketlens::gateway {

// Generated from the dashboard's files by the `embed_dashboard` genrule (see BUILD); a binary without the
// dashboard links embedded_assets_none.cc instead.
struct EmbeddedFile {
  const char* path;
  const char* data;
  unsigned long size;
};
extern const EmbeddedFile kEmbeddedFiles[];
extern const unsigned long kEmbeddedFileCount;

std::string StaticAssets::ContentTypeFor(absl::string_view path) {
  if (absl::EndsWith(path, ".html")) return "text/html; charset=utf-8";
  if (absl::EndsWith(path, ".js") || absl::EndsWith(path, ".mjs")) return "text/javascript; charset=utf-8";
  if (absl::EndsWith(path, ".css")) return "text/css; charset=utf-8";
  if (absl::EndsWith(path, ".json")) return "application/json";
  if (absl::EndsWith(path, ".svg")) return "image/svg+xml";
  if (absl::EndsWith(path, ".png")) return "image/png";
  if (absl::EndsWith(path, ".ico")) return "image/x-icon";
  if (absl::EndsWith(path, ".txt")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

void StaticAssets::Add(absl::string_view path, std::string body) {
  StaticAsset a;
  a.content_type = ContentTypeFor(path);
  a.etag = absl::StrCat("\"", migrate::Sha256Hex(body).substr(0, 32), "\"");
  a.body = std::move(body);
  files_[std::string(path)] = std::move(a);
}

absl::StatusOr<StaticAssets> StaticAssets::FromDirectory(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return absl::NotFoundError(absl::StrCat("static_dir ", dir, " is not a directory"));
  StaticAssets out;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string rel = fs::relative(it->path(), dir).generic_string();
    out.Add(absl::StrCat("/", rel), buf.str());
  }
  if (ec) return absl::UnavailableError(absl::StrCat("cannot read ", dir, ": ", ec.message()));
  return out;
}

StaticAssets StaticAssets::Embedded() {
  StaticAssets out;
  for (unsigned long i = 0; i < kEmbeddedFileCount; ++i) {
    out.Add(kEmbeddedFiles[i].path, std::string(kEmbeddedFiles[i].data, kEmbeddedFiles[i].size));
  }
  return out;
}

const StaticAsset* StaticAssets::Find(absl::string_view path) const {
  if (path == "/") path = "/index.html";
  auto it = files_.find(path);
  return it == files_.end() ? nullptr : &it->second;
}

}  // namespace marketlens::gateway
