// vjp / jvp / vmap of Hadamard, GatherMM, View, Depends and the fp8 conversions.
//
// Hadamard is linear and symmetric (scale * H with H = H^T), so it is its own adjoint.
// GatherMM is bilinear in (a, b); its cotangents gather the other operand at the same indices
// and scatter-add the products back to the matrices that were read. View reinterprets bits and
// has no derivative (as in MLX). Depends passes its first inputs through. The fp8 conversions
// produce or read integer codes, so their derivatives are zero.
#include <algorithm>
#include <optional>
#include <stdexcept>

#include "kiln/primitives.h"
#include "kiln/rules/rules_utils.h"

namespace kiln {

using namespace rules;

// ---- Hadamard ----
namespace {
array hadamard_node(const array& x, double scale, Stream st) {
  return array(x.shape(), x.dtype(), std::make_shared<Hadamard>(st, scale), {x});
}
}  // namespace

Arrays Hadamard::jvp(const Arrays&, const Arrays& tangents, const std::vector<int>&) {
  return {hadamard_node(tangents[0], scale_, stream())};
}
Arrays Hadamard::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>&, const Arrays&) {
  return {hadamard_node(astype(cotangents[0], primals[0].dtype()), scale_, stream())};
}
VmapResult Hadamard::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  // The transform runs along the last axis: a batch axis anywhere before it can stay.
  const array& x = inputs[0];
  if (axes[0] < x.ndim() - 1) return {{hadamard_node(x, scale_, stream())}, {axes[0]}};
  return {{hadamard_node(batch_to_front(x, axes[0]), scale_, stream())}, {0}};
}

// ---- GatherMM ----
namespace {

array gather_mm_node(const array& a, const array& b, const array& lhs, const array& rhs, Stream st) {
  Shape sh = lhs.shape();
  sh.push_back(a.shape(-2));
  sh.push_back(b.shape(-1));
  return array(sh, a.dtype(), std::make_shared<GatherMM>(st), {a, b, lhs, rhs});
}

}  // namespace

Arrays GatherMM::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>& argnums) {
  const array &a = primals[0], &b = primals[1], &lhs = primals[2], &rhs = primals[3];
  std::optional<array> out;
  for (size_t k = 0; k < argnums.size(); ++k) {
    std::optional<array> term;
    if (argnums[k] == 0) term = gather_mm_node(astype(tangents[k], a.dtype()), b, lhs, rhs, stream());
    if (argnums[k] == 1) term = gather_mm_node(a, astype(tangents[k], b.dtype()), lhs, rhs, stream());
    if (term) out = out ? add(*out, *term) : *term;
  }
  if (!out) out = zeros(output_shapes(primals)[0], a.dtype());
  return {*out};
}

Arrays GatherMM::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>& argnums,
                     const Arrays&) {
  const array &a = primals[0], &b = primals[1], &lhs = primals[2], &rhs = primals[3];
  const array& c = cotangents[0];
  Arrays out;
  for (int arg : argnums) {
    if (arg == 0) {
      out.push_back(scatter_back(a, lhs, matmul(c, swapaxes(gathered(b, rhs), -1, -2))));
    } else if (arg == 1) {
      out.push_back(scatter_back(b, rhs, matmul(swapaxes(gathered(a, lhs), -1, -2), c)));
    } else {
      out.push_back(zeros_like(primals[arg]));
    }
  }
  return out;
}

// A batched operand's batch axis is folded into its matrix list (its indices are offset by
// batch element * matrices per element), so one GatherMM serves the whole batch.
VmapResult GatherMM::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  int B = batch_size(inputs, axes);
  Arrays mats, idxs;
  for (int k = 0; k < 2; ++k) {
    const array& x = inputs[k];
    array idx = with_batch(inputs[k + 2], axes[k + 2], B);  // (B, I...)
    if (axes[k] < 0) {
      mats.push_back(x);
      idxs.push_back(idx);
      continue;
    }
    array xb = batch_to_front(x, axes[k]);
    int64_t per = shape_size(Shape(xb.shape().begin() + 1, xb.shape().end() - 2));  // matrices per element
    array pos = read_positions(idx, per);
    Shape off_shape(idx.ndim(), 1);
    off_shape[0] = B;
    array offset = reshape(multiply(arange(0.0, static_cast<double>(B), int64), array(per, int64)), off_shape);
    mats.push_back(reshape(xb, {-1, xb.shape(-2), xb.shape(-1)}));
    idxs.push_back(add(pos, offset));
  }
  Shape ishape = broadcast_shapes(idxs[0].shape(), idxs[1].shape());
  return {{gather_mm_node(mats[0], mats[1], broadcast_to(idxs[0], ishape), broadcast_to(idxs[1], ishape), stream())},
          {0}};
}

// ---- View ----
Arrays View::jvp(const Arrays&, const Arrays&, const std::vector<int>&) {
  throw std::invalid_argument("[view] Reinterpreting an array's bits as another dtype has no derivative (jvp).");
}
Arrays View::vjp(const Arrays&, const Arrays&, const std::vector<int>&, const Arrays&) {
  throw std::invalid_argument("[view] Reinterpreting an array's bits as another dtype has no derivative (vjp).");
}
VmapResult View::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  const array& x = inputs[0];
  if (x.ndim() == 1 && x.itemsize() != size_of(dtype_)) {  // each batch element is a scalar
    throw std::invalid_argument("[view] Changing the type of a scalar is only allowed for types with the same size.");
  }
  // Resizing acts on the last axis: keep the batch axis off it.
  int ax = axes[0] == x.ndim() - 1 && x.ndim() > 1 ? -1 : axes[0];
  array xb = ax < 0 ? batch_to_front(x, axes[0]) : x;
  return {{view(xb, dtype_)}, {ax < 0 ? 0 : ax}};
}

// ---- Depends ----
Arrays Depends::jvp(const Arrays& primals, const Arrays& tangents, const std::vector<int>& argnums) {
  Arrays out;
  for (int i = 0; i < n_outputs_; ++i) {
    auto it = std::find(argnums.begin(), argnums.end(), i);
    out.push_back(it != argnums.end() ? tangents[it - argnums.begin()] : zeros_like(primals[i]));
  }
  return out;
}
Arrays Depends::vjp(const Arrays& primals, const Arrays& cotangents, const std::vector<int>& argnums,
                    const Arrays&) {
  Arrays out;
  for (int a : argnums) out.push_back(a < n_outputs_ ? cotangents[a] : zeros_like(primals[a]));
  return out;
}
VmapResult Depends::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  Arrays firsts(inputs.begin(), inputs.begin() + n_outputs_);
  Arrays deps(inputs.begin() + n_outputs_, inputs.end());
  return {depends(firsts, deps), std::vector<int>(axes.begin(), axes.begin() + n_outputs_)};
}

// ---- fp8 conversions ----
Arrays ToFP8::jvp(const Arrays& primals, const Arrays&, const std::vector<int>&) {
  return {zeros(primals[0].shape(), uint8)};
}
Arrays ToFP8::vjp(const Arrays& primals, const Arrays&, const std::vector<int>&, const Arrays&) {
  return {zeros_like(primals[0])};
}
VmapResult ToFP8::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  return {{to_fp8(inputs[0])}, {axes[0]}};
}

Arrays FromFP8::jvp(const Arrays& primals, const Arrays&, const std::vector<int>&) {
  return {zeros(primals[0].shape(), dtype_)};
}
Arrays FromFP8::vjp(const Arrays& primals, const Arrays&, const std::vector<int>&, const Arrays&) {
  return {zeros_like(primals[0])};
}
VmapResult FromFP8::vmap(const Arrays& inputs, const std::vector<int>& axes) {
  return {{from_fp8(inputs[0], dtype_)}, {axes[0]}};
}

}  // namespace kiln
