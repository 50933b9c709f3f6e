// Bindings of the structured matrix products: hadamard_transform, gather_mm, segmented_mm,
// block_masked_mm.
#include "utils.h"

using namespace kiln;
using namespace kiln::py;

void init_contractions(nb::module_& m);

void init_contractions(nb::module_& m) {
  m.def(
      "hadamard_transform",
      [](const array& a, std::optional<float> scale, StreamOrDevice s) {
        return kiln::hadamard_transform(a, scale, s);
      },
      "a"_a, "scale"_a = nb::none(), "stream"_a = nb::none(),
      "Perform the Walsh-Hadamard transform along the final axis.\n\n"
      "Equivalent to ``(hadamard(n) @ x) * scale``; supports sizes ``n = m*2^k`` for ``m`` in "
      "``(1, 12, 20, 28)``.\n\nArgs:\n    a (array): Input array.\n    scale (float, optional): Scale of the "
      "output. Defaults to ``1/sqrt(a.shape[-1])`` so that the transform is orthonormal.\n\n"
      "Returns:\n    array: The transformed array.");
  m.def(
      "gather_mm",
      [](const array& a, const array& b, std::optional<array> lhs, std::optional<array> rhs, bool sorted,
         StreamOrDevice s) { return kiln::gather_mm(a, b, lhs, rhs, sorted, s); },
      "a"_a, "b"_a, "lhs_indices"_a = nb::none(), "rhs_indices"_a = nb::none(), nb::kw_only(),
      "sorted_indices"_a = false, "stream"_a = nb::none(),
      "Matrix multiplication with matrix-level gather.\n\n"
      "``out[i] = a[lhs_indices[i]] @ b[rhs_indices[i]]``, where the indices are flat indices into the batch "
      "dimensions (all but the last two) of ``a`` and ``b`` and broadcast together. Missing indices take the "
      "matrices in order, shaped as the operand's batch dimensions.\n\nArgs:\n    a (array): Input array.\n"
      "    b (array): Input array.\n    lhs_indices (array, optional): Integer indices for ``a``.\n"
      "    rhs_indices (array, optional): Integer indices for ``b``.\n    sorted_indices (bool, optional): "
      "The indices are sorted (a hint). Default: ``False``.\n\nReturns:\n    array: The output array.");
  m.def(
      "segmented_mm",
      [](const array& a, const array& b, const array& segments, StreamOrDevice s) {
        return kiln::segmented_mm(a, b, segments, s);
      },
      "a"_a, "b"_a, "segments"_a, nb::kw_only(), "stream"_a = nb::none(),
      "Matrix multiplication with the inner dimension split into segments, one result per segment.\n\n"
      "Args:\n    a (array): Input array of shape ``MxK``.\n    b (array): Input array of shape ``KxN``.\n"
      "    segments (array): Integer ``(start, end)`` offsets into the inner dimension, shape ``(..., 2)``.\n\n"
      "Returns:\n    array: The result per segment, shape ``segments.shape[:-1] + (M, N)``.");
  m.def(
      "block_masked_mm",
      [](const array& a, const array& b, int block_size, std::optional<array> mask_out, std::optional<array> mask_lhs,
         std::optional<array> mask_rhs,
         StreamOrDevice s) { return kiln::block_masked_mm(a, b, block_size, mask_out, mask_lhs, mask_rhs, s); },
      "a"_a, "b"_a, "block_size"_a = 64, "mask_out"_a = nb::none(), "mask_lhs"_a = nb::none(),
      "mask_rhs"_a = nb::none(), nb::kw_only(), "stream"_a = nb::none(),
      "Matrix multiplication with blocks of size ``block_size x block_size`` masked out.\n\n"
      "Masks have shapes ``(..., ceil(M/bs), ceil(K/bs))`` (``mask_lhs``), ``(..., ceil(K/bs), ceil(N/bs))`` "
      "(``mask_rhs``) and ``(..., ceil(M/bs), ceil(N/bs))`` (``mask_out``). Boolean masks zero the masked "
      "blocks; numeric masks multiply them.\n\nArgs:\n    a (array): Input array.\n    b (array): Input array.\n"
      "    block_size (int): Size of the blocks: ``32`` or ``64``. Default: ``64``.\n"
      "    mask_out (array, optional): Mask for the output.\n    mask_lhs (array, optional): Mask for ``a``.\n"
      "    mask_rhs (array, optional): Mask for ``b``.\n\nReturns:\n    array: The output array.");
}
