// Bindings of kiln/dtype.h: Dtype objects, DtypeCategory, issubdtype, promote/result types.
#include "utils.h"

using namespace kiln;

void init_dtype(nb::module_& m) {
  nb::class_<Dtype>(m, "Dtype", "An array's element type (``kiln.core.float32``, ...).")
      .def_prop_ro("size", [](const Dtype& d) { return static_cast<int>(d.size); },
                   "Size of one element in bytes.")
      .def("__repr__", [](const Dtype& d) { return "kiln.core." + dtype_name(d); })
      .def("__eq__", [](const Dtype& a, const Dtype& b) { return a == b; }, nb::is_operator())
      .def("__ne__", [](const Dtype& a, const Dtype& b) { return a != b; }, nb::is_operator())
      .def("__hash__", [](const Dtype& d) { return static_cast<int>(d.val); });

  nb::enum_<Dtype::Category>(m, "DtypeCategory", "Abstract dtype categories for ``issubdtype``.")
      .value("complexfloating", complexfloating)
      .value("floating", floating)
      .value("inexact", inexact)
      .value("signedinteger", signedinteger)
      .value("unsignedinteger", unsignedinteger)
      .value("integer", integer)
      .value("number", number)
      .value("generic", generic);

  for (Dtype d : all_dtypes) {
    std::string name = dtype_name(d);
    m.attr(name == "bool" ? "bool_" : name.c_str()) = d;
  }
  m.attr("complexfloating") = complexfloating;
  m.attr("floating") = floating;
  m.attr("inexact") = inexact;
  m.attr("signedinteger") = signedinteger;
  m.attr("unsignedinteger") = unsignedinteger;
  m.attr("integer") = integer;
  m.attr("number") = number;
  m.attr("generic") = generic;

  const char* issubdtype_doc =
      "Whether ``arg1`` is ``arg2`` or belongs to the category ``arg2``.\n\n"
      "Args:\n    arg1 (Dtype | DtypeCategory): The type to test.\n"
      "    arg2 (Dtype | DtypeCategory): The dtype or category to test against.\n\n"
      "Returns:\n    bool\n\nExample:\n    >>> issubdtype(float16, floating)\n    True";
  m.def("issubdtype", nb::overload_cast<Dtype, Dtype>(&kiln::issubdtype), "arg1"_a, "arg2"_a, issubdtype_doc);
  m.def("issubdtype", nb::overload_cast<Dtype, Dtype::Category>(&kiln::issubdtype), "arg1"_a, "arg2"_a);
  m.def("issubdtype", nb::overload_cast<Dtype::Category, Dtype>(&kiln::issubdtype), "arg1"_a, "arg2"_a);
  m.def("issubdtype", nb::overload_cast<Dtype::Category, Dtype::Category>(&kiln::issubdtype), "arg1"_a,
        "arg2"_a);

  m.def(
      "result_type",
      [](nb::args args) {
        if (args.size() == 0) throw std::invalid_argument("[result_type] At least one input is required.");
        std::optional<Dtype> out;
        for (nb::handle h : args) {
          Dtype t = float32;
          if (nb::isinstance<array>(h)) {
            t = nb::cast<const array&>(h).dtype();
          } else if (nb::isinstance<Dtype>(h)) {
            t = nb::cast<Dtype>(h);
          } else {
            throw std::invalid_argument("[result_type] Inputs must be arrays or dtypes.");
          }
          out = out ? promote_types(*out, t) : t;
        }
        return *out;
      },
      nb::sig("def result_type(*arrays_and_dtypes: array | Dtype) -> Dtype"),
      "The dtype that results from type promotion of the inputs.\n\n"
      "Args:\n    *arrays_and_dtypes (array | Dtype): The inputs.\n\nReturns:\n    Dtype");
}
