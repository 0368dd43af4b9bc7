// Running a hand-written cell over time on the autograd tape.
//
// A cell maps (x_t [B, I], state) to the new state, a list of values whose first element
// is h_t [B, H], the step's output (an LSTM's state is {h, c}). Written with tape ops and
// tape.param(...) of variables it gets through the store (create them once, then share:
// a scope with Reuse::automatic or Reuse::yes around the cell's get_variable calls), so
// every step uses the same variables and their gradients add up.
//
// unroll runs it for t = 0..T-1 and returns output [T, B, H] and the final state, with the
// recurrent layer's length semantics: past a sequence's length its state stays as it was
// (new = m * cell + (1 - m) * old, m the [B, F] 0/1 mask of the step), its outputs are zero
// and its final state is the one at its last valid step. Backward is the tape's.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "rnnkit/autograd/ops.h"

namespace rnnkit {

template <class T>
using CellFunction = std::function<std::vector<Value<T>>(Value<T> x_t, const std::vector<Value<T>>& state)>;

template <class T>
struct UnrollResult {
  Value<T> output;  // [T, B, H]
  std::vector<Value<T>> final_state;
};

// input [T, B, I]; lengths empty (all T) or B values in [1, T]; initial_state as the cell
// expects it. Throws Error naming what does not fit: a cell that changes the number or
// the shapes of the state values, lengths out of range.
template <class T>
UnrollResult<T> unroll(const CellFunction<T>& cell, Value<T> input, std::span<const int64_t> lengths,
                       std::vector<Value<T>> initial_state);

// Any cell made bidirectional: `forward` runs over the sequences, `backward` over each
// sequence reversed within its length (reverse_sequences), and its outputs are put back in
// time order, so output [T, B, H_fw + H_bw] holds both directions' h_t for the same t, as
// the fused layer's bidirectional output does. Use two cells on different scopes for two
// sets of weights (or one cell twice to share them).
template <class T>
struct BidirectionalResult {
  Value<T> output;                      // [T, B, H_fw + H_bw], zero past each length
  std::vector<Value<T>> forward_state;  // final states
  std::vector<Value<T>> backward_state;
};

template <class T>
BidirectionalResult<T> unroll_bidirectional(const CellFunction<T>& forward, const CellFunction<T>& backward,
                                            Value<T> input, std::span<const int64_t> lengths,
                                            std::vector<Value<T>> forward_initial,
                                            std::vector<Value<T>> backward_initial);

}  // namespace rnnkit
