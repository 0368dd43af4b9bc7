// rnnkit::Error: the one exception type the library throws.
//
// Library code never prints, exits or aborts. Every failure caused by user input
// (shapes, specs, files, names) is reported by throwing Error with a message that
// names the thing, what was expected and what was found. Only the CLI turns
// errors into messages for people and exit codes.
#pragma once

#include <stdexcept>
#include <string>

namespace rnnkit {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace rnnkit
