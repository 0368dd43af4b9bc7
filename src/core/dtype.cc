// Element type names and sizes.
#include "rnnkit/core/dtype.h"

namespace rnnkit {

const char* dtype_name(DType dtype) { return dtype == DType::f32 ? "F32" : "F64"; }

std::size_t dtype_size(DType dtype) { return dtype == DType::f32 ? 4 : 8; }

}  // namespace rnnkit
