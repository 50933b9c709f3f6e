// export_function / import_function: a function traced on example inputs and saved as a graph
// in a file format of kiln's own, so it runs later without its Python source.
//
// File layout (little-endian): the magic "KILNFN", a format version, a metadata string, then
// traces (one per exported input signature). A trace holds its input signature, the values of
// the arrays it captured (constants), its nodes in evaluation order (primitive name, parameter
// bytes written by the primitive's KILN_PRIMITIVE_STATE, input value ids, output shapes and
// dtypes) and the value ids of its outputs. Value ids count inputs, then constants, then node
// outputs.
#pragma once

#include <istream>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "kiln/transforms.h"

namespace kiln {

/** A function loaded by import_function: one traced graph per exported input signature. */
class KILN_API ImportedFunction {
 public:
  /** Runs the trace whose input signature matches `inputs` (shapes and dtypes; ranks and
   *  dtypes for shapeless traces). */
  std::vector<array> operator()(const std::vector<array>& inputs) const;
  const std::string& metadata() const { return metadata_; }
  /** Positional and keyword structure recorded at export (keyword names, in order). */
  int num_positional() const { return num_positional_; }
  const std::vector<std::string>& keywords() const { return keywords_; }

  struct Trace;

 private:
  friend KILN_API ImportedFunction import_function(std::istream& is);
  std::string metadata_;
  int num_positional_ = 0;
  std::vector<std::string> keywords_;
  std::vector<std::shared_ptr<Trace>> traces_;
};

/** Writes traces of one function; each call of add_trace traces `fun` on new example inputs. */
class KILN_API FunctionExporter {
 public:
  FunctionExporter(std::ostream& os, ArrayFn fun, bool shapeless, std::string metadata, int num_positional,
                   std::vector<std::string> keywords);
  ~FunctionExporter();
  void add_trace(const std::vector<array>& example_inputs);
  /** Writes the file (also done by the destructor). */
  void close();

 private:
  std::ostream& os_;
  ArrayFn fun_;
  bool shapeless_;
  std::string metadata_;
  int num_positional_;
  std::vector<std::string> keywords_;
  std::vector<std::vector<char>> traces_;
  bool closed_ = false;
};

/** Traces `fun` on `example_inputs` and writes it to `os`. */
KILN_API void export_function(std::ostream& os, const ArrayFn& fun, const std::vector<array>& example_inputs,
                              bool shapeless = false, const std::string& metadata = "");
/** Reads a function written by export_function; std::invalid_argument for malformed files. */
KILN_API ImportedFunction import_function(std::istream& is);

}  // namespace kiln
