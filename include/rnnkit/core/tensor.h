// Dense tensors: row-major, contiguous, float32 or float64.
//
// TensorView<T> is a non-owning window (pointer + shape); Tensor<T> owns its
// storage. Slicing the leading dimension (`rows`) stays contiguous, which is
// what gate blocks of fused [G*H, in] matrices need. Views never outlive the
// storage they look at; a view is invalidated when its owner reallocates.
#pragma once

#include <cstdint>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "rnnkit/core/error.h"
#include "rnnkit/core/shape.h"

namespace rnnkit {

template <class T>
class TensorView {
 public:
  using value_type = std::remove_const_t<T>;

  TensorView() = default;
  TensorView(T* data, Shape shape) : data_(data), shape_(std::move(shape)), numel_(shape_numel(shape_)) {}

  // A view of const elements from a view of mutable ones.
  template <class U, class = std::enable_if_t<std::is_same_v<const U, T> && !std::is_same_v<U, T>>>
  TensorView(const TensorView<U>& other) : data_(other.data()), shape_(other.shape()), numel_(other.numel()) {}

  T* data() const { return data_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int axis) const { return shape_.at(static_cast<std::size_t>(axis)); }
  int64_t numel() const { return numel_; }
  std::span<T> span() const { return {data_, static_cast<std::size_t>(numel_)}; }

  T& operator[](int64_t flat_index) const { return data_[flat_index]; }
  // Element (r, c) of a rank-2 view.
  T& operator()(int64_t r, int64_t c) const { return data_[r * shape_[1] + c]; }

  // Rows [begin, begin+count) of the leading dimension, still contiguous.
  TensorView rows(int64_t begin, int64_t count) const {
    if (shape_.empty() || begin < 0 || count < 0 || begin + count > shape_[0]) {
      throw Error("TensorView::rows: rows [" + std::to_string(begin) + ", " + std::to_string(begin + count) +
                  ") out of range for shape " + shape_to_string(shape_));
    }
    Shape s = shape_;
    s[0] = count;
    const int64_t row_size = s.size() > 1 ? numel_ / shape_[0] : 1;
    return TensorView(data_ + begin * row_size, std::move(s));
  }

  // The same elements under another shape with the same number of elements.
  TensorView reshaped(Shape shape) const {
    if (shape_numel(shape) != numel_) {
      throw Error("TensorView::reshaped: cannot view shape " + shape_to_string(shape_) + " as " +
                  shape_to_string(shape));
    }
    return TensorView(data_, std::move(shape));
  }

 private:
  T* data_ = nullptr;
  Shape shape_;
  int64_t numel_ = 0;
};

template <class T>
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape shape, T fill = T(0))
      : shape_(std::move(shape)), data_(static_cast<std::size_t>(shape_numel(shape_)), fill) {}
  Tensor(Shape shape, std::vector<T> data) : shape_(std::move(shape)), data_(std::move(data)) {
    if (static_cast<int64_t>(data_.size()) != shape_numel(shape_)) {
      throw Error("Tensor: " + std::to_string(data_.size()) + " values given for shape " + shape_to_string(shape_) +
                  " (" + std::to_string(shape_numel(shape_)) + " elements)");
    }
  }

  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int axis) const { return shape_.at(static_cast<std::size_t>(axis)); }
  int64_t numel() const { return static_cast<int64_t>(data_.size()); }
  T* data() { return data_.data(); }
  const T* data() const { return data_.data(); }
  std::vector<T>& storage() { return data_; }
  const std::vector<T>& storage() const { return data_; }

  T& operator[](int64_t i) { return data_[static_cast<std::size_t>(i)]; }
  const T& operator[](int64_t i) const { return data_[static_cast<std::size_t>(i)]; }
  T& operator()(int64_t r, int64_t c) { return data_[static_cast<std::size_t>(r * shape_[1] + c)]; }
  const T& operator()(int64_t r, int64_t c) const { return data_[static_cast<std::size_t>(r * shape_[1] + c)]; }

  TensorView<T> view() { return TensorView<T>(data_.data(), shape_); }
  TensorView<const T> view() const { return TensorView<const T>(data_.data(), shape_); }

 private:
  Shape shape_;
  std::vector<T> data_;
};

// An owning copy of a view's elements (e.g. a tape value kept past the tape's clear()).
template <class T>
Tensor<T> copy_tensor(TensorView<const T> v) {
  return Tensor<T>(v.shape(), std::vector<T>(v.data(), v.data() + v.numel()));
}

// The transpose of a matrix: [R, C] -> [C, R]. Throws Error for another rank.
template <class T>
Tensor<T> transposed(TensorView<const T> m) {
  if (m.rank() != 2) throw Error("transposed: a " + shape_to_string(m.shape()) + " tensor is not a matrix");
  Tensor<T> out({m.dim(1), m.dim(0)});
  for (int64_t r = 0; r < m.dim(0); ++r) {
    for (int64_t c = 0; c < m.dim(1); ++c) out[c * m.dim(0) + r] = m[r * m.dim(1) + c];
  }
  return out;
}

}  // namespace rnnkit
