// The `kiln.core` extension module.
#include "utils.h"

void init_sort_scan(nb::module_& m);
void init_random(nb::module_& m);
void init_linalg(nb::module_& m);
void init_fft(nb::module_& m);
void init_conv(nb::module_& m);
void init_misc(nb::module_& m);
void init_compile(nb::module_& m);
void init_export(nb::module_& m);
void init_api_misc(nb::module_& m);
void init_contractions(nb::module_& m);
void init_io(nb::module_& m);
void init_quantized(nb::module_& m);

NB_MODULE(core, m) {
  m.doc() = "kiln: lazy, differentiable arrays with MLX's API.";
  // Order matters: later files use the types bound by earlier ones in their signatures.
  init_dtype(m);
  init_device(m);
  init_stream(m);
  init_array(m);
  init_ops(m);
  init_sort_scan(m);
  init_random(m);
  init_linalg(m);
  init_fft(m);
  init_conv(m);
  init_misc(m);
  init_contractions(m);
  init_quantized(m);
  init_transforms(m);
  init_compile(m);
  init_export(m);
  init_memory(m);
  init_indexing(m);
  init_api_misc(m);
  init_io(m);
}
