// The CLI's aspect-term commands (cli.cc dispatches to them; see cli_aspects.cc).
#ifndef MARKETLENS_SERVICES_ANALYZER_CLI_ASPECTS_H_
#define MARKETLENS_SERVICES_ANALYZER_CLI_ASPECTS_H_

#include <vector>

namespace marketlens::analyzer {

// `train-aspects FILE.xml --out MODEL`; args as left by absl::ParseCommandLine (args[1] is the command).
int TrainAspectsCommand(const std::vector<char*>& args);
// `extract-aspects --model MODEL` < JSON lines.
int ExtractAspectsCommand(const std::vector<char*>& args);

}  // namespace marketlens::analyzer

#endif  // MARKETLENS_SERVICES_ANALYZER_CLI_ASPECTS_H_
