// marketplace CLI:
//   bazel run //services/marketplace:cli -- export --out DIR [--products N] [--seed S] [--mess_rate R]
//       the generated world as files (see export.h), ending with "products=N reviews=M interactions=K ..."
//   bazel run //services/marketplace:cli -- truth --out DIR [--products N] [--seed S]
//       only the planted truth (truth_*.jsonl)
//   bazel run //services/marketplace:cli -- sample [--n 5] [--products N] [--seed S]
//       a few generated reviews with their truth, to read what the generator writes
// A relative --out is taken from the directory `bazel run` was started in.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/marketplace/export.h"
#include "services/marketplace/generator.h"

ABSL_FLAG(std::string, out, "", "Output directory (created if missing).");
ABSL_FLAG(int, products, 1000, "Products in the generated world (customers: 8 per product).");
ABSL_FLAG(int, customers, 0, "Customers (0: 8 per product).");
ABSL_FLAG(uint64_t, seed, 42, "Generator seed: the same seed gives the same world.");
ABSL_FLAG(double, mess_rate, 0.02, "Share of CSV rows made messy (0: clean CSVs).");
ABSL_FLAG(int, n, 5, "sample: how many reviews to print.");

namespace {

constexpr char kUsage[] =
    "marketplace cli <command> [flags]\n"
    "  export --out DIR [--products N] [--seed S] [--mess_rate R]   write the generated world as files\n"
    "  truth  --out DIR [--products N] [--seed S]                   write only the planted truth\n"
    "  sample [--n 5] [--products N] [--seed S]                     print a few reviews with their truth";

std::string ResolveOut(std::string out) {
  if (out.empty() || out[0] == '/') return out;
  const char* wd = std::getenv("BUILD_WORKING_DIRECTORY");  // set by `bazel run`
  return wd != nullptr ? absl::StrCat(wd, "/", out) : out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace marketlens::marketplace;
  absl::SetProgramUsageMessage(kUsage);
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) {
    fprintf(stderr, "%s\n", kUsage);
    return 2;
  }
  const std::string command = args[1];
  if (command != "export" && command != "truth" && command != "sample") {
    fprintf(stderr, "unknown command \"%s\"\n%s\n", command.c_str(), kUsage);
    return 2;
  }
  GeneratorOptions g;
  g.seed = absl::GetFlag(FLAGS_seed);
  g.products = absl::GetFlag(FLAGS_products);
  g.customers = absl::GetFlag(FLAGS_customers);
  const absl::Time start = absl::Now();
  absl::StatusOr<GeneratedWorld> world = Generate(g);
  if (!world.ok()) {
    fprintf(stderr, "cannot generate: %s\n", std::string(world.status().message()).c_str());
    return 2;
  }
  fprintf(stderr, "generated in %s\n", absl::FormatDuration(absl::Now() - start).c_str());

  if (command == "sample") {
    const WorldData& d = world->data;
    const int n = absl::GetFlag(FLAGS_n);
    for (int i = 0; i < n && !d.reviews.empty(); ++i) {
      const size_t k = (d.reviews.size() - 1) * i / std::max(1, n - 1);
      const auto& r = d.reviews[k];
      const auto& t = d.review_truth[k];
      std::string aspects;
      for (const auto& a : t.aspects())
        absl::StrAppend(&aspects, a.aspect(), a.polarity() > 0 ? "+ " : (a.polarity() < 0 ? "- " : "0 "));
      std::string issues;
      for (const auto& x : t.issues()) absl::StrAppend(&issues, x, " ");
      printf("%s %s %d* \"%s\"\n  %s\n  truth: %s (%.2f) aspects: %s issues: %s\n\n", r.id().c_str(),
             r.product_id().c_str(), r.rating(), r.title().c_str(), r.text().c_str(), t.sentiment().c_str(),
             t.sentiment_score(), aspects.c_str(), issues.c_str());
    }
    return 0;
  }

  ExportOptions e;
  e.out_dir = ResolveOut(absl::GetFlag(FLAGS_out));
  if (e.out_dir.empty()) {
    fprintf(stderr, "--out is required\n%s\n", kUsage);
    return 2;
  }
  e.mess_rate = absl::GetFlag(FLAGS_mess_rate);
  e.mess_seed = g.seed;
  e.data = command == "export";
  e.truth = true;
  absl::StatusOr<ExportSummary> sum = ExportWorld(world->data, e);
  if (!sum.ok()) {
    fprintf(stderr, "export failed: %s\n", std::string(sum.status().message()).c_str());
    return 1;
  }
  printf("%s\n", sum->Line().c_str());
  return 0;
}
