"""kiln: a lazy, differentiable array framework with MLX's API.

Use ``import kiln.core as mx`` where a program would ``import mlx.core as mx``.
"""

__version__ = "0.1.0"
