"""GPU memory growth (ini ``model_audit_gpu_memory_growth``), applied before TensorFlow touches a GPU.

Without it TensorFlow reserves almost all GPU memory in the first process that uses the GPU, so
a second xdist worker on the same GPU fails with out-of-memory. Nothing here imports TensorFlow.
"""
from __future__ import annotations

import os
import sys

ENV = "TF_FORCE_GPU_ALLOW_GROWTH"


def apply_memory_growth() -> str | None:
    """Make TensorFlow allocate GPU memory as needed in this process; a problem is returned as text, never raised."""
    os.environ[ENV] = "true"  # read by TensorFlow when it creates its GPU devices
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return None  # TensorFlow is not imported yet: the variable is enough
    try:
        for gpu in tf.config.list_physical_devices("GPU"):
            tf.config.experimental.set_memory_growth(gpu, True)
    except (RuntimeError, ValueError, AttributeError) as exc:
        return (f"model_audit_gpu_memory_growth: TensorFlow was already using the GPU before pytest configured the "
                f"plugin (a conftest or plugin ran TensorFlow at import time), so memory growth could not be set: {exc}")
    return None
