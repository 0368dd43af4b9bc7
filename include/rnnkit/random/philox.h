// Philox4x32-10, the counter-based generator of Salmon et al. (SC'11, "Parallel
// random numbers: as easy as 1, 2, 3").
//
// A pure function of a 128-bit counter and a 64-bit key: ten rounds of
//   (c0,c1,c2,c3) <- (hi(M1*c2) ^ c1 ^ k0, lo(M1*c2), hi(M0*c0) ^ c3 ^ k1, lo(M0*c0))
// with M0 = 0xD2511F53, M1 = 0xCD9E8D57, the key bumped by the Weyl constants
// (0x9E3779B9, 0xBB67AE85) between rounds. Checked against the Random123
// known-answer vectors.
#pragma once

#include <array>
#include <cstdint>

namespace rnnkit {

using PhiloxCounter = std::array<uint32_t, 4>;
using PhiloxKey = std::array<uint32_t, 2>;

PhiloxCounter philox4x32_10(PhiloxCounter counter, PhiloxKey key);

}  // namespace rnnkit
