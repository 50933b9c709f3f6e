"""pytest configuration for the core suites.

The backend under test is chosen in helpers.py: `kiln.core`, or `mlx.core` when
KILN_TEST_BACKEND=mlx (used only to check the tests themselves against a reference
implementation; CI always runs kiln).
"""

import os

import pytest

try:
    from hypothesis import HealthCheck, settings

    # Modest example counts: the whole suite must run in a few minutes on 2 cores.
    settings.register_profile(
        "kiln",
        max_examples=80,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        derandomize=True,
    )
    settings.load_profile(os.environ.get("KILN_HYPOTHESIS_PROFILE", "kiln"))
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    pass

BACKEND = os.environ.get("KILN_TEST_BACKEND", "kiln").lower()

# KILN_DEVICE=gpu (or cpu) runs every suite with that default device: the GPU machine runs the
# whole suite this way. Unset, the library's own default applies (the GPU when one is present).
_DEVICE = os.environ.get("KILN_DEVICE", "").lower()
if _DEVICE and BACKEND != "mlx":
    import kiln.core as _mx

    if _DEVICE not in ("cpu", "gpu"):
        raise ValueError(f"KILN_DEVICE must be 'cpu' or 'gpu', got {_DEVICE!r}")
    _mx.set_default_device(_mx.gpu if _DEVICE == "gpu" else _mx.cpu)


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "kiln_only(reason): kiln behaviour that MLX (the sanity-check backend) lacks or gets wrong; "
        "skipped only when KILN_TEST_BACKEND=mlx",
    )


def pytest_report_header(config):
    return f"array backend: {'mlx.core' if BACKEND == 'mlx' else 'kiln.core'}; KILN_DEVICE={_DEVICE or 'unset'}"


def pytest_collection_modifyitems(config, items):
    if BACKEND != "mlx":
        return
    for item in items:
        m = item.get_closest_marker("kiln_only")
        if m is not None:
            reason = m.args[0] if m.args else m.kwargs.get("reason", "")
            item.add_marker(pytest.mark.skip(reason=f"kiln-only behaviour (MLX differs): {reason}"))
