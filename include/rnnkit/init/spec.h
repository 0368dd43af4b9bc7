// The textual form of initializers: `name(arg, key=value, ...)`.
//
// Grammar (whitespace allowed between tokens):
//   call  := NAME [ '(' [ arg { ',' arg } ] ')' ]
//   arg   := [ NAME '=' ] value
//   value := NUMBER | NAME | call          e.g. 1.0, -3e-2, fan_in, orthogonal(gain=2)
// A bare NAME as a value is a word (`fan_in`) unless the initializer expects an
// initializer there, in which case it is read as a call with no arguments.
// Numbers print in their shortest exact form with a decimal point: 1 -> "1.0".
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rnnkit {

struct SpecCall;

struct SpecValue {
  enum class Kind { number, word, call };
  Kind kind = Kind::number;
  double number = 0.0;
  std::string word;                // Kind::word, and the name of a Kind::call
  std::shared_ptr<SpecCall> call;  // Kind::call
};

struct SpecArg {
  std::string key;  // empty for a positional argument
  SpecValue value;
};

struct SpecCall {
  std::string name;
  std::vector<SpecArg> args;
};

// Parses a whole spec. Throws Error quoting the text and the position of the problem.
SpecCall parse_spec(std::string_view text);

// The text of a parsed spec or value (keyword arguments as given, numbers formatted).
std::string format_spec(const SpecCall& call);
std::string format_spec_value(const SpecValue& value);

// Shortest text that reads back to exactly `value`, always with '.' or an exponent.
std::string format_spec_number(double value);

// A whole number without the decimal point (2 -> "2"); beyond 2^53 as format_spec_number.
std::string format_spec_integer(double value);

}  // namespace rnnkit
