// Runs LLVMFuzzerTestOneInput without libFuzzer (the gcc build): every seed of the corpus directories given
// as arguments, then --iterations deterministic mutations of them (byte flips, insertions of interesting
// tokens, truncations, splices). Used by request_fuzz_test so the invariants are checked on every test run;
// run_libfuzzer.sh does the real, coverage-guided fuzzing.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  long iterations = 20000;
  std::vector<std::string> seeds;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--iterations=", 0) == 0) {
      iterations = std::atol(arg.c_str() + 13);
      continue;
    }
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(arg, ec)) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream s;
      s << in.rdbuf();
      seeds.push_back(s.str());
    }
  }
  if (seeds.empty()) {
    std::cerr << "no seeds found\n";
    return 1;
  }
  for (const std::string& s : seeds)
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  const std::vector<std::string> tokens = {"%",
                                           "%2F",
                                           "%FF",
                                           "{",
                                           "}",
                                           ":",
                                           "?",
                                           "&",
                                           "=",
                                           ",",
                                           "\"",
                                           "\\u0000",
                                           "\r\n",
                                           "[",
                                           "]",
                                           "null",
                                           "1e999",
                                           "-1",
                                           "99999999999999999999",
                                           "..",
                                           "/",
                                           "\xff",
                                           "\x00",
                                           "+"};
  std::mt19937_64 rng(42);
  for (long i = 0; i < iterations; ++i) {
    std::string s = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
      switch (rng() % 5) {
        case 0:
          if (!s.empty() && pos < s.size()) s[pos] = static_cast<char>(rng() & 0xff);
          break;
        case 1:
          s.insert(pos, tokens[rng() % tokens.size()]);
          break;
        case 2:
          if (pos < s.size()) s.erase(pos, 1 + rng() % 8);
          break;
        case 3:
          s.resize(pos);
          break;
        case 4: {
          const std::string& other = seeds[rng() % seeds.size()];
          s.insert(pos, other.substr(rng() % (other.size() + 1)));
          break;
        }
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  std::cout << "ran " << seeds.size() << " seeds and " << iterations << " mutations\n";
  return 0;
}
