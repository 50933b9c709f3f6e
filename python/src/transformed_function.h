// The Python callables the transformations return (grad, value_and_grad, vmap, compile,
// checkpoint). Their Python references (the user's function, axes, state) live in `refs`, which
// the garbage collector sees: a transformed function kept in a module global refers back to that
// module through the wrapped function's globals, and a closure capture would hide that cycle.
#pragma once

#include <functional>
#include <vector>

#include "utils.h"

namespace kiln::py {

struct TransformedFunction {
  using Impl = std::function<nb::object(const std::vector<nb::object>& refs, const nb::args&, const nb::kwargs&)>;
  Impl impl;                    // captures C++ state only
  std::vector<nb::object> refs;  // every Python object impl uses
};

/** A new callable running `impl` with `refs`. */
nb::object make_transformed(TransformedFunction::Impl impl, std::vector<nb::object> refs);

/** tp_traverse / tp_clear for classes whose instances hold Python references in C++ members. */
template <typename T, void (*Visit)(T&, const std::function<void(PyObject*)>&), void (*Clear)(T&)>
struct GcSlots {
  static int traverse(PyObject* self, visitproc visit, void* arg) {
    if (!nb::inst_ready(self)) return 0;
    int rc = 0;
    Visit(*nb::inst_ptr<T>(self), [&](PyObject* o) {
      if (o && rc == 0) rc = visit(o, arg);
    });
    if (rc == 0) rc = visit(reinterpret_cast<PyObject*>(Py_TYPE(self)), arg);
    return rc;
  }
  static int clear(PyObject* self) {
    if (nb::inst_ready(self)) Clear(*nb::inst_ptr<T>(self));
    return 0;
  }
  static inline PyType_Slot slots[] = {{Py_tp_traverse, reinterpret_cast<void*>(traverse)},
                                       {Py_tp_clear, reinterpret_cast<void*>(clear)},
                                       {0, nullptr}};
};

}  // namespace kiln::py
