// Differentiable ops on tape values (tape.h). Shapes use the project's vocabulary; "rows"
// are all dimensions but the last (features). Every op checks its operands and throws
// Error naming the op, the expected and the actual shapes. The backward of each op is in
// the same source file as its forward, next to it (src/autograd/ops_*.cc).
#pragma once

#include <cstdint>
#include <vector>

#include "rnnkit/autograd/tape.h"
#include "rnnkit/random/stream.h"

namespace rnnkit {

// --- linear algebra and shape (ops_linear.cc) ---
// y = op(a) op(b), op transposing when asked: a [M,K] (or [K,M]), b [K,N] (or [N,K]) -> [M,N].
//   da += dy op(b)^T (transposed back as needed), db += op(a)^T dy.
template <class T>
Value<T> matmul(Value<T> a, Value<T> b, bool transpose_a = false, bool transpose_b = false);
// y = a + b: same shapes, or b [F] (or [1,F]) added to every row of a [..., F].
//   da += dy, db += dy (summed over rows when broadcast).
template <class T>
Value<T> add(Value<T> a, Value<T> b);
// y = a - b, same shapes. da += dy, db -= dy.
template <class T>
Value<T> sub(Value<T> a, Value<T> b);
// y = a * b elementwise, same shapes. da += dy * b, db += dy * a.
template <class T>
Value<T> mul(Value<T> a, Value<T> b);
// y = s * a for a constant s. da += s dy.
template <class T>
Value<T> scale(Value<T> a, double s);
// The same values with another shape of the same size.
template <class T>
Value<T> reshape(Value<T> a, Shape shape);
// Columns [begin, end) of the last dimension: a [..., F] -> [..., end - begin].
template <class T>
Value<T> slice(Value<T> a, int64_t begin, int64_t end);
// Concatenation along the last dimension; all other dimensions equal.
template <class T>
Value<T> concat(const std::vector<Value<T>>& parts);
// Consecutive slices of the last dimension with the given widths (which must add up to it).
template <class T>
std::vector<Value<T>> split(Value<T> a, const std::vector<int64_t>& widths);
// Element `index` of the first dimension: a [N, ...] -> [...]. da[index] += dy.
template <class T>
Value<T> take(Value<T> a, int64_t index);
// Values of one shape stacked along a new first dimension: n x [...] -> [n, ...].
template <class T>
Value<T> stack(const std::vector<Value<T>>& parts);
// Each sequence reversed within its length: a [T, B, F] -> y[t, b] = a[len_b - 1 - t, b]
// for t < len_b, zero after (lengths: B values in [1, T]; empty: all T). Its own inverse on
// the valid steps; da is dy put back through the same permutation.
template <class T>
Value<T> reverse_sequences(Value<T> a, const std::vector<int64_t>& lengths);
// Sum and mean of all elements: a single-element value of shape [].
template <class T>
Value<T> sum(Value<T> a);
template <class T>
Value<T> mean(Value<T> a);

// --- activations (ops_activation.cc) ---
// y = 1 / (1 + exp(-a)); da += dy * y * (1 - y).
template <class T>
Value<T> sigmoid(Value<T> a);
// y = tanh(a); da += dy * (1 - y^2).
template <class T>
Value<T> tanh(Value<T> a);
// y = max(a, 0); da += dy * [a > 0].
template <class T>
Value<T> relu(Value<T> a);
// Inverted dropout: y = a * m with m = 0 (probability p) or 1 / (1 - p), drawn from
// `random`; da += dy * m. p in [0, 1). With training false, y = a.
template <class T>
Value<T> dropout(Value<T> a, double p, RandomStream& random, bool training = true);

// --- look-ups and losses (ops_loss.cc) ---
// Rows of `table` [V, E] for each id: [N, E] for N ids; ids in [0, V).
//   dtable[id] += dy[row] for each row.
template <class T>
Value<T> embedding(Value<T> table, const std::vector<int64_t>& ids);
// Mean over counted rows of -log softmax(logits[n])[target[n]]: logits [N, C], targets N
// values in [0, C) or ignore_index (that row is not counted; PyTorch's default -100).
//   dlogits[n] += (softmax(logits[n]) - onehot(target[n])) / counted.
template <class T>
Value<T> softmax_cross_entropy(Value<T> logits, const std::vector<int64_t>& targets, int64_t ignore_index = -100);
// mean((a - b)^2) over all elements, same shapes. da += 2 (a - b) / n, db -= the same.
template <class T>
Value<T> mse(Value<T> a, Value<T> b);

// Operators for readable cells.
template <class T>
Value<T> operator+(Value<T> a, Value<T> b) {
  return add(a, b);
}
template <class T>
Value<T> operator-(Value<T> a, Value<T> b) {
  return sub(a, b);
}
template <class T>
Value<T> operator*(Value<T> a, Value<T> b) {
  return mul(a, b);
}

}  // namespace rnnkit
