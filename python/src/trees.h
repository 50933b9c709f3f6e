// Pytrees: nested lists, tuples and dicts whose leaves are arrays (or other Python values).
// The transformations flatten their arguments and results to arrays and rebuild them.
#pragma once

#include <functional>
#include <vector>

#include "utils.h"

namespace kiln::py {

/** The array leaves of `tree`, depth-first, dict values in insertion order. With `strict`, any
 *  other leaf raises ValueError naming `who`; otherwise other leaves are skipped. */
std::vector<array> tree_arrays(nb::handle tree, bool strict, const char* who);

/** A copy of `tree` (lists, tuples, dicts rebuilt) with each array leaf replaced by `f(leaf)`. */
nb::object tree_map_arrays(nb::handle tree, const std::function<nb::object(const array&)>& f);

/** A copy of `tree` whose array leaves are replaced, in order, by `arrays[pos++]`. */
inline nb::object tree_replace_arrays(nb::handle tree, const std::vector<array>& arrays, size_t& pos) {
  return tree_map_arrays(tree, [&](const array&) { return nb::cast(arrays.at(pos++)); });
}

/** One value per array leaf of `tree`, taken from `prefix`: a tree with `tree`'s structure
 *  down to some depth whose leaves (ints or None; None becomes `none_value`) apply to
 *  everything below them. Non-array leaves of `tree` get nothing. */
std::vector<int> tree_prefix_ints(nb::handle prefix, nb::handle tree, int none_value, const char* who);

}  // namespace kiln::py
