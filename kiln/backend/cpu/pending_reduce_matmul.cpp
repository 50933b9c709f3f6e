// TEMPORARY: eval_cpu definitions not written yet, so the library links. Whoever implements
// a primitive deletes its line here; the file goes away when empty.
#include <stdexcept>

#include "kiln/primitives.h"

namespace kiln {

#define PENDING(Name) \
  void Name::eval_cpu(const std::vector<array>&, array&) { throw std::runtime_error("[" #Name "] not implemented yet"); }

PENDING(Reduce)
PENDING(ArgReduce)
PENDING(Softmax)
PENDING(LogSumExp)
PENDING(Matmul)

}  // namespace kiln
