// Parser for initializer specs; see spec.h for the grammar.
#include "rnnkit/init/spec.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "rnnkit/core/error.h"

namespace rnnkit {
namespace {

constexpr int kMaxNesting = 32;

class SpecParser {
 public:
  explicit SpecParser(std::string_view text) : text_(text) {}

  SpecCall parse_all() {
    SpecCall call = parse_call(0);
    skip_space();
    if (pos_ != text_.size()) fail("unexpected '" + std::string(1, text_[pos_]) + "' after the end of the spec");
    return call;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error("initializer spec '" + std::string(text_) + "': " + what + " at position " + std::to_string(pos_ + 1));
  }

  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  bool peek(char c) {
    skip_space();
    return pos_ < text_.size() && text_[pos_] == c;
  }

  static bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
  static bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

  std::string parse_name() {
    skip_space();
    if (pos_ >= text_.size() || !is_name_start(text_[pos_])) {
      fail(pos_ >= text_.size() ? "expected a name, found the end"
                                : "expected a name, found '" + std::string(1, text_[pos_]) + "'");
    }
    const std::size_t start = pos_;
    while (pos_ < text_.size() && is_name_char(text_[pos_])) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }

  SpecCall parse_call(int depth) {
    if (depth > kMaxNesting) fail("nesting deeper than " + std::to_string(kMaxNesting) + " levels");
    SpecCall call;
    call.name = parse_name();
    if (!peek('(')) return call;
    ++pos_;
    if (peek(')')) {
      ++pos_;
      return call;
    }
    while (true) {
      call.args.push_back(parse_arg(depth));
      if (peek(',')) {
        ++pos_;
        continue;
      }
      if (peek(')')) {
        ++pos_;
        return call;
      }
      fail(pos_ >= text_.size() ? "missing ')'" : "expected ',' or ')', found '" + std::string(1, text_[pos_]) + "'");
    }
  }

  SpecArg parse_arg(int depth) {
    SpecArg arg;
    skip_space();
    if (pos_ < text_.size() && is_name_start(text_[pos_])) {
      const std::size_t save = pos_;
      std::string name = parse_name();
      if (peek('=')) {
        ++pos_;
        arg.key = std::move(name);
      } else {
        pos_ = save;
      }
    }
    arg.value = parse_value(depth);
    return arg;
  }

  SpecValue parse_value(int depth) {
    skip_space();
    SpecValue value;
    if (pos_ >= text_.size()) fail("expected a value, found the end");
    const char c = text_[pos_];
    if (is_name_start(c)) {
      const std::size_t save = pos_;
      std::string name = parse_name();
      if (peek('(')) {
        pos_ = save;
        value.kind = SpecValue::Kind::call;
        value.call = std::make_shared<SpecCall>(parse_call(depth + 1));
        value.word = value.call->name;
      } else {
        value.kind = SpecValue::Kind::word;
        value.word = std::move(name);
      }
      return value;
    }
    // A number: optional sign, digits, '.', exponent.
    const std::size_t start = pos_;
    if (c == '+' || c == '-') ++pos_;
    while (pos_ < text_.size() && (std::isdigit(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.' ||
                                   text_[pos_] == 'e' || text_[pos_] == 'E' ||
                                   ((text_[pos_] == '-' || text_[pos_] == '+') && pos_ > start &&
                                    (text_[pos_ - 1] == 'e' || text_[pos_ - 1] == 'E')))) {
      ++pos_;
    }
    std::string token(text_.substr(start, pos_ - start));
    if (!token.empty() && token[0] == '+') token.erase(0, 1);
    double number = 0.0;
    const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), number);
    if (token.empty() || ec != std::errc() || ptr != token.data() + token.size() || !std::isfinite(number)) {
      pos_ = start;
      fail("expected a number, a name or an initializer, found '" +
           std::string(text_.substr(start, std::max<std::size_t>(1, token.size()))) + "'");
    }
    value.kind = SpecValue::Kind::number;
    value.number = number;
    return value;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

SpecCall parse_spec(std::string_view text) { return SpecParser(text).parse_all(); }

std::string format_spec_value(const SpecValue& value) {
  switch (value.kind) {
    case SpecValue::Kind::number: return format_spec_number(value.number);
    case SpecValue::Kind::word: return value.word;
    case SpecValue::Kind::call: return format_spec(*value.call);
  }
  return "";
}

std::string format_spec(const SpecCall& call) {
  if (call.args.empty()) return call.name;
  std::string out = call.name + "(";
  for (std::size_t i = 0; i < call.args.size(); ++i) {
    if (i > 0) out += ", ";
    if (!call.args[i].key.empty()) out += call.args[i].key + "=";
    out += format_spec_value(call.args[i].value);
  }
  return out + ")";
}

std::string format_spec_number(double value) {
  char buffer[64];
  const auto [ptr, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  std::string out(buffer, ec == std::errc() ? ptr : buffer);
  if (out.find_first_of(".en") == std::string::npos) out += ".0";
  return out;
}

std::string format_spec_integer(double value) {
  constexpr double kExactIntegers = 9007199254740992.0;  // 2^53
  if (std::abs(value) < kExactIntegers && value == std::trunc(value)) {
    return std::to_string(static_cast<int64_t>(value));
  }
  return format_spec_number(value);
}

}  // namespace rnnkit
