#include "trees.h"

#include <string>

namespace kiln::py {

namespace {

constexpr int kMaxDepth = 1000;

bool is_node(nb::handle h) {
  return nb::isinstance<nb::list>(h) || nb::isinstance<nb::tuple>(h) || nb::isinstance<nb::dict>(h);
}

void check_depth(int depth, const char* who) {
  if (depth > kMaxDepth) throw std::invalid_argument(std::string("[") + who + "] The tree is nested too deeply.");
}

void collect(nb::handle h, bool strict, const char* who, std::vector<array>& out, int depth) {
  check_depth(depth, who);
  if (nb::isinstance<array>(h)) {
    out.push_back(nb::cast<array>(h));
  } else if (nb::isinstance<nb::dict>(h)) {
    for (auto [k, v] : nb::borrow<nb::dict>(h)) collect(v, strict, who, out, depth + 1);
  } else if (is_node(h)) {
    for (nb::handle item : h) collect(item, strict, who, out, depth + 1);
  } else if (strict) {
    throw std::invalid_argument(std::string("[") + who + "] The argument should contain only arrays; found " +
                                nb::type_name(h.type()).c_str() + ".");
  }
}

nb::object map_arrays(nb::handle h, const std::function<nb::object(const array&)>& f, int depth) {
  check_depth(depth, "tree");
  if (nb::isinstance<array>(h)) return f(nb::cast<array>(h));
  if (nb::isinstance<nb::dict>(h)) {
    nb::dict out;
    for (auto [k, v] : nb::borrow<nb::dict>(h)) out[k] = map_arrays(v, f, depth + 1);
    return out;
  }
  if (nb::isinstance<nb::list>(h)) {
    nb::list out;
    for (nb::handle item : h) out.append(map_arrays(item, f, depth + 1));
    return out;
  }
  if (nb::isinstance<nb::tuple>(h)) {
    nb::list items;
    for (nb::handle item : h) items.append(map_arrays(item, f, depth + 1));
    return nb::tuple(items);
  }
  return nb::borrow(h);
}

void prefix_ints(nb::handle prefix, nb::handle tree, int none_value, const char* who, std::vector<int>& out,
                 int depth) {
  check_depth(depth, who);
  if (prefix.is_none() || nb::isinstance<nb::int_>(prefix)) {
    int v = prefix.is_none() ? none_value : nb::cast<int>(prefix);
    size_t n = tree_arrays(tree, false, who).size();
    out.insert(out.end(), n, v);
    return;
  }
  auto mismatch = [&] {
    return std::invalid_argument(std::string("[") + who + "] The axes do not match the structure of the arguments: " +
                                 nb::repr(prefix).c_str() + " against " + nb::type_name(tree.type()).c_str() + ".");
  };
  if (nb::isinstance<nb::dict>(prefix)) {
    if (!nb::isinstance<nb::dict>(tree)) throw mismatch();
    auto p = nb::borrow<nb::dict>(prefix);
    auto t = nb::borrow<nb::dict>(tree);
    if (p.size() != t.size()) throw mismatch();
    for (auto [k, v] : t) {
      if (!p.contains(k)) throw mismatch();
      prefix_ints(p[k], v, none_value, who, out, depth + 1);
    }
    return;
  }
  if (nb::isinstance<nb::list>(prefix) || nb::isinstance<nb::tuple>(prefix)) {
    if (!(nb::isinstance<nb::list>(tree) || nb::isinstance<nb::tuple>(tree)) || nb::len(prefix) != nb::len(tree)) {
      throw mismatch();
    }
    for (size_t i = 0; i < nb::len(prefix); ++i) prefix_ints(prefix[i], tree[i], none_value, who, out, depth + 1);
    return;
  }
  throw std::invalid_argument(std::string("[") + who + "] Axes must be ints, None, or lists, tuples and dicts of them; got " +
                              nb::type_name(prefix.type()).c_str() + ".");
}

}  // namespace

std::vector<array> tree_arrays(nb::handle tree, bool strict, const char* who) {
  std::vector<array> out;
  collect(tree, strict, who, out, 0);
  return out;
}

nb::object tree_map_arrays(nb::handle tree, const std::function<nb::object(const array&)>& f) {
  return map_arrays(tree, f, 0);
}

std::vector<int> tree_prefix_ints(nb::handle prefix, nb::handle tree, int none_value, const char* who) {
  std::vector<int> out;
  prefix_ints(prefix, tree, none_value, who, out, 0);
  return out;
}

}  // namespace kiln::py
