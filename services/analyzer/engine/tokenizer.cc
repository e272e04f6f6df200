#include "services/analyzer/engine/tokenizer.h"

#include <algorithm>

namespace marketlens::analyzer {
namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";

bool IsAsciiAlnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool IsSpace(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

// Decodes the code point at text[i] (valid UTF-8 guaranteed by RepairUtf8); sets len.
uint32_t Decode(absl::string_view text, size_t i, size_t* len) {
  const unsigned char c = text[i];
  if (c < 0x80) {
    *len = 1;
    return c;
  }
  if ((c >> 5) == 0x6 && i + 1 < text.size()) {
    *len = 2;
    return ((c & 0x1F) << 6) | (text[i + 1] & 0x3F);
  }
  if ((c >> 4) == 0xE && i + 2 < text.size()) {
    *len = 3;
    return ((c & 0x0F) << 12) | ((text[i + 1] & 0x3F) << 6) | (text[i + 2] & 0x3F);
  }
  if ((c >> 3) == 0x1E && i + 3 < text.size()) {
    *len = 4;
    return ((c & 0x07) << 18) | ((text[i + 1] & 0x3F) << 12) | ((text[i + 2] & 0x3F) << 6) |
           (text[i + 3] & 0x3F);
  }
  *len = 1;
  return 0xFFFD;
}

bool IsEmoji(uint32_t cp) {
  return (cp >= 0x1F300 && cp <= 0x1FAFF) || (cp >= 0x2600 && cp <= 0x27BF) || cp == 0x2B50;
}
// Letters of other scripts are part of words; general punctuation and symbols are not.
bool IsWordCodepoint(uint32_t cp) {
  if (cp == 0xFFFD || IsEmoji(cp)) return false;
  if (cp >= 0x2000 && cp <= 0x2BFF) return false;  // punctuation, arrows, symbols
  if (cp == 0xA0 || cp == 0xAB || cp == 0xBB || cp == 0xB7) return false;
  return cp >= 0xC0;
}

}  // namespace

std::string RepairUtf8(absl::string_view input, size_t max_bytes, bool* invalid, bool* truncated) {
  std::string out;
  out.reserve(std::min(input.size(), max_bytes) + 8);
  *invalid = false;
  *truncated = false;
  size_t i = 0;
  while (i < input.size()) {
    const unsigned char c = input[i];
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07;
    }
    bool ok = len > 0 && i + len <= input.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const unsigned char cc = input[i + k];
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok && len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
    if (ok && len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ok = false;
    absl::string_view piece;
    char ascii = 0;
    if (!ok) {
      *invalid = true;
      piece = kReplacement;
      len = 1;
    } else if (cp == 0x2018 || cp == 0x2019 || cp == 0x02BC) {
      ascii = '\'';
    } else if (cp == 0x201C || cp == 0x201D) {
      ascii = '"';
    } else if (cp < 0x20 && cp != '\n' && cp != '\t') {
      ascii = ' ';  // NUL and other control characters
    } else {
      piece = input.substr(i, len);
    }
    const size_t add = ascii ? 1 : piece.size();
    if (out.size() + add > max_bytes) {
      *truncated = true;
      break;
    }
    if (ascii) {
      out.push_back(ascii);
    } else {
      out.append(piece.data(), piece.size());
    }
    i += len;
  }
  return out;
}

bool IsNegator(absl::string_view w) {
  static const auto* kNegators = new absl::flat_hash_set<std::string>{
      "not",    "no",      "never",    "none",    "nobody", "nothing", "neither", "nor",   "nowhere",
      "cannot", "cant",    "dont",     "doesnt",  "didnt",  "isnt",    "wasnt",   "arent", "werent",
      "wont",   "wouldnt", "shouldnt", "couldnt", "hasnt",  "havent",  "hadnt",   "aint",  "without",
      "nope",   "nada",    "mustnt",   "neednt",  "darent", "uh-uh",   "rarely",  "seldom"};
  if (w.size() > 3 && w.substr(w.size() - 3) == "n't") return true;
  return kNegators->contains(w);
}

void Tokenize(absl::string_view input, const TokenizerOptions& options, TokenizedText* out) {
  out->tokens.clear();
  out->sentences.clear();
  out->words = 0;
  out->caps_words = 0;
  out->text = RepairUtf8(input, options.max_bytes, &out->invalid_utf8, &out->truncated);
  const std::string& text = out->text;
  out->lower = text;
  for (char& ch : out->lower) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  const absl::string_view lower(out->lower);
  const size_t n = text.size();
  out->tokens.reserve(n / 4 + 4);

  Sentence current;
  bool open = false;  // current sentence has tokens
  auto add_token = [&](size_t b, size_t e, TokenKind kind, uint32_t cp = 0) {
    if (!open) {
      current = Sentence();
      current.first_token = static_cast<uint32_t>(out->tokens.size());
      current.begin = static_cast<uint32_t>(b);
      open = true;
    }
    Token t;
    t.lower = lower.substr(b, e - b);
    t.begin = static_cast<uint32_t>(b);
    t.end = static_cast<uint32_t>(e);
    t.kind = kind;
    t.codepoint = cp;
    if (kind == TokenKind::kWord) {
      ++out->words;
      int letters = 0, upper = 0;
      for (size_t k = b; k < e; ++k) {
        const char ch = text[k];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) ++letters;
        if (ch >= 'A' && ch <= 'Z') ++upper;
      }
      t.all_caps = letters >= 2 && upper == letters;
      if (t.all_caps) ++out->caps_words;
    }
    current.end = static_cast<uint32_t>(e);
    out->tokens.push_back(t);
  };
  auto close_sentence = [&](size_t end_byte) {
    if (!open) return;
    current.end_token = static_cast<uint32_t>(out->tokens.size());
    current.end = std::max<uint32_t>(current.end, static_cast<uint32_t>(end_byte));
    out->sentences.push_back(current);
    open = false;
  };

  size_t i = 0;
  while (i < n) {
    const unsigned char c = text[i];
    if (c == '\n') {
      close_sentence(i);
      ++i;
      continue;
    }
    if (IsSpace(c)) {
      ++i;
      continue;
    }
    // An emoticon standing alone between spaces.
    if (options.emoticons != nullptr && (i == 0 || IsSpace(text[i - 1]) || text[i - 1] == '\n') &&
        !IsAsciiAlnum(c)) {
      size_t e = i;
      while (e < n && !IsSpace(text[e]) && text[e] != '\n') ++e;
      if (e - i >= 2 && e - i <= 8 && options.emoticons->contains(absl::string_view(text).substr(i, e - i))) {
        add_token(i, e, TokenKind::kEmoticon);
        i = e;
        continue;
      }
    }
    if (c < 0x80 && IsAsciiAlnum(c)) {
      size_t e = i + 1;
      while (e < n) {
        const unsigned char d = text[e];
        if (d < 0x80 && IsAsciiAlnum(d)) {
          ++e;
        } else if (d == '\'' && e + 1 < n && static_cast<unsigned char>(text[e + 1]) < 0x80 &&
                   IsAsciiAlnum(text[e + 1])) {
          e += 2;
        } else if (d == '.' && e + 1 < n && text[e + 1] >= '0' && text[e + 1] <= '9' && text[e - 1] >= '0' &&
                   text[e - 1] <= '9') {
          e += 2;  // 4.5
        } else if (d >= 0x80) {
          size_t len;
          const uint32_t cp = Decode(text, e, &len);
          if (!IsWordCodepoint(cp)) break;
          e += len;
        } else {
          break;
        }
      }
      add_token(i, e, TokenKind::kWord);
      i = e;
      continue;
    }
    if (c >= 0x80) {
      size_t len;
      const uint32_t cp = Decode(text, i, &len);
      if (IsEmoji(cp)) {
        size_t e = i + len;
        // Variation selectors / skin tones belong to the emoji.
        while (e < n) {
          size_t l2;
          const uint32_t next = Decode(text, e, &l2);
          if (next == 0xFE0F || (next >= 0x1F3FB && next <= 0x1F3FF) || next == 0x200D) {
            e += l2;
          } else {
            break;
          }
        }
        add_token(i, e, TokenKind::kEmoji, cp);
        i = e;
        continue;
      }
      if (IsWordCodepoint(cp)) {
        size_t e = i + len;
        while (e < n) {
          const unsigned char d = text[e];
          if (d < 0x80) {
            if (!IsAsciiAlnum(d)) break;
            ++e;
          } else {
            size_t l2;
            if (!IsWordCodepoint(Decode(text, e, &l2))) break;
            e += l2;
          }
        }
        add_token(i, e, TokenKind::kWord);
        i = e;
        continue;
      }
      if (cp == 0x2026) {  // ellipsis
        close_sentence(i + len);
      } else if (cp == 0x2014 || cp == 0x2013) {  // dashes: clause boundary
        add_token(i, i + len, TokenKind::kPunct);
      }
      i += len;
      continue;
    }
    switch (c) {
      case '.':
      case '!':
      case '?': {
        size_t e = i;
        int excl = 0, quest = 0;
        while (e < n && (text[e] == '.' || text[e] == '!' || text[e] == '?')) {
          excl += text[e] == '!';
          quest += text[e] == '?';
          ++e;
        }
        if (open) {
          current.exclamations = static_cast<uint8_t>(std::min(255, current.exclamations + excl));
          current.questions = static_cast<uint8_t>(std::min(255, current.questions + quest));
        }
        close_sentence(e);
        i = e;
        break;
      }
      case ',':
      case ';':
      case ':':
      case '(':
      case ')':
        if (open) add_token(i, i + 1, TokenKind::kPunct);
        ++i;
        break;
      case '-':
        // " - " and "--" separate clauses; a hyphen inside a word just splits it.
        if (open && ((i + 1 < n && text[i + 1] == '-') || (i > 0 && IsSpace(text[i - 1])))) {
          add_token(i, i + 1, TokenKind::kPunct);
        }
        ++i;
        break;
      default:
        ++i;
    }
  }
  close_sentence(n);
}

}  // namespace marketlens::analyzer
