// A growable, zero-initialized byte buffer aligned to 64 bytes, typed on access.
#pragma once

#include <cstddef>
#include <memory>
#include <new>

#include "rnnkit/core/dtype.h"
#include "rnnkit/core/error.h"

namespace rnnkit {

class AlignedBuffer {
 public:
  static constexpr std::size_t kAlignment = 64;

  AlignedBuffer() = default;
  std::size_t size_bytes() const { return size_; }

  // Grows to at least `bytes`, keeping the contents; new bytes are zero.
  void grow(std::size_t bytes);

  // Typed access; throws Error if T is not the buffer's element type `dtype`.
  template <class T>
  T* as(DType dtype) const {
    if (DTypeOf<T>::value != dtype) {
      throw Error(std::string("variable store holds ") + dtype_name(dtype) + " values, accessed as " +
                  dtype_name(DTypeOf<T>::value));
    }
    return reinterpret_cast<T*>(data_.get());
  }

 private:
  struct Free {
    void operator()(std::byte* p) const { ::operator delete[](p, std::align_val_t(kAlignment)); }
  };
  std::unique_ptr<std::byte[], Free> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace rnnkit
