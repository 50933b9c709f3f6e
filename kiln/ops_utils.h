// Helpers shared by the files that implement ops (ops.cpp, ops_<family>.cpp, random, linalg,
// fft): error-message formatting and axis normalization. Internal; not installed API.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace kiln::detail {

/** Concatenates the streamed forms of `args` (shapes and dtypes print themselves). */
template <typename... Args>
std::string str(Args&&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

/** `axis` made non-negative; std::out_of_range naming `op` if it is not in [-ndim, ndim). */
inline int normalize_axis(int axis, int ndim, const char* op) {
  int a = axis < 0 ? axis + ndim : axis;
  if (a < 0 || a >= ndim) {
    throw std::out_of_range(str("[", op, "] Axis ", axis, " is out of bounds for array with ", ndim, " dimensions."));
  }
  return a;
}

}  // namespace kiln::detail
