// Element conversion between any two kiln element types.
#pragma once

#include <type_traits>

#include "kiln/dtype.h"

namespace kiln::cpu {

/** Converts one element: complex to real keeps the real part, anything to bool is `!= 0`,
 *  half types go through float. */
template <typename D, typename S>
inline D cast_to(S v) {
  if constexpr (std::is_same_v<D, S>) {
    return v;
  } else if constexpr (std::is_same_v<S, complex64_t>) {
    if constexpr (std::is_same_v<D, bool>) {
      return v != complex64_t(0);
    } else {
      return cast_to<D>(v.real());
    }
  } else if constexpr (std::is_same_v<D, complex64_t>) {
    return complex64_t(cast_to<float>(v), 0.0f);
  } else if constexpr (std::is_same_v<D, bool>) {
    if constexpr (std::is_same_v<S, float16_t> || std::is_same_v<S, bfloat16_t>) {
      return static_cast<float>(v) != 0.0f;
    } else {
      return v != S(0);
    }
  } else if constexpr (std::is_same_v<S, bfloat16_t>) {
    return static_cast<D>(static_cast<float>(v));
  } else if constexpr (std::is_same_v<D, bfloat16_t>) {
    if constexpr (std::is_same_v<S, double>) {
      return bfloat16_t(static_cast<float>(v));
    } else {
      return bfloat16_t(static_cast<float>(v));
    }
  } else if constexpr (std::is_same_v<S, float16_t> && std::is_integral_v<D>) {
    return static_cast<D>(static_cast<float>(v));
  } else {
    return static_cast<D>(v);
  }
}

}  // namespace kiln::cpu
