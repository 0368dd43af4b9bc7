// Glob matching by dynamic programming over (pattern position, name position):
// linear memory, no recursion, no exponential blow-up on patterns like a*a*a*b.
#include "rnnkit/variables/glob.h"

#include <vector>

namespace rnnkit {

bool glob_match(std::string_view pattern, std::string_view name) {
  const std::size_t n = name.size();
  // reach[j]: the pattern prefix consumed so far matches name[0, j).
  std::vector<char> reach(n + 1, 0), next(n + 1, 0);
  reach[0] = 1;
  std::size_t i = 0;
  while (i < pattern.size()) {
    std::fill(next.begin(), next.end(), 0);
    if (pattern[i] == '*') {
      const bool cross = i + 1 < pattern.size() && pattern[i + 1] == '*';
      bool open = false;
      for (std::size_t j = 0; j <= n; ++j) {
        if (reach[j]) open = true;
        if (open) next[j] = 1;
        if (j < n && !cross && name[j] == '/') open = false;
      }
      i += cross ? 2 : 1;
    } else {
      for (std::size_t j = 0; j < n; ++j) {
        if (reach[j] && (pattern[i] == '?' ? name[j] != '/' : pattern[i] == name[j])) next[j + 1] = 1;
      }
      ++i;
    }
    reach.swap(next);
  }
  return reach[n] != 0;
}

}  // namespace rnnkit
