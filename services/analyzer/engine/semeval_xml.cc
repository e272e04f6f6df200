#include "services/analyzer/engine/semeval_xml.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status/macros.h"
#include "common/strings/utf8.h"

namespace marketlens::analyzer {
namespace {

// Length of the UTF-8 sequence starting with byte `c` (1 for a stray continuation or invalid byte).
int SequenceLength(unsigned char c) {
  if (c < 0xC0) return 1;
  if (c < 0xE0) return 2;
  if (c < 0xF0) return 3;
  if (c < 0xF8) return 4;
  return 1;
}

// One element `<name ...>` or `<name .../>`: its attributes, decoded.
struct Tag {
  absl::string_view name;
  std::vector<std::pair<absl::string_view, std::string>> attributes;
  bool self_closing = false;
  bool closing = false;
  const std::string* Attr(absl::string_view key) const {
    for (const auto& [k, v] : attributes) {
      if (k == key) return &v;
    }
    return nullptr;
  }
};

class Reader {
 public:
  explicit Reader(absl::string_view xml) : xml_(xml) {}

  // The next tag (skipping <?...?> and <!--...-->); text before it goes to `*text`.
  absl::StatusOr<bool> Next(Tag* tag, absl::string_view* text) {
    while (true) {
      const size_t lt = xml_.find('<', pos_);
      if (lt == absl::string_view::npos) {
        *text = xml_.substr(pos_);
        pos_ = xml_.size();
        return false;
      }
      *text = xml_.substr(pos_, lt - pos_);
      if (xml_.substr(lt, 4) == "<!--") {
        const size_t end = xml_.find("-->", lt);
        if (end == absl::string_view::npos) return Error("unterminated comment");
        pos_ = end + 3;
        continue;
      }
      const size_t gt = xml_.find('>', lt);
      if (gt == absl::string_view::npos) return Error("unterminated tag");
      absl::string_view body = xml_.substr(lt + 1, gt - lt - 1);
      pos_ = gt + 1;
      if (!body.empty() && body[0] == '?') continue;
      *tag = Tag();
      if (!body.empty() && body[0] == '/') {
        tag->closing = true;
        body.remove_prefix(1);
      }
      if (!body.empty() && body.back() == '/') {
        tag->self_closing = true;
        body.remove_suffix(1);
      }
      size_t i = 0;
      while (i < body.size() && !absl::ascii_isspace(static_cast<unsigned char>(body[i]))) ++i;
      tag->name = body.substr(0, i);
      while (true) {
        while (i < body.size() && absl::ascii_isspace(static_cast<unsigned char>(body[i]))) ++i;
        if (i >= body.size()) break;
        const size_t eq = body.find('=', i);
        if (eq == absl::string_view::npos || eq + 1 >= body.size() ||
            (body[eq + 1] != '"' && body[eq + 1] != '\'')) {
          return Error(absl::StrCat("bad attribute in <", tag->name, ">"));
        }
        const size_t close = body.find(body[eq + 1], eq + 2);
        if (close == absl::string_view::npos)
          return Error(absl::StrCat("unterminated attribute in <", tag->name, ">"));
        absl::StatusOr<std::string> value = DecodeXmlEntities(body.substr(eq + 2, close - eq - 2));
        if (!value.ok()) return Error(value.status().message());
        tag->attributes.emplace_back(absl::StripAsciiWhitespace(body.substr(i, eq - i)), *std::move(value));
        i = close + 1;
      }
      return true;
    }
  }

  absl::Status Error(absl::string_view what) const {
    int line = 1;
    for (size_t k = 0; k < pos_ && k < xml_.size(); ++k) line += xml_[k] == '\n';
    return absl::InvalidArgumentError(absl::StrCat("SemEval XML line ", line, ": ", what));
  }

 private:
  absl::string_view xml_;
  size_t pos_ = 0;
};

absl::Status AddTerm(const Tag& tag, AnnotatedSentence* s) {
  const std::string* term = tag.Attr("term");
  const std::string* polarity = tag.Attr("polarity");
  const std::string* from = tag.Attr("from");
  const std::string* to = tag.Attr("to");
  auto fail = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("sentence ", s->id, ": aspectTerm ", what));
  };
  if (term == nullptr || from == nullptr || to == nullptr) return fail("needs term, from and to");
  AnnotatedTerm t;
  t.term = *term;
  t.polarity = polarity == nullptr ? "" : *polarity;
  if (!absl::SimpleAtoi(*from, &t.from) || !absl::SimpleAtoi(*to, &t.to) || t.from >= t.to) {
    return fail(absl::StrCat("\"", *term, "\" has bad offsets from=", *from, " to=", *to));
  }
  const std::vector<uint32_t> bytes = CharToByteOffsets(s->text);
  if (t.to >= bytes.size()) {
    return fail(absl::StrCat("\"", *term, "\" ends at character ", t.to, " past the text (", bytes.size() - 1,
                             " characters)"));
  }
  t.byte_from = bytes[t.from];
  t.byte_to = bytes[t.to];
  if (s->text.compare(t.byte_from, t.byte_to - t.byte_from, t.term) != 0) {
    return fail(absl::StrCat("\"", *term, "\": characters ", t.from, "-", t.to, " of the text are \"",
                             s->text.substr(t.byte_from, t.byte_to - t.byte_from), "\""));
  }
  s->terms.push_back(std::move(t));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> DecodeXmlEntities(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    const size_t semi = s.find(';', i);
    if (semi == absl::string_view::npos || semi - i > 12) {
      return absl::InvalidArgumentError(absl::StrCat("unterminated entity at \"", s.substr(i, 12), "\""));
    }
    const absl::string_view name = s.substr(i + 1, semi - i - 1);
    if (name == "amp") {
      out.push_back('&');
    } else if (name == "lt") {
      out.push_back('<');
    } else if (name == "gt") {
      out.push_back('>');
    } else if (name == "quot") {
      out.push_back('"');
    } else if (name == "apos") {
      out.push_back('\'');
    } else if (name.size() > 1 && name[0] == '#') {
      uint32_t cp = 0;
      const bool hex = name[1] == 'x' || name[1] == 'X';
      const bool ok = hex ? absl::SimpleHexAtoi(name.substr(2), &cp) : absl::SimpleAtoi(name.substr(1), &cp);
      if (!ok || cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return absl::InvalidArgumentError(absl::StrCat("bad character reference &", name, ";"));
      }
      strings::AppendUtf8(cp, &out);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown entity &", name, ";"));
    }
    i = semi;
  }
  return out;
}

std::vector<uint32_t> CharToByteOffsets(absl::string_view text) {
  std::vector<uint32_t> out;
  out.reserve(text.size() + 1);
  size_t i = 0;
  while (i < text.size()) {
    out.push_back(static_cast<uint32_t>(i));
    int n = SequenceLength(static_cast<unsigned char>(text[i]));
    // A truncated or broken sequence: its lead byte is a character of its own.
    for (int k = 1; k < n; ++k) {
      if (i + k >= text.size() || (static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) {
        n = 1;
        break;
      }
    }
    i += n;
  }
  out.push_back(static_cast<uint32_t>(text.size()));
  return out;
}

absl::StatusOr<std::vector<AnnotatedSentence>> ParseSemEvalXml(absl::string_view xml) {
  Reader reader(xml);
  std::vector<AnnotatedSentence> out;
  Tag tag;
  absl::string_view text;
  bool in_sentence = false, in_text = false, seen_root = false;
  while (true) {
    ASSIGN_OR_RETURN(bool more, reader.Next(&tag, &text));
    if (!more) break;
    if (tag.name == "sentences") {
      seen_root = true;
    } else if (tag.name == "sentence") {
      if (tag.closing) {
        if (!in_sentence) return reader.Error("</sentence> without <sentence>");
        in_sentence = false;
        continue;
      }
      if (in_sentence) return reader.Error("nested <sentence>");
      const std::string* id = tag.Attr("id");
      out.push_back(AnnotatedSentence{id == nullptr ? absl::StrCat(out.size()) : *id, "", {}});
      in_sentence = !tag.self_closing;
    } else if (tag.name == "text") {
      if (!in_sentence) return reader.Error("<text> outside a <sentence>");
      if (!tag.closing) {
        in_text = true;
        continue;
      }
      if (!in_text) return reader.Error("</text> without <text>");
      in_text = false;
      absl::StatusOr<std::string> decoded = DecodeXmlEntities(text);
      if (!decoded.ok()) return reader.Error(decoded.status().message());
      out.back().text = *std::move(decoded);
    } else if (tag.name == "aspectTerm" && !tag.closing) {
      if (!in_sentence) return reader.Error("<aspectTerm> outside a <sentence>");
      RETURN_IF_ERROR(AddTerm(tag, &out.back()));
    }
  }
  if (!seen_root) return absl::InvalidArgumentError("SemEval XML: no <sentences> element");
  if (in_sentence || in_text) return reader.Error("unterminated <sentence>");
  return out;
}

}  // namespace marketlens::analyzer
