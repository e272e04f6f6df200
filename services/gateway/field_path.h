// Dotted field paths into a protobuf message ("context.device"), as used by path variables, query
// parameters and the body option. Each part may be the proto name (campaign_id) or the JSON name
// (campaignId), as protobuf's JSON mapping accepts both.
#ifndef MARKETLENS_SERVICES_GATEWAY_FIELD_PATH_H_
#define MARKETLENS_SERVICES_GATEWAY_FIELD_PATH_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"

namespace marketlens::gateway {

using FieldPath = std::vector<const google::protobuf::FieldDescriptor*>;

// By proto name, then by JSON name; null when neither matches.
const google::protobuf::FieldDescriptor* FindField(const google::protobuf::Descriptor* message,
                                                   absl::string_view name);

// Every part but the last must be a singular message field. INVALID_ARGUMENT naming the part that does not
// resolve ("no field \"foo\" in marketlens.analyzer.v1.ListAlertsRequest").
absl::StatusOr<FieldPath> ResolveFieldPath(const google::protobuf::Descriptor* message,
                                           absl::string_view path);

// The canonical (proto names) dotted form: "context.device".
std::string FieldPathName(const FieldPath& path);

// Whether the field is a leaf a string from a URL can set: a scalar, an enum, or one of the well-known
// types with a string JSON form (Timestamp, Duration, FieldMask) or a wrapper of a scalar.
bool IsUrlBindable(const google::protobuf::FieldDescriptor* field);

}  // namespace marketlens::gateway

#endif  // MARKETLENS_SERVICES_GATEWAY_FIELD_PATH_H_
