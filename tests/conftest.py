import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

# TensorFlow must be imported once in the outer process: in-process pytester runs restore
# sys.modules afterwards, and re-importing TensorFlow's C extension aborts the interpreter.
import tensorflow  # noqa: E402,F401

# The same holds for WeasyPrint (cffi bindings to Pango): a second import in one process crashes it.
try:
    import weasyprint  # noqa: E402,F401
except (ImportError, OSError):  # no Pango: the report tests cover the warning path
    pass

from known_models import square_images  # noqa: E402


@pytest.fixture(scope="session")
def square_net():
    from known_models import square_model

    from pytest_modelaudit import load_model

    return load_model(square_model(), classes=["square", "none"])


@pytest.fixture
def squares():
    return square_images()
