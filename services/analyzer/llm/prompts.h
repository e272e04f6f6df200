// Versioned prompt templates (data/prompts/<name>.<version>.txt, embedded in the binary; a directory given
// by --prompt_dir replaces them). A template has a "=== system" and a "=== user" section; "# " lines are
// comments; {{placeholders}} are filled by Render. The version is part of every cache key and is logged
// with every call, so changing a prompt means adding <name>.v2.txt: old cached answers are not reused.
#ifndef MARKETLENS_SERVICES_ANALYZER_LLM_PROMPTS_H_
#define MARKETLENS_SERVICES_ANALYZER_LLM_PROMPTS_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace marketlens::analyzer::llm {

// The retrieved data a prompt was rendered from, in typed form. A remote model reads the rendered text; the
// local engine (local_backend.h) reads this instead, so both answer from the same facts. Each prompt's
// owner derives its own context type (the local writer registered for the prompt downcasts it).
struct PromptContext {
  virtual ~PromptContext() = default;
};

struct RenderedPrompt {
  std::string id;  // "summarize_interactions.v1"
  std::string system;
  std::string user;
  std::shared_ptr<const PromptContext> context;  // may be null (then only text backends can answer)
  // A JSON Schema document for the answer (response_format "json_schema" of OpenAI-compatible servers);
  // empty: the backend asks for a JSON object only. The answer is validated against our own Schema anyway.
  std::string response_schema;
  std::string response_schema_name;  // e.g. "ReviewBatchOutput"
  // Prefix of the answer's cache key: "customer/<sha256 of the id>/" for a prompt about one person, so that
  // erasing the person removes their cached answers (StructuredLlm::InvalidateScope, docs/privacy.md).
  std::string cache_scope;

  // "summarize_interactions" (the id without its version).
  std::string name() const { return id.substr(0, id.rfind('.')); }
};

class PromptTemplate {
 public:
  // `filename` is "<name>.<version>.txt".
  static absl::StatusOr<PromptTemplate> Parse(absl::string_view filename, absl::string_view text);
  // Fills every {{key}}; INVALID_ARGUMENT naming a placeholder without a value.
  absl::StatusOr<RenderedPrompt> Render(const std::map<std::string, std::string>& vars) const;

  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }
  std::string id() const { return name_ + "." + version_; }

 private:
  std::string name_, version_, system_, user_;
};

class PromptLibrary {
 public:
  // The embedded templates.
  static absl::StatusOr<PromptLibrary> Embedded();
  // Every *.txt of `dir`.
  static absl::StatusOr<PromptLibrary> FromDirectory(const std::string& dir);
  absl::Status Add(PromptTemplate t);
  // The newest version of `name` (versions compare as "v<number>"); NOT_FOUND when unknown.
  absl::StatusOr<const PromptTemplate*> Get(absl::string_view name) const;

 private:
  std::map<std::string, std::vector<PromptTemplate>> templates_;
};

}  // namespace marketlens::analyzer::llm

#endif  // MARKETLENS_SERVICES_ANALYZER_LLM_PROMPTS_H_
