// Initializer specs: grammar, canonical printing, round trips, and errors that help.
#include "rnnkit/init/spec.h"

#include <gtest/gtest.h>

#include "rnnkit/core/error.h"
#include "rnnkit/init/initializer.h"

namespace rnnkit {
namespace {

std::string error_of(const std::string& spec) {
  try {
    parse_initializer(spec);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Spec, ParsesNestedCallsWordsAndNumbers) {
  const SpecCall call = parse_spec(" gates( f = constant(1.0), default=variance_scaling(2, mode=fan_out) ) ");
  EXPECT_EQ(call.name, "gates");
  ASSERT_EQ(call.args.size(), 2u);
  EXPECT_EQ(call.args[0].key, "f");
  ASSERT_EQ(call.args[0].value.kind, SpecValue::Kind::call);
  EXPECT_EQ(call.args[0].value.call->args[0].value.number, 1.0);
  EXPECT_EQ(call.args[1].value.call->args[1].value.word, "fan_out");
}

TEST(Spec, NumbersPrintShortestWithAPoint) {
  EXPECT_EQ(format_spec_number(1.0), "1.0");
  EXPECT_EQ(format_spec_number(-0.05), "-0.05");
  EXPECT_EQ(format_spec_number(1e-7), "1e-07");
  EXPECT_EQ(format_spec_number(0.1 + 0.2), "0.30000000000000004");
}

TEST(Spec, CanonicalFormsRoundTrip) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"orthogonal(gain=1.0)", "orthogonal(gain=1.0, version=2)"},
      {"orthogonal", "orthogonal(gain=1.0, version=2)"},
      {"orthogonal(version=1)", "orthogonal(gain=1.0, version=1)"},
      {"uniform(-0.1, 0.1)", "uniform(min=-0.1, max=0.1)"},
      {"constant(2)", "constant(value=2.0)"},
      {"xavier_uniform", "glorot_uniform(gain=1.0)"},
      {"kaiming_normal(nonlinearity=relu)", "he_normal(nonlinearity=relu, a=0.0, mode=fan_in)"},
      {"variance_scaling(2.0, fan_avg, uniform)", "variance_scaling(scale=2.0, mode=fan_avg, distribution=uniform)"},
      {"glorot_uniform(fan_in=133, fan_out=512)", "glorot_uniform(gain=1.0, fan_in=133.0, fan_out=512.0)"},
      {"per_gate(orthogonal(gain=2))", "per_gate(init=orthogonal(gain=2.0, version=2))"},
      {"gates(f=constant(1.0))", "gates(f=constant(value=1.0), default=zeros)"},
      {"gates(i=ones, default=normal(0, 0.1))", "gates(i=ones, default=normal(mean=0.0, stddev=0.1))"},
      {"chrono(t_max=100)", "chrono(t_max=100.0)"},
      {"zeros", "zeros"},
      {"zeros()", "zeros"},
  };
  for (const auto& [text, canonical] : cases) {
    const std::string printed = parse_initializer(text)->spec();
    EXPECT_EQ(printed, canonical) << "from " << text;
    EXPECT_EQ(parse_initializer(printed)->spec(), printed) << "round trip of " << printed;
  }
}

TEST(Spec, EveryInitializerRoundTrips) {
  for (const std::string& name : initializer_names()) {
    std::string text = name;
    if (name == "constant") text = "constant(0.5)";
    if (name == "per_gate") text = "per_gate(orthogonal)";
    if (name == "chrono") text = "chrono(t_max=10)";
    const std::string printed = parse_initializer(text)->spec();
    EXPECT_EQ(parse_initializer(printed)->spec(), printed);
  }
}

TEST(Spec, UnknownArgumentIsNamedWithTheValidOnes) {
  const std::string message = error_of("orthogonal(gian=2)");
  EXPECT_NE(message.find("unknown argument 'gian'"), std::string::npos) << message;
  EXPECT_NE(message.find("valid arguments: gain"), std::string::npos) << message;
}

TEST(Spec, BadSpecsSayWhatIsWrong) {
  EXPECT_NE(error_of("orthgonal").find("unknown initializer 'orthgonal'"), std::string::npos);
  EXPECT_NE(error_of("orthgonal").find("orthogonal"), std::string::npos);  // lists the valid ones
  EXPECT_NE(error_of("constant").find("missing argument 'value'"), std::string::npos);
  EXPECT_NE(error_of("uniform(1, 2, 3)").find("too many arguments"), std::string::npos);
  EXPECT_NE(error_of("variance_scaling(mode=fan_everything)").find("expects one of fan_in, fan_out, fan_avg"),
            std::string::npos);
  EXPECT_NE(error_of("normal(stddev=-1)").find("stddev must be positive"), std::string::npos);
  EXPECT_NE(error_of("uniform(min=1, max=0)").find("min must not exceed max"), std::string::npos);
  EXPECT_NE(error_of("orthogonal(gain=1, gain=2)").find("given twice"), std::string::npos);
  EXPECT_NE(error_of("orthogonal(gain=x)").find("expects a number"), std::string::npos);
  EXPECT_NE(error_of("per_gate(1.0)").find("expects an initializer"), std::string::npos);
  EXPECT_NE(error_of("chrono(t_max=2)").find("greater than 2"), std::string::npos);
  EXPECT_NE(error_of("orthogonal(gain=1").find("missing ')'"), std::string::npos);
  EXPECT_NE(error_of("orthogonal(gain=1))").find("after the end"), std::string::npos);
  EXPECT_NE(error_of("uniform(min=1e999)").find("expected a number"), std::string::npos);
  EXPECT_NE(error_of("").find("expected a name"), std::string::npos);
  EXPECT_NE(error_of(std::string(100, '(')).find("expected a name"), std::string::npos);
  std::string deep = "per_gate(";
  for (int i = 0; i < 40; ++i) deep += "per_gate(";
  EXPECT_NE(error_of(deep + "zeros" + std::string(41, ')')).find("nesting deeper"), std::string::npos);
}

}  // namespace
}  // namespace rnnkit
