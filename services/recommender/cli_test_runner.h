// Runs the CLI binary (a data dependency of the test) as a user would, with stdout and stderr apart.
#ifndef MARKETLENS_SERVICES_RECOMMENDER_CLI_TEST_RUNNER_H_
#define MARKETLENS_SERVICES_RECOMMENDER_CLI_TEST_RUNNER_H_

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace marketlens::recommender {

struct CliRun {
  int code = -1;
  std::string out, err;
};

inline std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// `services/recommender/cli ARGS...` from the test's runfiles directory.
inline CliRun Cli(const std::vector<std::string>& args) {
  std::string err_path = std::string(std::getenv("TEST_TMPDIR")) + "/cli_stderr_XXXXXX";
  const int fd = ::mkstemp(err_path.data());
  ::close(fd);
  std::string command = "services/recommender/cli";
  for (const std::string& a : args) command += " " + ShellQuote(a);
  command += " 2>" + ShellQuote(err_path);
  CliRun run;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return run;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) run.out.append(buf, n);
  const int status = ::pclose(p);
  run.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_path);
  run.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  ::unlink(err_path.c_str());
  return run;
}

}  // namespace marketlens::recommender

#endif  // MARKETLENS_SERVICES_RECOMMENDER_CLI_TEST_RUNNER_H_
