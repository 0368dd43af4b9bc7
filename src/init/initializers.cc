// The initializer catalogue: a table of kinds, each with its parameters and its
// fill rule; see initializer.h for the formulas and the fan convention.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "orthogonal.h"
#include "rnnkit/core/error.h"
#include "rnnkit/core/threads.h"
#include "rnnkit/init/initializer.h"
#include "rnnkit/init/spec.h"
#include "rnnkit/random/stream.h"

namespace rnnkit {
namespace {

// TensorFlow's stddev of a standard normal truncated to [-2, 2].
constexpr double kTruncatedNormalStddev = 0.87962566103423978;

enum class ParamKind { number, integer, word, init };  // integer: a number with no fraction, printed without ".0"

struct ParamDef {
  std::string name;
  ParamKind kind;
  std::optional<std::string> default_text;  // nullopt with !optional: required
  bool optional = false;                    // may stay unset (printed only when set)
  std::vector<std::string> words = {};      // allowed words for ParamKind::word
  // What a recorded spec (parse_recorded_initializer) means when it leaves the argument out:
  // the behaviour of the rnnkit releases that wrote specs before the argument existed.
  // nullopt: the same as default_text.
  std::optional<std::string> recorded_default_text = std::nullopt;
};

// Where the spec being built comes from: typed (a person, a config file, code) or recorded
// (read back from a checkpoint's metadata).
enum class SpecOrigin { typed, recorded };

// Bound arguments of one initializer, in declaration order.
struct Args {
  std::map<std::string, double> numbers;
  std::map<std::string, std::string> words;
  std::map<std::string, InitializerPtr> inits;

  double number(const std::string& key) const { return numbers.at(key); }
  const std::string& word(const std::string& key) const { return words.at(key); }
  bool has(const std::string& key) const {
    return numbers.count(key) > 0 || words.count(key) > 0 || inits.count(key) > 0;
  }
};

struct Kind;
using FillFn = void (*)(const Kind&, const Args&, TensorView<double>, const InitContext&);
using CheckFn = void (*)(const Args&);

struct Kind {
  const char* name;
  std::vector<std::string> aliases;
  std::vector<ParamDef> params;
  FillFn fill;
  CheckFn check = nullptr;
};

[[noreturn]] void fail_shape(const std::string& init, const InitContext& ctx, const std::string& expected) {
  throw Error(init + ": variable '" + ctx.name + "' has shape " + shape_to_string(ctx.shape) + ", expected " +
              expected);
}

Fans fans_with_overrides(const Args& args, const Shape& shape) {
  Fans fans = compute_fans(shape);
  if (args.numbers.count("fan_in")) fans.fan_in = args.number("fan_in");
  if (args.numbers.count("fan_out")) fans.fan_out = args.number("fan_out");
  return fans;
}

double fan_for_mode(const Fans& fans, const std::string& mode) {
  const double n = mode == "fan_in" ? fans.fan_in : mode == "fan_out" ? fans.fan_out : (fans.fan_in + fans.fan_out) / 2;
  return std::max(1.0, n);
}

void fill_uniform(TensorView<double> out, RandomStream& stream, double low, double high) {
  for (double& x : out.span()) x = stream.uniform(low, high);
}

void fill_normal(TensorView<double> out, RandomStream& stream, double mean, double stddev) {
  for (double& x : out.span()) x = stream.normal(mean, stddev);
}

// Standard normal redrawn until within 2 standard deviations, as TensorFlow.
void fill_truncated_normal(TensorView<double> out, RandomStream& stream, double mean, double stddev) {
  for (double& x : out.span()) {
    double z = stream.normal();
    while (std::abs(z) > 2.0) z = stream.normal();
    x = mean + stddev * z;
  }
}

void fill_variance_scaling(TensorView<double> out, const InitContext& ctx, double scale, const std::string& mode,
                           const std::string& distribution, const Fans& fans) {
  RandomStream stream(ctx.seed, ctx.name);
  const double variance = scale / fan_for_mode(fans, mode);
  if (distribution == "truncated_normal") {
    fill_truncated_normal(out, stream, 0.0, std::sqrt(variance) / kTruncatedNormalStddev);
  } else if (distribution == "untruncated_normal") {
    fill_normal(out, stream, 0.0, std::sqrt(variance));
  } else {
    const double limit = std::sqrt(3.0 * variance);
    fill_uniform(out, stream, -limit, limit);
  }
}

void check_positive(const Args& args, const char* init, const char* key) {
  if (!(args.number(key) > 0)) {
    throw Error(std::string(init) + ": " + key + " must be positive, got " + format_spec_number(args.number(key)));
  }
}

// ---- fill rules -------------------------------------------------------------------------

void fill_constant_kind(const Kind& kind, const Args& args, TensorView<double> out, const InitContext&) {
  const std::string name = kind.name;
  const double value = name == "zeros" ? 0.0 : name == "ones" ? 1.0 : args.number("value");
  std::fill(out.span().begin(), out.span().end(), value);
}

void fill_uniform_kind(const Kind&, const Args& args, TensorView<double> out, const InitContext& ctx) {
  RandomStream stream(ctx.seed, ctx.name);
  fill_uniform(out, stream, args.number("min"), args.number("max"));
}

void fill_normal_kind(const Kind& kind, const Args& args, TensorView<double> out, const InitContext& ctx) {
  RandomStream stream(ctx.seed, ctx.name);
  if (std::string(kind.name) == "truncated_normal") {
    fill_truncated_normal(out, stream, args.number("mean"), args.number("stddev"));
  } else {
    fill_normal(out, stream, args.number("mean"), args.number("stddev"));
  }
}

void fill_variance_scaling_kind(const Kind&, const Args& args, TensorView<double> out, const InitContext& ctx) {
  fill_variance_scaling(out, ctx, args.number("scale"), args.word("mode"), args.word("distribution"),
                        fans_with_overrides(args, ctx.shape));
}

void fill_glorot_kind(const Kind& kind, const Args& args, TensorView<double> out, const InitContext& ctx) {
  const double gain = args.number("gain");
  const bool uniform = std::string(kind.name) == "glorot_uniform";
  fill_variance_scaling(out, ctx, gain * gain, "fan_avg", uniform ? "uniform" : "truncated_normal",
                        fans_with_overrides(args, ctx.shape));
}

void fill_lecun_kind(const Kind& kind, const Args& args, TensorView<double> out, const InitContext& ctx) {
  const bool uniform = std::string(kind.name) == "lecun_uniform";
  fill_variance_scaling(out, ctx, 1.0, "fan_in", uniform ? "uniform" : "truncated_normal",
                        fans_with_overrides(args, ctx.shape));
}

void fill_he_kind(const Kind& kind, const Args& args, TensorView<double> out, const InitContext& ctx) {
  const double gain = calculate_gain(args.word("nonlinearity"), args.number("a"));
  const double fan = fan_for_mode(fans_with_overrides(args, ctx.shape), args.word("mode"));
  const double stddev = gain / std::sqrt(fan);
  RandomStream stream(ctx.seed, ctx.name);
  if (std::string(kind.name) == "he_uniform") {
    const double bound = std::sqrt(3.0) * stddev;
    fill_uniform(out, stream, -bound, bound);
  } else {
    fill_normal(out, stream, 0.0, stddev);
  }
}

void fill_orthogonal_kind(const Kind&, const Args& args, TensorView<double> out, const InitContext& ctx) {
  if (ctx.shape.size() < 2) fail_shape("orthogonal", ctx, "a matrix (rank 2 or more)");
  RandomStream stream(ctx.seed, ctx.name);
  const int64_t rows = ctx.shape[0];
  const TensorView<double> matrix = out.reshaped({rows, rows == 0 ? 0 : out.numel() / rows});
  if (args.number("version") == 1) {
    detail::fill_orthogonal_unblocked(matrix, stream, args.number("gain"));
  } else {
    detail::fill_orthogonal_blocked(matrix, stream, args.number("gain"), get_threads());
  }
}

void check_orthogonal_version(const Args& args) {
  const double version = args.number("version");
  if (version < detail::kOrthogonalOldestVersion || version > detail::kOrthogonalNewestVersion) {
    throw Error("orthogonal: unknown version " + format_spec_integer(version) +
                "; valid versions: 1 (unblocked Householder QR, rnnkit 0.1; what a recorded spec without a "
                "version means) and 2 (blocked Householder QR, the default)");
  }
}

void fill_identity_kind(const Kind&, const Args& args, TensorView<double> out, const InitContext& ctx) {
  if (ctx.shape.size() != 2) fail_shape("identity", ctx, "a matrix (rank 2)");
  std::fill(out.span().begin(), out.span().end(), 0.0);
  for (int64_t i = 0; i < std::min(ctx.shape[0], ctx.shape[1]); ++i) out(i, i) = args.number("gain");
}

void fill_uniform_unit_scaling_kind(const Kind&, const Args& args, TensorView<double> out, const InitContext& ctx) {
  const double limit = std::sqrt(3.0 / std::max(1.0, compute_fans(ctx.shape).fan_in)) * args.number("factor");
  RandomStream stream(ctx.seed, ctx.name);
  fill_uniform(out, stream, -limit, limit);
}

void fill_pytorch_default_kind(const Kind&, const Args&, TensorView<double> out, const InitContext& ctx) {
  const double n = ctx.hidden_size > 0 ? static_cast<double>(ctx.hidden_size) : compute_fans(ctx.shape).fan_in;
  const double bound = 1.0 / std::sqrt(std::max(1.0, n));
  RandomStream stream(ctx.seed, ctx.name);
  fill_uniform(out, stream, -bound, bound);
}

// Splits dim 0 into the context's gate blocks and fills block g with init_for(letter g).
template <class InitFor>
void fill_gate_blocks(const char* init, TensorView<double> out, const InitContext& ctx, InitFor init_for) {
  const std::string& letters = ctx.gate_letters;
  const int64_t gates = letters.empty() ? 1 : static_cast<int64_t>(letters.size());
  if (ctx.shape.empty() || ctx.shape[0] % gates != 0) {
    fail_shape(init, ctx, "a leading extent divisible by the " + std::to_string(gates) + " gate(s) '" + letters + "'");
  }
  const int64_t block = ctx.shape[0] / gates;
  for (int64_t g = 0; g < gates; ++g) {
    InitContext sub = ctx;
    const char letter = letters.empty() ? '\0' : letters[static_cast<std::size_t>(g)];
    sub.name = ctx.name + (letters.empty() ? "" : "[" + std::string(1, letter) + "]");
    sub.shape[0] = block;
    sub.gate_letters.clear();
    const InitializerPtr& gate_init = init_for(letter);
    gate_init->fill(out.rows(g * block, block), sub);
  }
}

const std::string kGateKeys = "ifgorzn";

void fill_per_gate_kind(const Kind&, const Args& args, TensorView<double> out, const InitContext& ctx) {
  const InitializerPtr& init = args.inits.at("init");
  fill_gate_blocks("per_gate", out, ctx, [&](char) -> const InitializerPtr& { return init; });
}

void fill_gates_kind(const Kind&, const Args& args, TensorView<double> out, const InitContext& ctx) {
  for (const auto& [key, init] : args.inits) {
    if (key.size() == 1 && ctx.gate_letters.find(key[0]) == std::string::npos) {
      throw Error("gates: '" + key + "' is not a gate of variable '" + ctx.name +
                  "' (its gates: " + (ctx.gate_letters.empty() ? std::string("none") : ctx.gate_letters) + ")");
    }
  }
  fill_gate_blocks("gates", out, ctx, [&](char letter) -> const InitializerPtr& {
    const auto it = args.inits.find(std::string(1, letter));
    return it != args.inits.end() ? it->second : args.inits.at("default");
  });
}

void fill_chrono_kind(const Kind&, const Args& args, TensorView<double> out, const InitContext& ctx) {
  const std::string& letters = ctx.gate_letters;
  const char keep = letters == "ifgo" ? 'f' : letters == "rzn" ? 'z' : '\0';
  if (keep == '\0' || ctx.shape.size() != 1) {
    fail_shape("chrono", ctx, "the bias vector [G*H] of an LSTM (gates ifgo) or GRU (gates rzn)");
  }
  const int64_t h = ctx.shape[0] / static_cast<int64_t>(letters.size());
  std::fill(out.span().begin(), out.span().end(), 0.0);
  const int64_t keep_block = static_cast<int64_t>(letters.find(keep));
  RandomStream stream(ctx.seed, ctx.name);
  const double t_max = args.number("t_max");
  for (int64_t j = 0; j < h; ++j) {
    const double b = std::log(stream.uniform(1.0, t_max - 1.0));
    out[keep_block * h + j] = b;
    if (keep == 'f') out[j] = -b;  // b_i = -b_f
  }
}

// ---- the table ----------------------------------------------------------------------------

const std::vector<std::string> kModes = {"fan_in", "fan_out", "fan_avg"};
const std::vector<std::string> kDistributions = {"truncated_normal", "untruncated_normal", "uniform"};
const std::vector<std::string> kNonlinearities = {"linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu"};

ParamDef fan_in_override() { return {"fan_in", ParamKind::number, std::nullopt, true}; }
ParamDef fan_out_override() { return {"fan_out", ParamKind::number, std::nullopt, true}; }

const std::vector<Kind>& catalogue() {
  static const std::vector<Kind> kinds = [] {
    std::vector<Kind> k;
    k.push_back({"zeros", {}, {}, fill_constant_kind});
    k.push_back({"ones", {}, {}, fill_constant_kind});
    k.push_back({"constant", {}, {{"value", ParamKind::number, std::nullopt}}, fill_constant_kind});
    k.push_back({"uniform",
                 {},
                 {{"min", ParamKind::number, "-0.05"}, {"max", ParamKind::number, "0.05"}},
                 fill_uniform_kind,
                 [](const Args& a) {
                   if (!(a.number("min") <= a.number("max"))) {
                     throw Error("uniform: min must not exceed max, got min=" + format_spec_number(a.number("min")) +
                                 ", max=" + format_spec_number(a.number("max")));
                   }
                 }});
    for (const char* name : {"normal", "truncated_normal"}) {
      k.push_back({name,
                   {},
                   {{"mean", ParamKind::number, "0.0"}, {"stddev", ParamKind::number, "0.05"}},
                   fill_normal_kind,
                   [](const Args& a) { check_positive(a, "normal", "stddev"); }});
    }
    k.push_back({"variance_scaling",
                 {},
                 {{"scale", ParamKind::number, "1.0"},
                  {"mode", ParamKind::word, "fan_in", false, kModes},
                  {"distribution", ParamKind::word, "truncated_normal", false, kDistributions},
                  fan_in_override(),
                  fan_out_override()},
                 fill_variance_scaling_kind,
                 [](const Args& a) { check_positive(a, "variance_scaling", "scale"); }});
    k.push_back({"glorot_uniform",
                 {"xavier_uniform"},
                 {{"gain", ParamKind::number, "1.0"}, fan_in_override(), fan_out_override()},
                 fill_glorot_kind});
    k.push_back({"glorot_normal",
                 {"xavier_normal"},
                 {{"gain", ParamKind::number, "1.0"}, fan_in_override(), fan_out_override()},
                 fill_glorot_kind});
    for (const char* name : {"he_uniform", "he_normal"}) {
      k.push_back({name,
                   {std::string(name) == "he_uniform" ? "kaiming_uniform" : "kaiming_normal"},
                   {{"nonlinearity", ParamKind::word, "leaky_relu", false, kNonlinearities},
                    {"a", ParamKind::number, "0.0"},
                    {"mode", ParamKind::word, "fan_in", false, kModes},
                    fan_in_override(),
                    fan_out_override()},
                   fill_he_kind});
    }
    k.push_back({"lecun_uniform", {}, {fan_in_override(), fan_out_override()}, fill_lecun_kind});
    k.push_back({"lecun_normal", {}, {fan_in_override(), fan_out_override()}, fill_lecun_kind});
    k.push_back({"orthogonal",
                 {},
                 {{"gain", ParamKind::number, "1.0"},
                  {"version",
                   ParamKind::integer,
                   std::to_string(detail::kOrthogonalNewestVersion),
                   false,
                   {},
                   std::to_string(detail::kOrthogonalOldestVersion)}},
                 fill_orthogonal_kind,
                 check_orthogonal_version});
    k.push_back({"identity", {}, {{"gain", ParamKind::number, "1.0"}}, fill_identity_kind});
    k.push_back({"uniform_unit_scaling", {}, {{"factor", ParamKind::number, "1.0"}}, fill_uniform_unit_scaling_kind});
    k.push_back({"pytorch_default", {}, {}, fill_pytorch_default_kind});
    k.push_back({"per_gate", {}, {{"init", ParamKind::init, std::nullopt}}, fill_per_gate_kind});
    std::vector<ParamDef> gate_params;
    for (char letter : kGateKeys) gate_params.push_back({std::string(1, letter), ParamKind::init, std::nullopt, true});
    gate_params.push_back({"default", ParamKind::init, "zeros"});
    k.push_back({"gates", {}, gate_params, fill_gates_kind});
    k.push_back({"chrono", {}, {{"t_max", ParamKind::number, std::nullopt}}, fill_chrono_kind, [](const Args& a) {
                   if (!(a.number("t_max") > 2.0)) {
                     throw Error("chrono: t_max must be greater than 2 (b = log(U(1, t_max-1))), got " +
                                 format_spec_number(a.number("t_max")));
                   }
                 }});
    return k;
  }();
  return kinds;
}

const Kind* find_kind(const std::string& name) {
  for (const Kind& kind : catalogue()) {
    if (name == kind.name) return &kind;
    for (const std::string& alias : kind.aliases) {
      if (name == alias) return &kind;
    }
  }
  return nullptr;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

class CatalogInitializer final : public Initializer {
 public:
  CatalogInitializer(const Kind* kind, Args args) : kind_(kind), args_(std::move(args)) {}

  std::string spec() const override {
    std::string out = kind_->name;
    if (kind_->params.empty()) return out;
    std::string inner;
    for (const ParamDef& p : kind_->params) {
      if (!args_.has(p.name)) continue;
      inner += inner.empty() ? "" : ", ";
      inner += p.name + "=";
      switch (p.kind) {
        case ParamKind::number: inner += format_spec_number(args_.number(p.name)); break;
        case ParamKind::integer: inner += format_spec_integer(args_.number(p.name)); break;
        case ParamKind::word: inner += args_.word(p.name); break;
        case ParamKind::init: inner += args_.inits.at(p.name)->spec(); break;
      }
    }
    return out + "(" + inner + ")";
  }

  void fill(TensorView<double> out, const InitContext& ctx) const override {
    if (out.shape() != ctx.shape) {
      throw Error(std::string(kind_->name) + ": output shape " + shape_to_string(out.shape()) +
                  " differs from the variable's shape " + shape_to_string(ctx.shape));
    }
    kind_->fill(*kind_, args_, out, ctx);
  }

 private:
  const Kind* kind_;
  Args args_;
};

InitializerPtr build(const SpecCall& call, SpecOrigin origin);

void bind_value(const Kind& kind, const ParamDef& p, const SpecValue& value, SpecOrigin origin, Args& args) {
  const std::string where = std::string(kind.name) + ": argument '" + p.name + "'";
  switch (p.kind) {
    case ParamKind::number:
      if (value.kind != SpecValue::Kind::number) throw Error(where + " expects a number, got '" + value.word + "'");
      args.numbers[p.name] = value.number;
      break;
    case ParamKind::integer:
      if (value.kind != SpecValue::Kind::number || value.number != std::trunc(value.number)) {
        const std::string got = value.kind == SpecValue::Kind::number ? format_spec_number(value.number) : value.word;
        throw Error(where + " expects a whole number, got '" + got + "'");
      }
      args.numbers[p.name] = value.number;
      break;
    case ParamKind::word:
      if (value.kind != SpecValue::Kind::word ||
          std::find(p.words.begin(), p.words.end(), value.word) == p.words.end()) {
        const std::string got = value.kind == SpecValue::Kind::number ? format_spec_number(value.number) : value.word;
        throw Error(where + " expects one of " + join(p.words) + ", got '" + got + "'");
      }
      args.words[p.name] = value.word;
      break;
    case ParamKind::init:
      if (value.kind == SpecValue::Kind::number) {
        throw Error(where + " expects an initializer, got the number " + format_spec_number(value.number));
      }
      args.inits[p.name] =
          value.kind == SpecValue::Kind::call ? build(*value.call, origin) : build(SpecCall{value.word, {}}, origin);
      break;
  }
}

InitializerPtr build(const SpecCall& call, SpecOrigin origin) {
  const Kind* kind = find_kind(call.name);
  if (kind == nullptr) {
    throw Error("unknown initializer '" + call.name + "'; valid initializers: " + join(initializer_names()));
  }
  std::vector<std::string> valid;
  for (const ParamDef& p : kind->params) valid.emplace_back(p.name);
  const std::string valid_text = valid.empty() ? "it takes no arguments" : "valid arguments: " + join(valid);

  Args args;
  std::size_t positional = 0;
  bool seen_keyword = false;
  for (const SpecArg& arg : call.args) {
    const ParamDef* param = nullptr;
    if (arg.key.empty()) {
      if (seen_keyword) throw Error(std::string(kind->name) + ": a positional argument follows a keyword argument");
      if (positional >= kind->params.size()) {
        throw Error(std::string(kind->name) + ": too many arguments (" + std::to_string(call.args.size()) + "); " +
                    valid_text);
      }
      param = &kind->params[positional++];
    } else {
      seen_keyword = true;
      for (const ParamDef& p : kind->params) {
        if (arg.key == p.name) param = &p;
      }
      if (param == nullptr) {
        throw Error(std::string(kind->name) + ": unknown argument '" + arg.key + "'; " + valid_text);
      }
    }
    if (args.has(param->name)) {
      throw Error(std::string(kind->name) + ": argument '" + param->name + "' given twice");
    }
    bind_value(*kind, *param, arg.value, origin, args);
  }
  for (const ParamDef& p : kind->params) {
    if (args.has(p.name) || p.optional) continue;
    const std::optional<std::string>& default_text =
        origin == SpecOrigin::recorded && p.recorded_default_text ? p.recorded_default_text : p.default_text;
    if (!default_text) {
      throw Error(std::string(kind->name) + ": missing argument '" + p.name + "'; " + valid_text);
    }
    SpecValue value;
    if (p.kind == ParamKind::number || p.kind == ParamKind::integer) {
      value.kind = SpecValue::Kind::number;
      value.number = std::stod(*default_text);
    } else {
      value.kind = SpecValue::Kind::word;
      value.word = *default_text;
    }
    bind_value(*kind, p, value, origin, args);
  }
  for (const char* fan : {"fan_in", "fan_out"}) {
    if (args.numbers.count(fan) && !(args.number(fan) > 0)) {
      throw Error(std::string(kind->name) + ": " + fan + " must be positive, got " +
                  format_spec_number(args.number(fan)));
    }
  }
  if (kind->check) kind->check(args);
  return std::make_shared<CatalogInitializer>(kind, std::move(args));
}

}  // namespace

InitializerPtr parse_initializer(std::string_view spec) { return build(parse_spec(spec), SpecOrigin::typed); }

InitializerPtr parse_recorded_initializer(std::string_view spec) {
  return build(parse_spec(spec), SpecOrigin::recorded);
}

Tensor<double> initial_value(const Initializer& init, const InitContext& ctx) {
  Tensor<double> value(ctx.shape);
  init.fill(value.view(), ctx);
  return value;
}

std::vector<std::string> initializer_names() {
  std::vector<std::string> names;
  for (const Kind& kind : catalogue()) names.emplace_back(kind.name);
  return names;
}

Fans compute_fans(const Shape& shape) {
  if (shape.empty()) return {1.0, 1.0};
  if (shape.size() == 1) return {static_cast<double>(shape[0]), static_cast<double>(shape[0])};
  double receptive = 1.0;
  for (std::size_t i = 2; i < shape.size(); ++i) receptive *= static_cast<double>(shape[i]);
  return {static_cast<double>(shape[1]) * receptive, static_cast<double>(shape[0]) * receptive};
}

double calculate_gain(std::string_view nonlinearity, double param) {
  if (nonlinearity == "linear" || nonlinearity == "sigmoid") return 1.0;
  if (nonlinearity == "tanh") return 5.0 / 3.0;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") return std::sqrt(2.0 / (1.0 + param * param));
  if (nonlinearity == "selu") return 0.75;
  throw Error("unknown nonlinearity '" + std::string(nonlinearity) +
              "'; expected one of linear, sigmoid, tanh, relu, leaky_relu, selu");
}

}  // namespace rnnkit
