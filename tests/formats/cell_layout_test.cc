// The frameworks' cell layouts: every row converts to rnnkit and back exactly, and the gate
// blocks land where each framework's documentation puts them.
#include "rnnkit/formats/cell_layout.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace rnnkit {
namespace {

constexpr int64_t kHidden = 3, kInputs = 2;

// A tensor whose every element says where it is: value = block * 100 + offset.
Tensor<double> labelled(const Shape& shape, double base) {
  Tensor<double> t(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = base + static_cast<double>(i);
  return t;
}

FrameworkCellWeights framework_weights(const CellLayout& l) {
  const int64_t gh = kHidden * static_cast<int64_t>(l.gates.size());
  FrameworkCellWeights w;
  w.kernel = labelled(l.transposed ? Shape{kInputs, gh} : Shape{gh, kInputs}, 1000);
  w.recurrent = labelled(l.transposed ? Shape{kHidden, gh} : Shape{gh, kHidden}, 2000);
  switch (l.bias) {
    case BiasStyle::separate:
      w.bias = labelled({gh}, 3000);
      w.recurrent_bias = labelled({gh}, 4000);
      break;
    case BiasStyle::single: w.bias = labelled({gh}, 3000); break;
    case BiasStyle::stacked_rows: w.bias = labelled({2, gh}, 3000); break;
    case BiasStyle::concatenated: w.bias = labelled({2 * gh}, 3000); break;
  }
  return w;
}

TEST(CellLayout, EveryRowRoundTripsExactly) {
  for (const CellLayout& l : cell_layouts()) {
    SCOPED_TRACE(std::string(framework_name(l.framework)) + " " + cell_name(l.cell) + " " + std::string(l.gates));
    const FrameworkCellWeights w = framework_weights(l);
    const CellWeights ours = to_rnnkit(l, w, kHidden, "test");
    EXPECT_EQ(ours.weight_ih.shape(), (Shape{kHidden * static_cast<int64_t>(l.gates.size()), kInputs}));
    const FrameworkCellWeights back = from_rnnkit(l, ours, kHidden);
    EXPECT_EQ(back.kernel.storage(), w.kernel.storage());
    EXPECT_EQ(back.recurrent.storage(), w.recurrent.storage());
    EXPECT_EQ(back.bias.storage(), w.bias.storage());
    EXPECT_EQ(back.bias.shape(), w.bias.shape());
  }
}

// Where each framework's documentation puts a gate: Keras' LSTM forget gate is its kernel's
// second column block, ONNX's is W's third row block (i, o, f, c), TF1's third column block
// (i, j, f, o); rnnkit's is the second row block (i, f, g, o). Keras' GRU update gate z is
// the first column block, rnnkit's the second row block (r, z, n).
TEST(CellLayout, GatesLandWhereEachFrameworkDocumentsThem) {
  struct Check {
    Framework framework;
    CellKind cell;
    int64_t framework_block;
    int64_t rnnkit_block;
  };
  for (const Check& c : {Check{Framework::keras, CellKind::lstm, 1, 1}, Check{Framework::onnx, CellKind::lstm, 2, 1},
                         Check{Framework::onnx, CellKind::lstm, 1, 3}, Check{Framework::tf1, CellKind::lstm, 1, 2},
                         Check{Framework::tf1, CellKind::lstm, 2, 1}, Check{Framework::keras, CellKind::gru, 0, 1},
                         Check{Framework::onnx, CellKind::gru, 1, 0}, Check{Framework::tf1, CellKind::gru, 1, 1}}) {
    const CellLayout& l =
        cell_layout(c.framework, c.cell, c.framework == Framework::tf1 ? GruReset::before : GruReset::after);
    const FrameworkCellWeights w = framework_weights(l);
    const CellWeights ours = to_rnnkit(l, w, kHidden, "test");
    for (int64_t j = 0; j < kHidden; ++j) {
      for (int64_t i = 0; i < kInputs; ++i) {
        const int64_t framework_row = c.framework_block * kHidden + j;
        const double expected =
            l.transposed ? w.kernel[i * w.kernel.dim(1) + framework_row] : w.kernel[framework_row * kInputs + i];
        EXPECT_EQ(ours.weight_ih[(c.rnnkit_block * kHidden + j) * kInputs + i], expected)
            << framework_name(c.framework) << " " << cell_name(c.cell);
      }
    }
  }
}

TEST(CellLayout, SingleBiasesImportAsTheInputBiasAndExportAsTheSum) {
  const CellLayout& keras = cell_layout(Framework::keras, CellKind::lstm);
  CellWeights w;
  w.weight_ih = labelled({4 * kHidden, kInputs}, 0);
  w.weight_hh = labelled({4 * kHidden, kHidden}, 0);
  w.bias_ih = labelled({4 * kHidden}, 10);
  w.bias_hh = labelled({4 * kHidden}, 0.5);
  const FrameworkCellWeights out = from_rnnkit(keras, w, kHidden);
  for (int64_t i = 0; i < 4 * kHidden; ++i) EXPECT_EQ(out.bias[i], w.bias_ih[i] + w.bias_hh[i]);
  const CellWeights back = to_rnnkit(keras, out, kHidden, "test");
  for (int64_t i = 0; i < 4 * kHidden; ++i) EXPECT_EQ(back.bias_hh[i], 0.0);
}

TEST(CellLayout, WhatAFrameworkCannotStoreIsAnError) {
  EXPECT_NE(test::error_of([] {
              cell_layout(Framework::pytorch, CellKind::gru, GruReset::before);
            }).find("pytorch has no gru layout with the reset before the recurrent product"),
            std::string::npos);
  const CellLayout& keras = cell_layout(Framework::keras, CellKind::gru);
  FrameworkCellWeights w = framework_weights(keras);
  w.bias = labelled({9}, 0);  // reset_after needs [2, 9]
  EXPECT_NE(test::error_of([&] {
              to_rnnkit(keras, w, kHidden, "layer 'gru'");
            }).find("layer 'gru': bias has shape [9], expected [2,9]"),
            std::string::npos);
}

}  // namespace
}  // namespace rnnkit
