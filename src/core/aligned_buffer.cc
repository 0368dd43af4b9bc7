// AlignedBuffer growth: doubling capacity, contents copied, the rest zeroed.
#include "rnnkit/core/aligned_buffer.h"

#include <algorithm>
#include <cstring>

namespace rnnkit {

void AlignedBuffer::grow(std::size_t bytes) {
  if (bytes <= size_) return;
  if (bytes > capacity_) {
    const std::size_t capacity = std::max(bytes, capacity_ * 2);
    std::unique_ptr<std::byte[], Free> fresh(
        static_cast<std::byte*>(::operator new[](capacity, std::align_val_t(kAlignment))));
    std::memset(fresh.get(), 0, capacity);
    if (size_ > 0) std::memcpy(fresh.get(), data_.get(), size_);
    data_ = std::move(fresh);
    capacity_ = capacity;
  }
  size_ = bytes;
}

}  // namespace rnnkit
