"""Getting a model in: label lists and files, .keras / .h5 files (with a clear word for a broken archive or a
SavedModel folder), refusing several outputs, and keeping TensorFlow's retracing notes out of the output."""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...errors import LabelFileError, ModelLoadError


def read_classes(classes: Sequence[str] | str | os.PathLike | None) -> tuple[list[str] | None, str | None]:
    if classes is None:
        return None, None
    if isinstance(classes, (str, os.PathLike)):
        path = Path(classes)
        if not path.is_file():
            raise LabelFileError(f"Class label file {str(path)!r} does not exist (expected a text file, one label per line).")
        labels = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if not labels:
            raise LabelFileError(f"Class label file {str(path)!r} is empty (expected one label per line).")
        return labels, str(path)
    labels = [str(c) for c in classes]
    if len(set(labels)) != len(labels):
        raise LabelFileError(f"Class labels contain duplicates: {labels}.")
    return labels, None


def load_keras(path: Path, safe_mode: bool) -> Any:
    import keras

    if not path.exists():
        raise ModelLoadError(f"Model file {str(path)!r} does not exist.")
    if path.is_dir():
        if not (path / "saved_model.pb").exists():
            raise ModelLoadError(f"{str(path)!r} is a folder but not a SavedModel (no saved_model.pb); expected a .keras or .h5 file or a SavedModel folder.")
        raise ModelLoadError(
            f"{str(path)!r} is a TensorFlow SavedModel. Keras 3 can only wrap it as an opaque TFSMLayer, "
            "whose layers cannot be captured; save the model as a .keras file (model.save('model.keras')) to audit it."
        )
    if path.suffix.lower() not in (".keras", ".h5", ".hdf5"):
        raise ModelLoadError(f"Model file {str(path)!r} has an unsupported extension; expected .keras, .h5 or a SavedModel folder.")
    _check_archive(path)
    try:
        return keras.models.load_model(path, compile=False, safe_mode=safe_mode)
    except ValueError as exc:
        if "safe_mode" in str(exc) or "lambda" in str(exc).lower():
            raise ModelLoadError(
                f"Model file {str(path)!r} contains code (e.g. a Lambda layer) that safe mode refuses to run. "
                "If you trust this file, load it with safe_mode=False."
            ) from exc
        raise ModelLoadError(f"Model file {str(path)!r} could not be loaded: {exc}") from exc
    except Exception as exc:  # corrupt zip/h5, unknown custom objects...
        raise ModelLoadError(f"Model file {str(path)!r} could not be loaded: {type(exc).__name__}: {exc}") from exc


class _NoRetracingNotes:
    """Drops TensorFlow's "triggered tf.function retracing" warnings: audits trace on purpose once per image-set
    shape, so the note only floods failure output (any other TensorFlow warning still shows)."""

    def filter(self, record: Any) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def quiet_retracing_notes() -> None:
    import logging

    logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _NoRetracingNotes) for f in logger.filters):
        logger.addFilter(_NoRetracingNotes())


def refuse_several_outputs(model: Any, name: str) -> None:
    """Audits explain one classifier output: a model with several is refused, naming them (never a silent pick)."""
    try:
        outputs = list(model.outputs)
    except Exception:  # a Sequential model not built yet has one output by construction
        return
    if len(outputs) <= 1:
        return
    names = []
    for t in outputs:
        history = getattr(t, "_keras_history", None)
        layer = getattr(history, "operation", None) or getattr(history, "layer", None)
        names.append(getattr(layer, "name", None) or getattr(t, "name", "?"))
    listed = ", ".join(f"{i}: '{n}'" for i, n in enumerate(names))
    raise ModelLoadError(
        f"Model {name!r} has {len(outputs)} outputs ({listed}); an audit explains one classifier output. Wrap the one "
        f"to audit, e.g. keras.Model(model.inputs, model.outputs[0]) for '{names[0]}', and load that.")


def _check_archive(path: Path) -> None:
    """A .keras file is a zip archive holding config.json; say so plainly when it is not (Keras would say the file
    was not found although it exists)."""
    import zipfile

    if path.suffix.lower() != ".keras":
        return
    size = path.stat().st_size
    if not zipfile.is_zipfile(path):
        raise ModelLoadError(f"Model file {str(path)!r} exists ({size} bytes) but is not a valid .keras archive: a "
                             ".keras file is a zip archive written by model.save('model.keras'); this one is not a zip "
                             "file (renamed from another format, or truncated by an interrupted copy or download).")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ModelLoadError(f"Model file {str(path)!r} is not a valid .keras archive: the zip is damaged ({exc}); "
                             "it may be truncated. Save or copy the model again.") from exc
    if bad is not None:
        raise ModelLoadError(f"Model file {str(path)!r} is not a valid .keras archive: its member {bad!r} is damaged; "
                             "it may be truncated. Save or copy the model again.")
    if "config.json" not in names:
        raise ModelLoadError(f"Model file {str(path)!r} is a zip file but not a .keras archive: it has no config.json "
                             "(a .keras file is written by model.save('model.keras')).")
