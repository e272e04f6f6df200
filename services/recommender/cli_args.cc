#include "services/recommender/cli_args.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace marketlens::recommender {

absl::StatusOr<CliArgs> CliArgs::Parse(const std::vector<std::string>& args,
                                       const std::set<std::string>& switches) {
  CliArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (!absl::StartsWith(a, "--")) {
      if (out.command_.empty()) {
        out.command_ = a;
      } else {
        out.positional_.push_back(a);
      }
      continue;
    }
    std::string name = a.substr(2), value;
    const size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (switches.count(name)) {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
    }
    if (name.empty()) return absl::InvalidArgumentError(absl::StrCat("bad flag `", a, "`"));
    out.flags_[name] = value;
  }
  return out;
}

bool CliArgs::Has(const std::string& name) const {
  used_.insert(name);
  return flags_.count(name) > 0;
}

std::string CliArgs::Get(const std::string& name, const std::string& fallback) const {
  used_.insert(name);
  auto it = flags_.find(name);
  return it == flags_.end() ? fallback : it->second;
}

absl::StatusOr<int64_t> CliArgs::GetInt(const std::string& name, int64_t fallback) const {
  if (!Has(name)) return fallback;
  int64_t v;
  if (!absl::SimpleAtoi(Get(name), &v)) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, "=`", Get(name), "` is not an integer"));
  }
  return v;
}

absl::StatusOr<double> CliArgs::GetDouble(const std::string& name, double fallback) const {
  if (!Has(name)) return fallback;
  double v;
  if (!absl::SimpleAtod(Get(name), &v)) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, "=`", Get(name), "` is not a number"));
  }
  return v;
}

std::vector<std::string> CliArgs::Unused() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : flags_) {
    if (!used_.count(k)) out.push_back(k);
  }
  return out;
}

}  // namespace marketlens::recommender
