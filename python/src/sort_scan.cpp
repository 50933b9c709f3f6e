// Bindings of the sorting and scan ops (sort, argsort, partition, argpartition, topk, cumsum,
// cumprod, cummax, cummin, logcumsumexp) and the matching array methods.
#include "utils.h"

using namespace kiln;
using namespace kiln::py;

void init_sort_scan(nb::module_& m);

namespace {

using ScanFn = array (*)(const array&, int, bool, bool, StreamOrDevice);
using ScanFlatFn = array (*)(const array&, bool, bool, StreamOrDevice);

array scan_impl(ScanFn axis_fn, ScanFlatFn flat_fn, const array& a, std::optional<int> axis, bool reverse,
                bool inclusive, StreamOrDevice s) {
  return axis ? axis_fn(a, *axis, reverse, inclusive, s) : flat_fn(a, reverse, inclusive, s);
}

#define KILN_SCAN_ARGS                                                                               \
  "\n\nArgs:\n    a (array): Input.\n    axis (int, optional): Axis to scan along; the flattened array " \
  "when None.\n    reverse (bool): Scan from the end toward the start.\n    inclusive (bool): Include "  \
  "each element in its own result; if False, results shift by one and the first is the "          \
  "operation's identity.\n"

}  // namespace

void init_sort_scan(nb::module_& m) {
#define KILN_SORT(name, desc, ret)                                                                       \
  m.def(                                                                                                \
      #name,                                                                                            \
      [](const array& a, std::optional<int> axis, StreamOrDevice s) {                                   \
        return axis ? kiln::name(a, *axis, s) : kiln::name(a, s);                                       \
      },                                                                                                \
      "a"_a, "axis"_a = -1, nb::kw_only(), "stream"_a = nb::none(),                                     \
      desc "\n\nArgs:\n    a (array): Input.\n    axis (int, optional): Axis to sort along; the "        \
           "flattened array when None.\n\nReturns:\n    array: " ret);
  KILN_SORT(sort, "Sorted copy of an array along an axis (NaN last).", "the sorted values.")
  KILN_SORT(argsort, "Indices that sort an array along an axis (stable).", "uint32 indices.")
#undef KILN_SORT

#define KILN_PARTITION(name, desc, ret)                                                                  \
  m.def(                                                                                                \
      #name,                                                                                            \
      [](const array& a, int kth, std::optional<int> axis, StreamOrDevice s) {                          \
        return axis ? kiln::name(a, kth, *axis, s) : kiln::name(a, kth, s);                             \
      },                                                                                                \
      "a"_a, "kth"_a, "axis"_a = -1, nb::kw_only(), "stream"_a = nb::none(),                            \
      desc "\n\nElement ``kth`` is where a sort would put it; no element before it is larger and none " \
           "after it is smaller; the order within each side is unspecified.\n\nArgs:\n    a (array): "  \
           "Input.\n    kth (int): Index of the element to place (negative counts from the end).\n"    \
           "    axis (int, optional): Axis; the flattened array when None.\n\nReturns:\n    array: " ret);
  KILN_PARTITION(partition, "Partitioned copy of an array along an axis.", "the partitioned values.")
  KILN_PARTITION(argpartition, "Indices that partition an array along an axis.", "uint32 indices.")
#undef KILN_PARTITION

  m.def(
      "topk",
      [](const array& a, int k, std::optional<int> axis, StreamOrDevice s) {
        return axis ? kiln::topk(a, k, *axis, s) : kiln::topk(a, k, s);
      },
      "a"_a, "k"_a, "axis"_a = -1, nb::kw_only(), "stream"_a = nb::none(),
      "The ``k`` largest elements along an axis, in no particular order.\n\nArgs:\n    a (array): Input.\n"
      "    k (int): How many (0 to the axis length).\n    axis (int, optional): Axis; the flattened array "
      "when None.\n\nReturns:\n    array");

#define KILN_SCAN_DTYPE(name, desc)                                                                        \
  m.def(                                                                                                  \
      #name,                                                                                              \
      [](const array& a, std::optional<int> axis, bool reverse, bool inclusive, std::optional<Dtype> dtype, \
         StreamOrDevice s) {                                                                              \
        array x = dtype ? astype(a, *dtype, s) : a;                                                       \
        return scan_impl(kiln::name, kiln::name, x, axis, reverse, inclusive, s);                         \
      },                                                                                                  \
      "a"_a, "axis"_a = nb::none(), nb::kw_only(), "reverse"_a = false, "inclusive"_a = true,             \
      "dtype"_a = nb::none(), "stream"_a = nb::none(),                                                    \
      desc KILN_SCAN_ARGS "    dtype (Dtype, optional): Convert the input to this type first.\n\nReturns:\n    array");
  KILN_SCAN_DTYPE(cumsum, "Cumulative sum along an axis (bool gives int32).")
  KILN_SCAN_DTYPE(cumprod, "Cumulative product along an axis.")
#undef KILN_SCAN_DTYPE

#define KILN_SCAN(name, desc)                                                                              \
  m.def(                                                                                                  \
      #name,                                                                                              \
      [](const array& a, std::optional<int> axis, bool reverse, bool inclusive, StreamOrDevice s) {       \
        return scan_impl(kiln::name, kiln::name, a, axis, reverse, inclusive, s);                         \
      },                                                                                                  \
      "a"_a, "axis"_a = nb::none(), nb::kw_only(), "reverse"_a = false, "inclusive"_a = true,             \
      "stream"_a = nb::none(), desc KILN_SCAN_ARGS "\nReturns:\n    array");
  KILN_SCAN(cummax, "Cumulative maximum along an axis (NaN propagates).")
  KILN_SCAN(cummin, "Cumulative minimum along an axis (NaN propagates).")
  KILN_SCAN(logcumsumexp, "Cumulative ``log(sum(exp(a)))`` along an axis (integers give float32).")
#undef KILN_SCAN

  // Array methods (a.cumsum(...)), as in MLX; added to the class bound in array.cpp.
  nb::handle cls = nb::type<array>();
#define KILN_SCAN_METHOD(fn)                                                                              \
  nb::setattr(cls, #fn,                                                                                   \
              nb::cpp_function(                                                                             \
                  [](const array& a, std::optional<int> axis, bool reverse, bool inclusive, StreamOrDevice s) { \
                    return scan_impl(kiln::fn, kiln::fn, a, axis, reverse, inclusive, s);               \
                  },                                                                                        \
                  nb::scope(cls), nb::name(#fn), nb::is_method(), "axis"_a = nb::none(), nb::kw_only(),   \
                  "reverse"_a = false, "inclusive"_a = true, "stream"_a = nb::none(),                       \
                  "See :func:`" #fn "`."));
  KILN_SCAN_METHOD(cumsum)
  KILN_SCAN_METHOD(cumprod)
  KILN_SCAN_METHOD(cummax)
  KILN_SCAN_METHOD(cummin)
  KILN_SCAN_METHOD(logcumsumexp)
#undef KILN_SCAN_METHOD
}
