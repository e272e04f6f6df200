// `bazel run //services/recommender:cli -- <command> ...`: see cli_commands.h (or run with no arguments).
#include <iostream>
#include <string>
#include <vector>

#include "services/recommender/cli_commands.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return marketlens::recommender::RunCli(args, std::cout, std::cerr);
}
