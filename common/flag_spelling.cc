#include "common/flag_spelling.h"

#include <algorithm>

namespace parley {

std::vector<std::string> NormalizeFlagSpelling(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    std::string& arg = args[i];
    if (arg == "--") break;  // everything after is positional
    if (arg.size() < 3 || arg[0] != '-' || arg[1] != '-') continue;
    const size_t name_end = std::min(arg.find('='), arg.size());
    std::replace(arg.begin() + 2, arg.begin() + static_cast<std::ptrdiff_t>(name_end), '-', '_');
  }
  return args;
}

}  // namespace parley
