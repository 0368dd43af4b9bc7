// The check the format tests share: a model run on a fixture's `input` (and `lengths`, if it
// holds them) gives the fixture's `output`, `h_n` and (LSTM) `c_n`, each within `tolerance`
// (NaN fails).
#pragma once

#include <gtest/gtest.h>

#include <vector>

#include "rnnkit/checkpoint/safetensors.h"
#include "rnnkit/layers/recurrent_layer.h"
#include "rnnkit/layers/recurrent_model.h"
#include "test_support.h"

namespace rnnkit::test {

template <class T>
void expect_forward_matches(RecurrentModel& model, const SafetensorsFile& io, double tolerance) {
  RecurrentLayer<T> layer(model.store, model.scope, model.spec, model.options);
  std::vector<int64_t> lengths;
  if (const SafetensorsEntry* e = io.find("lengths")) {
    const Tensor<double> values = io.to_double(*e);
    for (int64_t i = 0; i < values.numel(); ++i) lengths.push_back(static_cast<int64_t>(values[i]));
  }
  Tensor<T> x(io.at("input").shape);
  const Tensor<double> input = io.to_double(io.at("input"));
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = static_cast<T>(input[i]);
  const RecurrentResult<T> y = layer.forward(x.view(), lengths);
  auto compare = [&](const char* name, const Tensor<T>& got) {
    const Tensor<double> want = io.to_double(io.at(name));
    ASSERT_EQ(got.shape(), want.shape()) << name;
    EXPECT_LE(max_abs_difference(got.data(), want.data(), got.numel()), tolerance) << name;
  };
  compare("output", y.output);
  compare("h_n", y.h_n);
  if (io.find("c_n") != nullptr) compare("c_n", y.c_n);
}

}  // namespace rnnkit::test
