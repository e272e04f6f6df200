#include "services/analyzer/llm/prompts.h"

#include <dirent.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status/macros.h"
#include "services/analyzer/engine/engine.h"

namespace marketlens::analyzer {
std::vector<std::string> EmbeddedDataNames();
}

namespace marketlens::analyzer::llm {
namespace {

int VersionNumber(const std::string& v) {
  int n = 0;
  return absl::StartsWith(v, "v") && absl::SimpleAtoi(v.substr(1), &n) ? n : 0;
}

}  // namespace

absl::StatusOr<PromptTemplate> PromptTemplate::Parse(absl::string_view filename, absl::string_view text) {
  std::vector<std::string> parts = absl::StrSplit(filename, '.');
  if (parts.size() != 3 || parts[2] != "txt" || parts[0].empty() || VersionNumber(parts[1]) <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("prompt file ", filename, ": expected <name>.v<N>.txt"));
  }
  PromptTemplate t;
  t.name_ = parts[0];
  t.version_ = parts[1];
  std::string* section = nullptr;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, "# ") || line == "#") continue;
    if (absl::StartsWith(line, "=== ")) {
      const absl::string_view which = absl::StripAsciiWhitespace(line.substr(4));
      if (which == "system") {
        section = &t.system_;
      } else if (which == "user") {
        section = &t.user_;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("prompt file ", filename, ": unknown section ", which));
      }
      continue;
    }
    if (section == nullptr) {
      if (absl::StripAsciiWhitespace(line).empty()) continue;
      return absl::InvalidArgumentError(
          absl::StrCat("prompt file ", filename, ": text before a === section"));
    }
    absl::StrAppend(section, line, "\n");
  }
  if (t.user_.empty())
    return absl::InvalidArgumentError(absl::StrCat("prompt file ", filename, ": no === user section"));
  return t;
}

absl::StatusOr<RenderedPrompt> PromptTemplate::Render(const std::map<std::string, std::string>& vars) const {
  RenderedPrompt out;
  out.id = id();
  for (auto [src, dst] : {std::pair{&system_, &out.system}, std::pair{&user_, &out.user}}) {
    size_t pos = 0;
    while (true) {
      const size_t open = src->find("{{", pos);
      if (open == std::string::npos) {
        dst->append(*src, pos, std::string::npos);
        break;
      }
      const size_t close = src->find("}}", open);
      if (close == std::string::npos) return absl::InvalidArgumentError(absl::StrCat(id(), ": unclosed {{"));
      dst->append(*src, pos, open - pos);
      const std::string key = src->substr(open + 2, close - open - 2);
      auto it = vars.find(key);
      if (it == vars.end())
        return absl::InvalidArgumentError(absl::StrCat(id(), ": no value for {{", key, "}}"));
      dst->append(it->second);
      pos = close + 2;
    }
  }
  return out;
}

absl::Status PromptLibrary::Add(PromptTemplate t) {
  templates_[t.name()].push_back(std::move(t));
  return absl::OkStatus();
}

absl::StatusOr<const PromptTemplate*> PromptLibrary::Get(absl::string_view name) const {
  auto it = templates_.find(std::string(name));
  if (it == templates_.end() || it->second.empty()) {
    return absl::NotFoundError(absl::StrCat("no prompt template named ", name));
  }
  const PromptTemplate* best = &it->second.front();
  for (const auto& t : it->second) {
    if (VersionNumber(t.version()) > VersionNumber(best->version())) best = &t;
  }
  return best;
}

absl::StatusOr<PromptLibrary> PromptLibrary::Embedded() {
  PromptLibrary lib;
  for (const std::string& name : EmbeddedDataNames()) {
    if (!absl::EndsWith(name, ".txt")) continue;
    ASSIGN_OR_RETURN(auto t, PromptTemplate::Parse(name, EmbeddedData(name)));
    (void)lib.Add(std::move(t));
  }
  return lib;
}

absl::StatusOr<PromptLibrary> PromptLibrary::FromDirectory(const std::string& dir) {
  PromptLibrary lib;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return absl::InvalidArgumentError(absl::StrCat("cannot open prompt directory ", dir));
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (absl::EndsWith(name, ".txt")) names.push_back(name);
  }
  closedir(d);
  for (const std::string& name : names) {
    std::ifstream in(dir + "/" + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    ASSIGN_OR_RETURN(auto t, PromptTemplate::Parse(name, ss.str()));
    (void)lib.Add(std::move(t));
  }
  return lib;
}

}  // namespace marketlens::analyzer::llm
