#ifndef PARLEY_COMMON_FLAG_SPELLING_H_
#define PARLEY_COMMON_FLAG_SPELLING_H_

#include <string>
#include <vector>

namespace parley {

// Abseil flags are named with underscores (--queue_capacity); people type dashes
// (--queue-capacity). Returns argv with every "--flag-name[=value]" spelled with underscores,
// so both forms work. Values and positional arguments are left alone.
std::vector<std::string> NormalizeFlagSpelling(int argc, char** argv);

}  // namespace parley

#endif  // PARLEY_COMMON_FLAG_SPELLING_H_
