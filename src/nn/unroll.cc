// unroll; see nn/unroll.h.
#include "rnnkit/nn/unroll.h"

#include <algorithm>

#include "rnnkit/core/error.h"

namespace rnnkit {

template <class T>
UnrollResult<T> unroll(const CellFunction<T>& cell, Value<T> input, std::span<const int64_t> lengths,
                       std::vector<Value<T>> initial_state) {
  if (!input.valid() || input.shape().size() != 3) {
    throw Error("unroll: input has shape " + (input.valid() ? shape_to_string(input.shape()) : std::string("(none)")) +
                ", expected [T, B, I]");
  }
  if (initial_state.empty()) throw Error("unroll: the initial state is empty; expected at least h [B, H]");
  Tape<T>& tape = *input.tape;
  const int64_t steps = input.shape()[0], batch = input.shape()[1];
  if (!lengths.empty() && static_cast<int64_t>(lengths.size()) != batch) {
    throw Error("unroll: lengths has " + std::to_string(lengths.size()) + " values, expected one per sequence (" +
                std::to_string(batch) + ")");
  }
  for (std::size_t b = 0; b < lengths.size(); ++b) {
    if (lengths[b] < 1 || lengths[b] > steps) {
      throw Error("unroll: lengths[" + std::to_string(b) + "] is " + std::to_string(lengths[b]) +
                  ", expected a value in [1, " + std::to_string(steps) + "] (T)");
    }
  }
  for (const Value<T>& s : initial_state) {
    if (!s.valid() || s.shape().size() != 2 || s.shape()[0] != batch) {
      throw Error("unroll: each state value must be [B, F] with B = " + std::to_string(batch) + ", got " +
                  (s.valid() ? shape_to_string(s.shape()) : std::string("(none)")));
    }
  }
  const int64_t shortest = lengths.empty() ? steps : *std::min_element(lengths.begin(), lengths.end());
  std::vector<Value<T>> state = std::move(initial_state), outputs;
  // Per state value, allocated once and refilled each step: [B, F] of 1/0 and of 1 - that.
  std::vector<Tensor<T>> masks, keeps;
  for (const Value<T>& s : state) {
    masks.emplace_back(s.shape());
    keeps.emplace_back(s.shape());
  }
  for (int64_t t = 0; t < steps; ++t) {
    std::vector<Value<T>> next = cell(take(input, t), state);
    if (next.size() != state.size()) {
      throw Error("unroll: at step " + std::to_string(t) + " the cell returned " + std::to_string(next.size()) +
                  " state values, expected " + std::to_string(state.size()));
    }
    for (std::size_t k = 0; k < next.size(); ++k) {
      if (!next[k].valid() || next[k].shape() != state[k].shape()) {
        throw Error("unroll: at step " + std::to_string(t) + " the cell's state value " + std::to_string(k) + " is " +
                    (next[k].valid() ? shape_to_string(next[k].shape()) : std::string("(none)")) + ", expected " +
                    shape_to_string(state[k].shape()));
      }
    }
    Value<T> h = next[0];
    if (t >= shortest) {  // some sequences have ended: they keep their state, output zero
      for (std::size_t k = 0; k < next.size(); ++k) {
        const int64_t width = next[k].shape()[1];
        Tensor<T>& mask = masks[k];
        Tensor<T>& keep = keeps[k];
        for (int64_t b = 0; b < batch; ++b) {
          const T on = t < lengths[static_cast<std::size_t>(b)] ? T(1) : T(0);
          std::fill(mask.data() + b * width, mask.data() + (b + 1) * width, on);
          std::fill(keep.data() + b * width, keep.data() + (b + 1) * width, T(1) - on);
        }
        const Value<T> m = tape.input(mask.view());
        if (k == 0) h = mul(m, next[0]);
        next[k] = add(mul(m, next[k]), mul(tape.input(keep.view()), state[k]));
      }
    }
    outputs.push_back(h);
    state = std::move(next);
  }
  return {stack(outputs), state};
}

template <class T>
BidirectionalResult<T> unroll_bidirectional(const CellFunction<T>& forward, const CellFunction<T>& backward,
                                            Value<T> input, std::span<const int64_t> lengths,
                                            std::vector<Value<T>> forward_initial,
                                            std::vector<Value<T>> backward_initial) {
  const UnrollResult<T> fw = unroll(forward, input, lengths, std::move(forward_initial));
  const std::vector<int64_t> lens(lengths.begin(), lengths.end());
  const UnrollResult<T> bw = unroll(backward, reverse_sequences(input, lens), lengths, std::move(backward_initial));
  return {concat<T>({fw.output, reverse_sequences(bw.output, lens)}), fw.final_state, bw.final_state};
}

template UnrollResult<float> unroll<float>(const CellFunction<float>&, Value<float>, std::span<const int64_t>,
                                           std::vector<Value<float>>);
template UnrollResult<double> unroll<double>(const CellFunction<double>&, Value<double>, std::span<const int64_t>,
                                             std::vector<Value<double>>);

}  // namespace rnnkit

namespace rnnkit {
template BidirectionalResult<float> unroll_bidirectional<float>(const CellFunction<float>&, const CellFunction<float>&,
                                                                Value<float>, std::span<const int64_t>,
                                                                std::vector<Value<float>>, std::vector<Value<float>>);
template BidirectionalResult<double> unroll_bidirectional<double>(const CellFunction<double>&,
                                                                  const CellFunction<double>&, Value<double>,
                                                                  std::span<const int64_t>, std::vector<Value<double>>,
                                                                  std::vector<Value<double>>);
}  // namespace rnnkit
