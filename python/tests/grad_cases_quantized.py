"""Transformation-rule cases (see test_grad_ops.py) for the quantization ops, in float64.

The packed weights are fixed (closed over); the differentiable inputs are x and the affine scales
and biases. float64 products run as products with the dequantized matrix (Dequantize's rules), so
the float32 kernels' own rules (QuantizedMatmul, GatherQMM) are tested in test_quantized.py.
"""

import numpy as np

from helpers import mx
from test_grad_ops import U

_W = np.random.default_rng(5).standard_normal((2, 6, 64)).astype(np.float32)
WQ, _S, _B = mx.quantize(mx.array(_W), 32, 4)  # (2, 6, 8) packed; scales/biases (2, 6, 2)
WQ8 = mx.quantize(mx.array(_W[0]), 32, 8)[0]  # (6, 16)
WFP = mx.quantize(mx.array(_W[0]), mode="mxfp8")

CASES = {
    "dequantize": (lambda s, b: mx.dequantize(WQ[0], s, b, 32, 4), [U(6, 2), U(6, 2)]),
    "dequantize_8bit": (lambda s, b: mx.dequantize(WQ8, s, b, 32, 8) * 2, [U(6, 2), U(6, 2)]),
    "quantized_matmul": (lambda x, s, b: mx.quantized_matmul(x, WQ[0], s, b, group_size=32), [U(3, 64), U(6, 2), U(6, 2)]),
    "quantized_matmul_no_transpose": (
        lambda x, s, b: mx.quantized_matmul(x, WQ[0], s, b, transpose=False, group_size=32),
        [U(2, 6), U(6, 2), U(6, 2)],
    ),
    "quantized_matmul_vector_x": (lambda x: mx.quantized_matmul(x, WQ8, *WQ8_PARAMS, group_size=32, bits=8), [U(64)]),
    "gather_qmm": (
        lambda x, s, b: mx.gather_qmm(x, WQ, s, b, mx.array([1, 0, 1]), mx.array([0, 1, 1]), group_size=32),
        [U(2, 2, 64), U(2, 6, 2), U(2, 6, 2)],
    ),
    "dequantize_mxfp8_x_product": (
        lambda x: x @ mx.dequantize(*WFP, mode="mxfp8", dtype=mx.float64).T,
        [U(2, 64)],
    ),
}

WQ8_PARAMS = [mx.array(np.random.default_rng(6).uniform(0.01, 0.1, (6, 2)), dtype=mx.float64),
              mx.array(np.random.default_rng(7).uniform(-1, 1, (6, 2)), dtype=mx.float64)]

ZERO_GRAD = {
    "quantize_round_trip": (lambda x: mx.dequantize(*mx.quantize(x, 32, 4), 32, 4), [U(2, 64)]),
}
