// Helpers shared by the C++ tests: reading an array's elements back to the host.
#pragma once

#include <type_traits>
#include <vector>

#include "kiln/kiln.h"

namespace kiln::test {

/** Host vectors of element type T (std::vector<bool> has no bool elements to point at). */
template <typename T>
using Vec = std::vector<std::conditional_t<std::is_same_v<T, bool>, char, T>>;

/** The logical elements of `x` (evaluated first), row-major, read through its strides. */
template <typename T>
Vec<T> values(array x) {
  eval(x);
  Vec<T> out(x.size());
  const T* p = x.data<T>();
  for (int64_t i = 0; i < static_cast<int64_t>(x.size()); ++i) {
    int64_t loc = 0, rem = i;
    for (int d = x.ndim() - 1; d >= 0; --d) {
      loc += (rem % x.shape(d)) * x.strides()[d];
      rem /= x.shape(d);
    }
    out[i] = p[loc];
  }
  return out;
}

}  // namespace kiln::test
