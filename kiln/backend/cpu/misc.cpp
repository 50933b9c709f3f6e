// eval_cpu of the primitives that create, convert or pass on arrays: AsType, Copy, Full, Arange,
// and the buffer-sharing nodes of the transforms (Identity, StopGradient, CustomTransforms).
#include <cmath>

#include "kiln/backend/cpu/cast.h"
#include "kiln/backend/cpu/copy.h"
#include "kiln/backend/cpu/thread_pool.h"
#include "kiln/primitives.h"

namespace kiln {

// A dense input keeps its layout (a transposed array converts in one linear pass).
void AsType::eval_cpu(const std::vector<array>& inputs, array& out) { cpu::copy_alloc(inputs[0], out, true); }

void Copy::eval_cpu(const std::vector<array>& inputs, array& out) {
  const array& in = inputs[0];
  // A row-major input that nobody else holds already is the copy.
  if (in.is_donatable() && in.flags().row_contiguous && in.data_size() == in.size() && in.size() > 0) {
    out.copy_shared_buffer(in);
    return;
  }
  cpu::copy_alloc(in, out);
}

void Identity::eval_cpu(const std::vector<array>& inputs, array& out) { out.copy_shared_buffer(inputs[0]); }

void StopGradient::eval_cpu(const std::vector<array>& inputs, array& out) { out.copy_shared_buffer(inputs[0]); }

void CustomTransforms::eval_cpu(const std::vector<array>& inputs, std::vector<array>& outputs) {
  for (size_t i = 0; i < outputs.size(); ++i) outputs[i].copy_shared_buffer(inputs[num_inputs_ + i]);
}

void Full::eval_cpu(const std::vector<array>& inputs, array& out) { cpu::copy_alloc(inputs[0], out); }

void Arange::eval_cpu(const std::vector<array>&, array& out) {
  out.set_data(allocator::malloc(out.nbytes()));
  int64_t n = static_cast<int64_t>(out.size());
  if (n == 0) return;
  dispatch_all_types(out.dtype(), name(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, bool>) {
      throw_unsupported_dtype(name(), out.dtype());
    } else {
      T* o = out.data<T>();
      double start = start_, step = step_;
      // Whole start and step on an integer dtype: exact integer arithmetic (doubles would
      // round past 2^53).
      if (std::is_integral_v<T> && start == std::trunc(start) && step == std::trunc(step)) {
        int64_t s0 = static_cast<int64_t>(start), st = static_cast<int64_t>(step);
        cpu::parallel_for(n, cpu::kElementwiseGrain, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) o[i] = cpu::cast_to<T>(s0 + i * st);
        });
      } else {
        cpu::parallel_for(n, cpu::kElementwiseGrain, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) o[i] = cpu::cast_to<T>(start + static_cast<double>(i) * step);
        });
      }
    }
  });
}

}  // namespace kiln
