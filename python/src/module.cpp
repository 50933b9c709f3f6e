// The `kiln.core` extension module.
#include "utils.h"

NB_MODULE(core, m) {
  m.doc() = "kiln: lazy, differentiable arrays with MLX's API.";
  // Order matters: later files use the types bound by earlier ones in their signatures.
  init_dtype(m);
  init_device(m);
  init_stream(m);
  init_array(m);
  init_ops(m);
  init_transforms(m);
  init_memory(m);
}
