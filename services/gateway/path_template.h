// A REST path template as written in the `(marketlens.api.http)` option of an RPC, with the syntax of
// google.api.http, parsed once at start-up and matched against every request path:
//
//   Template  = "/" Segments [ ":" Verb ]
//   Segments  = Segment { "/" Segment }
//   Segment   = "*" | "**" | LITERAL | Variable
//   Variable  = "{" FieldPath [ "=" Segments ] "}"
//   FieldPath = IDENT { "." IDENT }
//
// "/api/v1/products/{product_id}" binds one segment to the request field product_id; "{name=shelves/*}"
// binds a segment pattern; "**" (last only) matches the rest of the path; "/api/v1/models/{version}:promote"
// ends in the custom verb "promote". Matching is on percent-decoded segments, so a product id may contain
// "%2F". Why our own parser: the template is the only route table (no second, hand-written one), so it has to
// be read from the protos at run time.
#ifndef MARKETLENS_SERVICES_GATEWAY_PATH_TEMPLATE_H_
#define MARKETLENS_SERVICES_GATEWAY_PATH_TEMPLATE_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace marketlens::gateway {

// (field path, value) pairs bound by a match, in template order: {"product_id", "p-42"}.
using PathBindings = std::vector<std::pair<std::string, std::string>>;

// A request path split on '/' once (raw and percent-decoded segments), so that matching it against many
// templates does not split and decode it again for each.
struct SplitPath {
  std::vector<absl::string_view> raw;  // views into the path given to Split
  std::vector<std::string> decoded;
  static SplitPath Split(
      absl::string_view path);  // path must outlive the result; "" if not starting with '/'
  bool valid = false;
};

class PathTemplate {
 public:
  // INVALID_ARGUMENT naming the problem ("missing '}'", "'**' must be the last segment", ...).
  static absl::StatusOr<PathTemplate> Parse(absl::string_view text);

  // The bindings when `path` (no query string; percent-encoded as received) matches, else nullopt.
  // A variable never binds an empty segment.
  std::optional<PathBindings> Match(absl::string_view path) const;
  std::optional<PathBindings> Match(const SplitPath& path) const;

  // As written in the proto.
  const std::string& text() const { return text_; }
  // "" when there is none.
  const std::string& verb() const { return verb_; }
  // Field paths of the variables, in order.
  std::vector<std::string> variable_fields() const;
  // Literal segments (more = more specific; used to order overlapping routes).
  int literal_count() const;
  // Whether the template ends in "**" (matches any number of trailing segments).
  bool has_multi_wildcard() const;
  // The template with variables replaced by their patterns ("/x/*/y:verb"): two templates with the same
  // shape match the same paths.
  std::string Shape() const;
  // The OpenAPI form: every variable written as "{field.path}", patterns dropped.
  std::string OpenApiPath() const;

 private:
  struct Segment {
    enum Kind { kLiteral, kSingle, kMulti };
    Kind kind = kLiteral;
    std::string literal;  // kLiteral only
  };
  struct Variable {
    std::string field_path;
    int first = 0;  // index of its first segment in segments_
    int last = 0;   // index one past its last segment
  };

  std::string text_;
  std::string verb_;
  std::vector<Segment> segments_;
  std::vector<Variable> variables_;
};

// Percent-decodes `text` ("%2F" -> "/"); "+" is kept (it is only a space in query strings). Malformed
// escapes ("%G1", a trailing "%") are kept verbatim.
std::string PercentDecode(absl::string_view text);

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_PATH_TEMPLATE_H_
