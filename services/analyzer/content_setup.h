// Wires the LLM backend (AnalyzeText and the grounded content: GenerateContent, SummarizeInteractions,
// GenerateBrief) and the process-wide retrieval index into the service from flags.
#ifndef MARKETLENS_SERVICES_ANALYZER_CONTENT_SETUP_H_
#define MARKETLENS_SERVICES_ANALYZER_CONTENT_SETUP_H_

#include "absl/status/status.h"
#include "common/service/service_main.h"
#include "services/analyzer/analyzer_service.h"
#include "services/analyzer/engine/engine.h"

namespace marketlens::analyzer {

absl::Status SetupContent(service::ServiceContext& ctx, Engine* engine, AnalyzerServiceImpl* service);

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_CONTENT_SETUP_H_
