"""kiln.core has every public name of mlx.core 0.32.4 (and of its random, linalg and fft
submodules). The lists below were generated once from MLX 0.32.4 and pasted here; names whose work
belongs to another open issue are in PENDING, and the test checks they are still missing, so the
author of the change that adds one is told to move it to the main list."""

import importlib

import pytest

from helpers import IS_MLX, mx

NAMES = {
    "core": [
        "ArrayAt", "ArrayIterator", "ArrayLike", "Device", "DeviceType", "Dtype", "DtypeCategory",
        "FunctionExporter", "PrintOptions", "Stream", "StreamContext", "ThreadLocalStream", "abs",
        "acos", "acosh", "add", "addmm", "all", "allclose", "any", "arange", "arccos", "arccosh",
        "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "argmax", "argmin", "argpartition",
        "argsort", "array", "array_equal", "as_strided", "asarray", "asin", "asinh", "astype",
        "async_eval", "atan", "atan2", "atanh", "atleast_1d", "atleast_2d", "atleast_3d",
        "bartlett", "bfloat16", "bitwise_and", "bitwise_invert", "bitwise_left_shift", "bitwise_or",
        "bitwise_right_shift", "bitwise_xor", "blackman", "block_masked_mm", "bool_",
        "broadcast_arrays", "broadcast_shapes", "broadcast_to", "can_cast", "ceil", "checkpoint",
        "clear_cache", "clear_streams", "clip", "compile", "complex64", "complexfloating", "concat",
        "concatenate", "conj", "conjugate", "contiguous", "conv1d", "conv2d", "conv3d",
        "conv_general", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "convolve",
        "cos", "cosh", "count_nonzero", "cpu", "cuda", "cummax", "cummin", "cumprod", "cumsum",
        "cumulative_prod", "cumulative_sum", "custom_function", "default_device", "default_stream",
        "degrees", "depends", "dequantize", "device_count", "device_info", "diag", "diagonal",
        "diff", "disable_compile", "divide", "divmod", "e", "einsum", "einsum_path", "empty",
        "empty_like", "enable_compile", "equal", "erf", "erfinv", "euler_gamma", "eval", "exp",
        "expand_dims", "expm1", "export_function", "export_to_dot", "exporter", "eye", "fft",
        "finfo", "flatten", "flip", "float16", "float32", "float64", "floating", "floor",
        "floor_divide", "from_dlpack", "from_fp8", "full", "full_like", "gather_mm", "gather_qmm",
        "gather_qqmm", "generic", "get_active_memory", "get_array_buffer_size", "get_cache_memory",
        "get_memory_limit", "get_peak_memory", "get_printoptions", "gpu", "grad", "greater",
        "greater_equal", "hadamard_transform", "hamming", "hanning", "identity", "iinfo", "imag",
        "import_function", "inexact", "inf", "inner", "int16", "int32", "int64", "int8", "integer",
        "is_available", "isclose", "isdtype", "isfinite", "isinf", "isnan", "isneginf", "isposinf",
        "issubdtype", "jvp", "kron", "left_shift", "less", "less_equal", "linalg", "linspace",
        "load", "log", "log10", "log1p", "log2", "logaddexp", "logcumsumexp", "logical_and",
        "logical_not", "logical_or", "logical_xor", "logsumexp", "matmul", "matrix_norm",
        "matrix_transpose", "max", "maximum", "mean", "median", "meshgrid", "min", "minimum",
        "minmax", "moveaxis", "multiply", "nan", "nan_to_num", "negative", "new_stream",
        "new_thread_local_stream", "new_thread_unsafe_stream", "newaxis", "not_equal", "number",
        "ones", "ones_like", "outer", "pad", "partition", "permute_dims", "pi", "positive", "pow",
        "power", "printoptions", "prod", "put_along_axis", "qqmm", "quantize", "quantized_matmul",
        "radians", "random", "real", "reciprocal", "remainder", "repeat", "reset_peak_memory",
        "reshape", "result_type", "right_shift", "roll", "round", "rsqrt", "save", "save_gguf",
        "save_safetensors", "savez", "savez_compressed", "searchsorted", "segmented_mm",
        "set_cache_limit", "set_default_device", "set_default_stream", "set_memory_limit",
        "set_printoptions", "set_wired_limit", "sigmoid", "sign", "signedinteger", "sin", "sinh",
        "slice", "slice_update", "softmax", "sort", "split", "sqrt", "square", "squeeze", "stack",
        "std", "stop_gradient", "stream", "subtract", "sum", "swapaxes", "synchronize", "take",
        "take_along_axis", "tan", "tanh", "tensordot", "tile", "to_fp8", "topk", "trace",
        "transpose", "tri", "tril", "triu", "trunc", "uint16", "uint32", "uint64", "uint8",
        "unflatten", "unique", "unsignedinteger", "unstack", "value_and_grad", "var", "vecdot",
        "view", "vjp", "vmap", "where", "zeros", "zeros_like"
    ],
    "random": [
        "bernoulli", "categorical", "gumbel", "key", "laplace", "multivariate_normal", "normal",
        "permutation", "randint", "seed", "split", "truncated_normal", "uniform"
    ],
    "linalg": [
        "cholesky", "cholesky_inv", "cross", "det", "eig", "eigh", "eigvals", "eigvalsh", "inv",
        "lu", "lu_factor", "norm", "pinv", "qr", "slogdet", "solve", "solve_triangular", "svd",
        "tri_inv"
    ],
    "fft": [
        "fft", "fft2", "fftfreq", "fftn", "fftshift", "ifft", "ifft2", "ifftn", "ifftshift",
        "irfft", "irfft2", "irfftn", "istft", "rfft", "rfft2", "rfftfreq", "rfftn", "stft"
    ],
}

# name -> the issue / area that will add it (all in mlx.core).
PENDING = {
    "fast": "fast submodule",
    "distributed": "distributed submodule",
    "metal": "metal submodule",
}


def _module(name):
    return mx if name == "core" else getattr(mx, name)


@pytest.mark.parametrize("module", list(NAMES))
def test_public_names_present(module):
    missing = [n for n in NAMES[module] if not hasattr(_module(module), n)]
    assert not missing, f"kiln.core{'' if module == 'core' else '.' + module} lacks MLX names: {missing}"


@pytest.mark.skipif(IS_MLX, reason="MLX has the pending names")
def test_pending_names_still_missing():
    landed = [n for n in PENDING if hasattr(mx, n)]
    assert not landed, f"{landed} now exist in kiln.core: move them from PENDING to NAMES['core']"


def test_lists_cover_installed_mlx():
    """If MLX 0.32 is installed, the lists must name all of its public names (so they stay complete)."""
    try:
        mlx = importlib.import_module("mlx.core")
    except ImportError:
        pytest.skip("mlx not installed")
    if not mlx.__version__.startswith("0.32"):
        pytest.skip(f"lists are for MLX 0.32, found {mlx.__version__}")
    for module, names in NAMES.items():
        mod = mlx if module == "core" else getattr(mlx, module)
        known = set(names) | (set(PENDING) if module == "core" else set())
        public = {n for n in dir(mod) if not n.startswith("_")}
        assert public <= known, f"unlisted MLX names in {module}: {sorted(public - known)}"
