// The fast JSON printer against protobuf's own printer (always_print_primitive_fields): the same JSON value
// for randomly filled messages of every message type of the fronted services and of a made-up message with
// every field kind (all scalars, enums, maps with every key type, oneofs, proto3 optional, every well-known
// type), and the output reads back into an equal message.
#include "services/gateway/json_printer.h"

#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <random>

#include "absl/strings/str_cat.h"
#include "common/testing/protobuf_status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "marketlens/analyzer/v1/analyzer.pb.h"
#include "marketlens/collector/v1/collector.pb.h"
#include "marketlens/gateway/v1/gateway.pb.h"
#include "marketlens/recommender/v1/recommender.pb.h"

namespace marketlens::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using ::marketlens::testing::IsOk;

std::string Fast(const Message& m) {
  std::string out;
  EXPECT_TRUE(AppendMessageJson(m, &out)) << m.GetDescriptor()->full_name() << ": " << m.ShortDebugString();
  return out;
}

std::string Reference(const Message& m) {
  google::protobuf::util::JsonPrintOptions o;
  o.always_print_primitive_fields = true;
  std::string out;
  auto st = google::protobuf::util::MessageToJsonString(m, &out, o);
  EXPECT_THAT(st, IsOk());
  return out;
}

google::protobuf::Value AsJsonValue(const std::string& json) {
  google::protobuf::Value v;
  auto st = google::protobuf::util::JsonStringToMessage(json, &v);
  EXPECT_THAT(st, IsOk()) << ": " << json;
  return v;
}

// Fills a message with random content (depth-limited), valid for the JSON mapping.
class Filler {
 public:
  explicit Filler(uint64_t seed) : rng_(seed) {}

  void Fill(Message* m, int depth) {
    const Descriptor* d = m->GetDescriptor();
    const Reflection* r = m->GetReflection();
    const std::string& name = d->full_name();
    if (name == "google.protobuf.Timestamp") {
      r->SetInt64(m, d->FindFieldByNumber(1), Pick<int64_t>(-62135596800LL, 253402300799LL));
      r->SetInt32(m, d->FindFieldByNumber(2), PickNanos());
      return;
    }
    if (name == "google.protobuf.Duration") {
      const int64_t s = Pick<int64_t>(-315576000000LL, 315576000000LL);
      int32_t n = PickNanos();
      if (s < 0) n = -n;
      r->SetInt64(m, d->FindFieldByNumber(1), s);
      r->SetInt32(m, d->FindFieldByNumber(2), n);
      return;
    }
    if (name == "google.protobuf.Value") {
      FillValue(m, depth);
      return;
    }
    if (name == "google.protobuf.Any") return;
    if (name == "google.protobuf.FieldMask") {
      for (int i = Pick(0, 2); i > 0; --i)
        r->AddString(m, d->FindFieldByNumber(1), Pick(0, 1) ? "a_b.c_d" : "x");
      return;
    }
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      if (f->containing_oneof() != nullptr && r->HasOneof(*m, f->containing_oneof())) continue;
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && depth >= 3) continue;
      if (Pick(0, 3) == 0) continue;
      if (f->is_map()) {
        // Distinct keys, as a real map has.
        const int n =
            Pick(0, f->message_type()->map_key()->cpp_type() == FieldDescriptor::CPPTYPE_BOOL ? 2 : 3);
        for (int k = 0; k < n; ++k) {
          Message* entry = r->AddMessage(m, f);
          Fill(entry, depth + 1);
          const FieldDescriptor* key = entry->GetDescriptor()->FindFieldByNumber(1);
          const Reflection* er = entry->GetReflection();
          switch (key->cpp_type()) {
            case FieldDescriptor::CPPTYPE_STRING:
              er->SetString(entry, key, absl::StrCat(PickString(), "#", k));
              break;
            case FieldDescriptor::CPPTYPE_BOOL:
              er->SetBool(entry, key, k == 1);
              break;
            case FieldDescriptor::CPPTYPE_INT32:
              er->SetInt32(entry, key, k * 1000003 - 7);
              break;
            case FieldDescriptor::CPPTYPE_INT64:
              er->SetInt64(entry, key, int64_t{k} * 1000000000007 - 7);
              break;
            case FieldDescriptor::CPPTYPE_UINT32:
              er->SetUInt32(entry, key, k * 4000000000u / 3);
              break;
            case FieldDescriptor::CPPTYPE_UINT64:
              er->SetUInt64(entry, key, static_cast<uint64_t>(k) * 9000000000000000000ull);
              break;
            default:
              break;
          }
        }
      } else if (f->is_repeated()) {
        for (int n = Pick(0, 3); n > 0; --n) Add(m, f, depth);
      } else {
        Set(m, f, depth);
      }
    }
  }

 private:
  template <typename T = int>
  T Pick(T lo, T hi) {
    return std::uniform_int_distribution<T>(lo, hi)(rng_);
  }
  int32_t PickNanos() {
    switch (Pick(0, 3)) {
      case 0:
        return 0;
      case 1:
        return Pick(0, 999) * 1000000;
      case 2:
        return Pick(0, 999999) * 1000;
      default:
        return Pick(0, 999999999);
    }
  }
  std::string PickString() {
    static const std::vector<std::string> parts = {"a",    "Z",    " ", "\"",   "\\",     "\n", "\t",
                                                   "\x01", "\x1f", "/", "é",    "€",      "😀",  "<",
                                                   ">",    "&",    "'", "\x7f", "\u2028", "0"};
    std::string s;
    for (int n = Pick(0, 6); n > 0; --n) s += parts[Pick<size_t>(0, parts.size() - 1)];
    return s;
  }
  double PickDouble() {
    switch (Pick(0, 6)) {
      case 0:
        return 0;
      case 1:
        return std::numeric_limits<double>::max();
      case 2:
        return std::numeric_limits<double>::denorm_min();
      case 3:
        return -1.8;
      case 4:
        return 1e21;
      default:
        return std::uniform_real_distribution<double>(-1e6, 1e6)(rng_);
    }
  }

  void FillValue(Message* m, int depth) {
    auto* v = static_cast<google::protobuf::Value*>(m);
    switch (Pick(0, depth >= 3 ? 3 : 5)) {
      case 0:
        v->set_null_value(google::protobuf::NULL_VALUE);
        break;
      case 1:
        v->set_number_value(PickDouble());
        break;
      case 2:
        v->set_string_value(PickString());
        break;
      case 3:
        v->set_bool_value(Pick(0, 1) == 1);
        break;
      case 4:
        for (int n = Pick(0, 2); n > 0; --n) {
          FillValue(&(*v->mutable_struct_value()->mutable_fields())[absl::StrCat(PickString(), "#", n)],
                    depth + 1);
        }
        if (!v->has_struct_value()) v->mutable_struct_value();
        break;
      default:
        for (int n = Pick(0, 2); n > 0; --n) FillValue(v->mutable_list_value()->add_values(), depth + 1);
        if (!v->has_list_value()) v->mutable_list_value();
        break;
    }
  }

  void Set(Message* m, const FieldDescriptor* f, int depth) {
    const Reflection* r = m->GetReflection();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        r->SetInt32(m, f, Pick<int32_t>(INT32_MIN, INT32_MAX));
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        r->SetInt64(m, f, Pick<int64_t>(INT64_MIN, INT64_MAX));
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        r->SetUInt32(m, f, Pick<uint32_t>(0, UINT32_MAX));
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        r->SetUInt64(m, f, Pick<uint64_t>(0, UINT64_MAX));
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        r->SetDouble(m, f, PickDouble());
        break;
      case FieldDescriptor::CPPTYPE_FLOAT:
        r->SetFloat(m, f, static_cast<float>(PickDouble() / 1e12));
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        r->SetBool(m, f, Pick(0, 1) == 1);
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        if (Pick(0, 5) == 0) {
          r->SetEnumValue(m, f, 77);  // unknown: printed as a number
        } else {
          r->SetEnum(m, f, f->enum_type()->value(Pick(0, f->enum_type()->value_count() - 1)));
        }
        break;
      case FieldDescriptor::CPPTYPE_STRING:
        r->SetString(m, f,
                     f->type() == FieldDescriptor::TYPE_BYTES ? std::string("\x00\xff\x10", 3) + PickString()
                                                              : PickString());
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE:
        Fill(r->MutableMessage(m, f), depth + 1);
        break;
    }
  }

  void Add(Message* m, const FieldDescriptor* f, int depth) {
    const Reflection* r = m->GetReflection();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        r->AddInt32(m, f, Pick<int32_t>(INT32_MIN, INT32_MAX));
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        r->AddInt64(m, f, Pick<int64_t>(INT64_MIN, INT64_MAX));
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        r->AddUInt32(m, f, Pick<uint32_t>(0, UINT32_MAX));
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        r->AddUInt64(m, f, Pick<uint64_t>(0, UINT64_MAX));
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        r->AddDouble(m, f, PickDouble());
        break;
      case FieldDescriptor::CPPTYPE_FLOAT:
        r->AddFloat(m, f, static_cast<float>(PickDouble() / 1e12));
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        r->AddBool(m, f, Pick(0, 1) == 1);
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        r->AddEnum(m, f, f->enum_type()->value(Pick(0, f->enum_type()->value_count() - 1)));
        break;
      case FieldDescriptor::CPPTYPE_STRING:
        r->AddString(m, f, PickString());
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE:
        Fill(r->AddMessage(m, f), depth + 1);
        break;
    }
  }

  std::mt19937_64 rng_;
};

// As a message arrives from a backend: through the wire format (which also makes map keys unique).
void Normalize(Message* m) {
  const std::string bytes = m->SerializeAsString();
  m->Clear();
  ASSERT_TRUE(m->ParseFromString(bytes));
}

// `as_json`: the two outputs must be the same JSON value. Off for messages with float fields: protobuf
// prints a float with up to 9 digits, this printer with the fewest that read back to the same float (both
// valid; they differ when read as doubles), so those are compared as messages only.
void CheckSame(const Message& m, bool as_json = true) {
  const std::string fast = Fast(m);
  const std::string reference = Reference(m);
  if (as_json) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(AsJsonValue(fast), AsJsonValue(reference)))
        << m.GetDescriptor()->full_name() << "\nfast:      " << fast << "\nreference: " << reference;
  }
  // And it reads back to the message protobuf's own output reads back to (the original message, except for
  // empty google.protobuf.Values, which both printers leave out).
  std::unique_ptr<Message> back(m.New()), back_ref(m.New());
  auto st = google::protobuf::util::JsonStringToMessage(fast, back.get());
  ASSERT_THAT(st, IsOk()) << ": " << fast;
  ASSERT_THAT(google::protobuf::util::JsonStringToMessage(reference, back_ref.get()), IsOk());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*back_ref, *back))
      << back_ref->ShortDebugString() << "\nvs\n"
      << back->ShortDebugString();
}

std::vector<const Descriptor*> AllMessagesOf(const google::protobuf::FileDescriptor* file) {
  std::vector<const Descriptor*> out;
  std::function<void(const Descriptor*)> add = [&](const Descriptor* d) {
    if (d->options().map_entry()) return;
    out.push_back(d);
    for (int i = 0; i < d->nested_type_count(); ++i) add(d->nested_type(i));
  };
  for (int i = 0; i < file->message_type_count(); ++i) add(file->message_type(i));
  return out;
}

TEST(JsonPrinterTest, SameAsProtobufForEveryServedMessage) {
  Filler filler(1);
  int checked = 0;
  for (const auto* file : {analyzer::v1::AnalyzeTextRequest::descriptor()->file(),
                           recommender::v1::RecommendRequest::descriptor()->file(),
                           collector::v1::StartCrawlRequest::descriptor()->file(),
                           gateway::v1::ErrorBody::descriptor()->file()}) {
    for (const Descriptor* d : AllMessagesOf(file)) {
      for (int round = 0; round < 30; ++round) {
        std::unique_ptr<Message> m(
            google::protobuf::MessageFactory::generated_factory()->GetPrototype(d)->New());
        if (round > 0) filler.Fill(m.get(), 0);
        Normalize(m.get());
        CheckSame(*m);
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 1000);
}

TEST(JsonPrinterTest, SameAsProtobufForEveryFieldKind) {
  google::protobuf::FileDescriptorProto fp;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        name: "test/every.proto"
        package: "t"
        syntax: "proto3"
        dependency: "google/protobuf/timestamp.proto"
        dependency: "google/protobuf/duration.proto"
        dependency: "google/protobuf/struct.proto"
        dependency: "google/protobuf/wrappers.proto"
        dependency: "google/protobuf/field_mask.proto"
        dependency: "google/protobuf/empty.proto"
        enum_type {
          name: "Color"
          value { name: "COLOR_UNSPECIFIED" number: 0 }
          value { name: "RED" number: 1 }
        }
        message_type {
          name: "Every"
          field { name: "i32" number: 1 type: TYPE_INT32 label: LABEL_OPTIONAL json_name: "i32" }
          field { name: "i64" number: 2 type: TYPE_INT64 label: LABEL_OPTIONAL json_name: "i64" }
          field { name: "u32" number: 3 type: TYPE_UINT32 label: LABEL_OPTIONAL json_name: "u32" }
          field { name: "u64" number: 4 type: TYPE_UINT64 label: LABEL_OPTIONAL json_name: "u64" }
          field { name: "s32" number: 5 type: TYPE_SINT32 label: LABEL_OPTIONAL json_name: "s32" }
          field { name: "f64" number: 6 type: TYPE_FIXED64 label: LABEL_OPTIONAL json_name: "f64" }
          field { name: "dbl" number: 7 type: TYPE_DOUBLE label: LABEL_OPTIONAL json_name: "dbl" }
          field { name: "flt" number: 8 type: TYPE_FLOAT label: LABEL_OPTIONAL json_name: "flt" }
          field { name: "flag" number: 9 type: TYPE_BOOL label: LABEL_OPTIONAL json_name: "flag" }
          field {
            name: "text_value"
            number: 10
            type: TYPE_STRING
            label: LABEL_OPTIONAL
            json_name: "textValue"
          }
          field { name: "raw" number: 11 type: TYPE_BYTES label: LABEL_OPTIONAL json_name: "raw" }
          field {
            name: "color"
            number: 12
            type: TYPE_ENUM
            type_name: ".t.Color"
            label: LABEL_OPTIONAL
            json_name: "color"
          }
          field {
            name: "colors"
            number: 13
            type: TYPE_ENUM
            type_name: ".t.Color"
            label: LABEL_REPEATED
            json_name: "colors"
          }
          field { name: "doubles" number: 14 type: TYPE_DOUBLE label: LABEL_REPEATED json_name: "doubles" }
          field {
            name: "by_int"
            number: 15
            type: TYPE_MESSAGE
            type_name: ".t.Every.ByIntEntry"
            label: LABEL_REPEATED
            json_name: "byInt"
          }
          field {
            name: "by_bool"
            number: 16
            type: TYPE_MESSAGE
            type_name: ".t.Every.ByBoolEntry"
            label: LABEL_REPEATED
            json_name: "byBool"
          }
          field {
            name: "by_u64"
            number: 17
            type: TYPE_MESSAGE
            type_name: ".t.Every.ByU64Entry"
            label: LABEL_REPEATED
            json_name: "byU64"
          }
          field {
            name: "child"
            number: 18
            type: TYPE_MESSAGE
            type_name: ".t.Every"
            label: LABEL_OPTIONAL
            json_name: "child"
          }
          field {
            name: "children"
            number: 19
            type: TYPE_MESSAGE
            type_name: ".t.Every"
            label: LABEL_REPEATED
            json_name: "children"
          }
          field {
            name: "one_s"
            number: 20
            type: TYPE_STRING
            label: LABEL_OPTIONAL
            oneof_index: 0
            json_name: "oneS"
          }
          field {
            name: "one_m"
            number: 21
            type: TYPE_MESSAGE
            type_name: ".google.protobuf.Timestamp"
            label: LABEL_OPTIONAL
            oneof_index: 0
            json_name: "oneM"
          }
          field {
            name: "opt"
            number: 22
            type: TYPE_INT32
            label: LABEL_OPTIONAL
            oneof_index: 1
            proto3_optional: true
            json_name: "opt"
          }
          field {
            name: "ts"
            number: 23
            type: TYPE_MESSAGE
            type_name: ".google.protobuf.Timestamp"
            label: LABEL_OPTIONAL
            json_name: "ts"
          }
          field {
            name: "dur"
            number: 24
            type: TYPE_MESSAGE
            type_name: ".google.protobuf.Duration"
            label: LABEL_OPTIONAL
            json_name: "dur"
          }
          field {
            name: "st"
            number: 25
            type: TYPE_MESSAGE
            type_name: ".google.protobuf.Struct"
            label: LABEL_OPTIONAL
            json_name: "st"
          }
          field {
            name: "val"
            number: 26
            type: TYPE_MESSAGE
            type_name: ".google.protobuf.Value"
            label: LABEL_OPTIONAL
            json_name: "val"
          }
          field {
            name: "lst"
            number: 27
            type: TYPE_MESSAGE
            type_name: ".google.protobuf.ListValue"
            label: LABEL_OPTIONAL
            json_name: "lst"
          }
          field {
            name: "w_i64"
            number: 28
            type: TYPE_MESSAGE
            type_name: ".google.protobuf.Int64Value"
            label: LABEL_OPTIONAL
            json_name: "wI64"
          }
          field {
            name: "w_str"
            number: 29
            type: TYPE_MESSAGE
            type_name: ".google.protobuf.StringValue"
            label: LABEL_OPTIONAL
            json_name: "wStr"
          }
          field {
            name: "w_dbl"
            number: 30
            type: TYPE_MESSAGE
            type_name: ".google.protobuf.DoubleValue"
            label: LABEL_REPEATED
            json_name: "wDbl"
          }
          field {
            name: "w_bool"
            number: 31
            type: TYPE_MESSAGE
            type_name: ".google.protobuf.BoolValue"
            label: LABEL_OPTIONAL
            json_name: "wBool"
          }
          field {
            name: "w_bytes"
            number: 32
            type: TYPE_MESSAGE
            type_name: ".google.protobuf.BytesValue"
            label: LABEL_OPTIONAL
            json_name: "wBytes"
          }
          field {
            name: "mask"
            number: 33
            type: TYPE_MESSAGE
            type_name: ".google.protobuf.FieldMask"
            label: LABEL_OPTIONAL
            json_name: "mask"
          }
          field {
            name: "empty"
            number: 34
            type: TYPE_MESSAGE
            type_name: ".google.protobuf.Empty"
            label: LABEL_OPTIONAL
            json_name: "empty"
          }
          field {
            name: "stamps"
            number: 35
            type: TYPE_MESSAGE
            type_name: ".google.protobuf.Timestamp"
            label: LABEL_REPEATED
            json_name: "stamps"
          }
          field {
            name: "by_str_ts"
            number: 36
            type: TYPE_MESSAGE
            type_name: ".t.Every.ByStrTsEntry"
            label: LABEL_REPEATED
            json_name: "byStrTs"
          }
          nested_type {
            name: "ByIntEntry"
            options { map_entry: true }
            field { name: "key" number: 1 type: TYPE_INT32 label: LABEL_OPTIONAL json_name: "key" }
            field { name: "value" number: 2 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "value" }
          }
          nested_type {
            name: "ByBoolEntry"
            options { map_entry: true }
            field { name: "key" number: 1 type: TYPE_BOOL label: LABEL_OPTIONAL json_name: "key" }
            field {
              name: "value"
              number: 2
              type: TYPE_ENUM
              type_name: ".t.Color"
              label: LABEL_OPTIONAL
              json_name: "value"
            }
          }
          nested_type {
            name: "ByU64Entry"
            options { map_entry: true }
            field { name: "key" number: 1 type: TYPE_UINT64 label: LABEL_OPTIONAL json_name: "key" }
            field {
              name: "value"
              number: 2
              type: TYPE_MESSAGE
              type_name: ".t.Every"
              label: LABEL_OPTIONAL
              json_name: "value"
            }
          }
          nested_type {
            name: "ByStrTsEntry"
            options { map_entry: true }
            field { name: "key" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL json_name: "key" }
            field {
              name: "value"
              number: 2
              type: TYPE_MESSAGE
              type_name: ".google.protobuf.Timestamp"
              label: LABEL_OPTIONAL
              json_name: "value"
            }
          }
          oneof_decl { name: "choice" }
          oneof_decl { name: "_opt" }
        }
      )pb",
      &fp));
  // Make sure the well-known types are linked and registered.
  (void)google::protobuf::Struct::descriptor();
  google::protobuf::DescriptorPool pool(google::protobuf::DescriptorPool::generated_pool());
  const google::protobuf::FileDescriptor* file = pool.BuildFile(fp);
  ASSERT_NE(file, nullptr);
  google::protobuf::DynamicMessageFactory factory(&pool);
  factory.SetDelegateToGeneratedFactory(true);
  const Descriptor* every = file->FindMessageTypeByName("Every");
  Filler filler(7);
  for (int round = 0; round < 150; ++round) {
    std::unique_ptr<Message> m(factory.GetPrototype(every)->New());
    if (round > 0) filler.Fill(m.get(), 0);
    Normalize(m.get());
    CheckSame(*m, /*as_json=*/false);
    // Without the float fields, also as JSON values.
    m->GetReflection()->ClearField(m.get(), every->FindFieldByName("flt"));
    std::function<void(Message*)> strip = [&](Message* x) {
      const Reflection* r = x->GetReflection();
      if (x->GetDescriptor() != every) return;
      r->ClearField(x, every->FindFieldByName("flt"));
      if (r->HasField(*x, every->FindFieldByName("child")))
        strip(r->MutableMessage(x, every->FindFieldByName("child")));
      for (int i = 0; i < r->FieldSize(*x, every->FindFieldByName("children")); ++i) {
        strip(r->MutableRepeatedMessage(x, every->FindFieldByName("children"), i));
      }
      const FieldDescriptor* by_u64 = every->FindFieldByName("by_u64");
      for (int i = 0; i < r->FieldSize(*x, by_u64); ++i) {
        Message* entry = r->MutableRepeatedMessage(x, by_u64, i);
        strip(entry->GetReflection()->MutableMessage(entry, entry->GetDescriptor()->FindFieldByNumber(2)));
      }
    };
    strip(m.get());
    CheckSame(*m);
    if (HasFailure()) break;
  }
}

TEST(JsonPrinterTest, SpecialValues) {
  recommender::v1::Model m;
  (*m.mutable_metrics())["nan"] = std::nan("");
  (*m.mutable_metrics())["inf"] = INFINITY;
  (*m.mutable_metrics())["-inf"] = -INFINITY;
  const std::string fast = Fast(m);
  EXPECT_THAT(fast, ::testing::HasSubstr(R"("nan":"NaN")"));
  EXPECT_THAT(fast, ::testing::HasSubstr(R"("inf":"Infinity")"));
  EXPECT_THAT(fast, ::testing::HasSubstr(R"("-inf":"-Infinity")"));
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(AsJsonValue(fast), AsJsonValue(Reference(m))));

  analyzer::v1::ProductInsights p;
  p.set_title(std::string("bad \xff utf8"));
  EXPECT_THAT(Fast(p), ::testing::HasSubstr("bad \xEF\xBF\xBD utf8"));

  // What it leaves to protobuf: out-of-range timestamps.
  p.mutable_updated_at()->set_seconds(-62135596801LL);
  std::string out;
  EXPECT_FALSE(AppendMessageJson(p, &out));
}

}  // namespace
}  // namespace marketlens::gateway
