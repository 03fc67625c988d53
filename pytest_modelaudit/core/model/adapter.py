"""The model adapter: load a Keras model, preprocess, read logits, capture layers in one traced pass."""
from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ClassNotFoundError, LabelFileError, LayerUnsuitableError, ModelLoadError, closest
from ...paths import shown_path
from . import passes
from .capture import Head, Recorder, find_head, is_container, layer_paths, resolve_layer
from .loading import load_keras, quiet_retracing_notes, read_classes, refuse_several_outputs
from .tracing import AnyBatch

Preprocess = Callable[[Any], Any]


def logit_margin(logits: np.ndarray, idx: int) -> np.ndarray:
    """Target logit minus the largest other logit, along the last axis (the logit itself for one output)."""
    if logits.shape[-1] < 2:
        return logits[..., idx]
    others = np.delete(logits, idx, axis=-1)
    return logits[..., idx] - others.max(axis=-1)


@dataclass(frozen=True)
class Target:
    """A class of the model, resolved once at the API: its output index and its label."""

    index: int
    name: str

    def __str__(self) -> str:
        return f"class {self.name!r} (output {self.index})"


class ModelAdapter:
    """A Keras model plus what audits need: labels, preprocessing, logits and layer capture.

    Images enter as float32 arrays in [0, 1] (display space); `preprocess` maps them to model-input
    space, either linearly onto `input_range` or through a callable receiving values in [0, 255].
    """

    def __init__(
        self,
        model: Any,
        *,
        classes: Sequence[str] | str | os.PathLike | None = None,
        input_range: tuple[float, float] | None = (0.0, 1.0),
        preprocess: Preprocess | None = None,
        name: str | None = None,
        source: str | None = None,
    ):
        import keras

        quiet_retracing_notes()
        if not isinstance(model, keras.Model):
            raise ModelLoadError(f"Expected a keras.Model or a model file path, got {type(model).__name__}.")
        self.model = model
        self.name = name or model.name
        self.source = source or "in-memory keras.Model"
        self.class_names, self.classes_file = read_classes(classes)
        if preprocess is not None and not callable(preprocess):
            raise ModelLoadError(f"preprocess must be a callable taking images in [0, 255], got {type(preprocess).__name__}.")
        self.preprocess_fn = preprocess
        if preprocess is None:
            if input_range is None or len(input_range) != 2 or not input_range[1] > input_range[0]:
                raise ModelLoadError(f"input_range must be (low, high) with high > low, got {input_range!r}.")
        self.input_range = None if preprocess is not None else (float(input_range[0]), float(input_range[1]))
        refuse_several_outputs(model, self.name)
        self.head: Head = find_head(model)
        self._fingerprint: str | None = None
        self.passes_key = f"model-{id(self)}"  # what its passes are booked to (a randomised copy: its source's)
        self._input_shape: tuple[int, int, int] | None = None
        self._functions: dict[Any, Any] = {}  # see built()
        self._num_classes: int | None = None
        self._checked_output = False

    # ----- description -------------------------------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(H, W, C) the model expects."""
        if self._input_shape is None:
            shape = None
            try:
                shape = tuple(self.model.inputs[0].shape[1:])
            except Exception:
                try:
                    shape = tuple(self.model.input_shape[1:])
                except Exception:
                    shape = None
            if shape is None or len(shape) != 3 or any(s is None for s in shape):
                raise ModelLoadError(
                    f"Model {self.name!r} has no fixed input shape (H, W, C); build it with an Input of fixed size "
                    "or call it once on a batch of the right size before auditing."
                )
            self._input_shape = tuple(int(s) for s in shape)  # type: ignore[assignment]
        return self._input_shape  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        if self._num_classes is None:
            self._num_classes = self._declared_classes()
            if self._num_classes is None:  # no declared output shape (e.g. a Sequential without Input): run it
                out = self.logits(np.zeros((1,) + self.input_shape, np.float32), preprocessed=True)
                self._num_classes = int(out.shape[-1])
            if self.class_names is not None and len(self.class_names) != self._num_classes:
                where = f"label file {self.classes_file!r}" if self.classes_file else "the class list"
                raise LabelFileError(
                    f"{where} has {len(self.class_names)} labels but model {self.name!r} has {self._num_classes} outputs."
                )
        return self._num_classes

    def _declared_classes(self) -> int | None:
        """The class count from the model's declared output shape (N, K), without a forward pass; None if unknown."""
        try:
            shape = tuple(self.model.outputs[0].shape)
        except Exception:
            return None
        return int(shape[-1]) if len(shape) == 2 and isinstance(shape[-1], int) and shape[-1] > 0 else None

    @property
    def labels(self) -> list[str]:
        return self.class_names or [str(i) for i in range(self.num_classes)]

    def target(self, target: str | int | Target) -> Target:
        """The class, resolved once: by name or index (unknown names list the closest labels)."""
        index = self.class_index(target)
        return Target(index, self.class_name(index))

    def class_index(self, target: str | int | Target) -> int:
        """Index of a class given by name, index or Target; unknown names list the closest labels."""
        n = self.num_classes
        if isinstance(target, Target):
            if not 0 <= target.index < n or self.class_name(target.index) != target.name:
                raise ClassNotFoundError(f"{target} does not belong to model {self.name!r} ({n} classes).")
            return target.index
        if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
            if not 0 <= int(target) < n:
                raise ClassNotFoundError(f"Class index {target} is out of range for model {self.name!r} with {n} classes.")
            return int(target)
        if self.class_names is None:
            if isinstance(target, str) and target.isdigit() and int(target) < n:
                return int(target)
            raise ClassNotFoundError(
                f"Class {target!r} given by name, but model {self.name!r} has no class labels; pass classes=[...] "
                "or a label file to load_model, or use an index."
            )
        if target not in self.class_names:
            raise ClassNotFoundError(f"Model {self.name!r} has no class {target!r}." + closest(str(target), self.class_names))
        return self.class_names.index(target)

    def class_name(self, index: int) -> str:
        return self.labels[index]

    @property
    def fingerprint(self) -> str:
        """sha256 over layer types, configs (names left out) and every weight: the model's identity (16 hex)."""
        if self._fingerprint is None:
            import json

            def unnamed(obj: Any) -> Any:
                if isinstance(obj, dict):
                    return {k: unnamed(v) for k, v in obj.items() if k != "name"}
                if isinstance(obj, (list, tuple)):
                    return [unnamed(v) for v in obj]
                return obj

            h = hashlib.sha256()
            for path, layer in layer_paths(self.model):
                h.update(type(layer).__name__.encode())
                if is_container(layer):
                    continue
                try:
                    h.update(json.dumps(unnamed(layer.get_config()), sort_keys=True, default=str).encode())
                except Exception:
                    pass
                for w in layer.weights:
                    arr = np.ascontiguousarray(np.asarray(w.numpy()))
                    h.update(f"{arr.shape}{arr.dtype}".encode())
                    h.update(arr.tobytes())
            self._fingerprint = h.hexdigest()[:16]
        return self._fingerprint

    def weights_reassigned(self) -> None:
        """The model's weights were reassigned in place: forget what depends on their values (the fingerprint,
        the cache identity) and keep the traced functions, which read the variables."""
        self._fingerprint = None
        self._functions.pop(("cache_identity",), None)

    def describe(self, layers_used: Sequence[str] = ()) -> dict[str, Any]:
        """Model details for the report."""
        if self.preprocess_fn is not None:
            rng = f"callable: {getattr(self.preprocess_fn, '__qualname__', repr(self.preprocess_fn))} (receives [0, 255])"
        else:
            lo, hi = self.input_range  # type: ignore[misc]
            rng = f"({lo:g}, {hi:g})"
        return {
            "name": self.name,
            "source": self.source,
            "fingerprint": self.fingerprint,
            "input_shape": list(self.input_shape),
            "input_range": rng,
            "classes": self.labels,
            "output": self.head.kind,
            "logits_from": self.head.describe(),
            "params": int(self.model.count_params()),
            "layers_used": sorted(set(layers_used)),
            "layers": self._layer_summary(),
        }

    def _layer_summary(self) -> list[dict[str, Any]]:
        from .summary import summary_json

        try:
            return summary_json(self)
        except Exception:  # a summary is a courtesy: never lose an audit's record over it
            return []

    # ----- preprocessing -------------------------------------------------------------------------
    def built(self, key: Any, build: Callable[[], Any]) -> Any:
        """What is built once per wrapped model and reused by every audit of it: traced functions, the layer
        execution order, the cache identity. Keys are tuples whose first item names the owner."""
        if key not in self._functions:
            self._functions[key] = build()
        return self._functions[key]

    def preprocess(self, images01: np.ndarray) -> np.ndarray:
        """Map [0, 1] display-space images to model-input space."""
        x = np.asarray(images01, np.float32)
        if self.preprocess_fn is not None:
            return np.asarray(self.preprocess_fn(x * 255.0), np.float32)
        lo, hi = self.input_range  # type: ignore[misc]
        return (lo + x * (hi - lo)).astype(np.float32)

    def to_display(self, x_model: np.ndarray) -> np.ndarray | None:
        """Invert the preprocessing for display, or None when it is an arbitrary callable."""
        if self.preprocess_fn is not None:
            return None
        lo, hi = self.input_range  # type: ignore[misc]
        return np.clip((np.asarray(x_model, np.float32) - lo) / (hi - lo), 0.0, 1.0)

    # ----- traced passes -------------------------------------------------------------------------
    def _logits_function(self) -> Any:
        key = ("logits",)
        if key not in self._functions:
            def run(x: Any) -> Any:
                with Recorder(self.model, {}, self.head) as rec:
                    out = self.model(x, training=False)
                return out if self.head.how == "output" else rec.logits

            self._functions[key] = AnyBatch(run)
        return self._functions[key]

    def logits(self, x: np.ndarray, *, preprocessed: bool = False, batch_size: int = 64) -> np.ndarray:
        """Logits for a batch (forward passes only, batched, training=False)."""
        import tensorflow as tf

        x = np.asarray(x, np.float32) if preprocessed else self.preprocess(x)
        fn = self._logits_function()
        passes.count(forward=len(x), model=self.passes_key)
        outs = [np.asarray(fn(tf.constant(x[i : i + batch_size]))) for i in range(0, len(x), batch_size)]
        logits = np.concatenate(outs, 0) if outs else np.zeros((0, self._num_classes or 0), np.float32)
        self._check_output(logits)
        return logits

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """The model's own output activation applied to logits (softmax, sigmoid or none)."""
        from scipy.special import expit, softmax

        if self.head.kind == "softmax":
            return softmax(logits, axis=-1)
        if self.head.kind == "sigmoid":
            return expit(logits)
        return softmax(logits, axis=-1)

    def _check_output(self, logits: np.ndarray) -> None:
        if self._checked_output or self.head.how != "output" or logits.size == 0:
            return
        self._checked_output = True
        if logits.min() >= 0 and logits.max() <= 1 and np.allclose(logits.sum(-1), 1, atol=1e-3):
            warnings.warn(
                f"Model {self.name!r} outputs look like probabilities but no softmax/sigmoid layer was found; "
                "scores are taken on these outputs as if they were logits, and gradients may saturate.",
                stacklevel=3,
            )

    def _capture_function(self, paths: tuple[str, ...], score: str = "logit") -> Any:
        key = ("capture", paths, score)
        if key not in self._functions:
            import tensorflow as tf

            layers = {p: resolve_layer(self.model, p)[1] for p in paths}

            def run(x: Any, target: Any) -> Any:
                with tf.GradientTape(watch_accessed_variables=False) as tape:
                    with Recorder(self.model, layers, self.head, tape) as rec:
                        out = self.model(x, training=False)
                    logits = out if self.head.how == "output" else rec.logits
                    acts = [rec.last(p) for p in paths]
                    scores = tf.nn.log_softmax(logits, axis=-1) if score == "log_softmax" else logits
                    total = tf.reduce_sum(tf.gather(scores, target, axis=1, batch_dims=1))
                grads = tape.gradient(total, acts)
                return logits, acts, grads

            self._functions[key] = AnyBatch(run)
        return self._functions[key]

    def capture(
        self, images01: np.ndarray, layers: Sequence[str], target: int | np.ndarray, *, batch_size: int = 32,
        score: str = "logit",
    ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """Logits, activations and d(target score)/d(activation) at each layer, in batched traced passes.

        `score` is the target's logit (default) or its log-softmax (tensorflow/tcav's convention).
        """
        import tensorflow as tf

        paths = tuple(self.resolve(layer) for layer in layers)
        x = self.preprocess(images01)
        targets = np.broadcast_to(np.asarray(target, np.int32), (len(x),))
        fn = self._capture_function(paths, score)
        passes.count(backward=len(x), model=self.passes_key)
        logits, acts, grads = [], [[] for _ in paths], [[] for _ in paths]
        for i in range(0, len(x), batch_size):
            lg, a, g = fn(tf.constant(x[i : i + batch_size]), tf.constant(targets[i : i + batch_size]))
            logits.append(np.asarray(lg))
            for j in range(len(paths)):
                if g[j] is None:
                    raise LayerUnsuitableError(
                        f"The target logit of model {self.name!r} does not depend on layer {paths[j]!r} "
                        "(no gradient flows from the output to it); pick a layer on the path to the output."
                    )
                acts[j].append(np.asarray(a[j]))
                grads[j].append(np.asarray(g[j]))
        logits_arr = np.concatenate(logits, 0)
        self._check_output(logits_arr)
        return logits_arr, [np.concatenate(a, 0) for a in acts], [np.concatenate(g, 0) for g in grads]

    def _input_gradient_function(self) -> Any:
        key = ("input_gradients",)
        if key not in self._functions:
            import tensorflow as tf

            def run(x: Any, target: Any) -> Any:
                with tf.GradientTape(watch_accessed_variables=False) as tape:
                    tape.watch(x)
                    with Recorder(self.model, {}, self.head, tape) as rec:
                        out = self.model(x, training=False)
                    logits = out if self.head.how == "output" else rec.logits
                    scores = tf.gather(logits, target, axis=1, batch_dims=1)
                    total = tf.reduce_sum(scores)  # inside the tape, so the sum is recorded
                return scores, tape.gradient(total, x)

            self._functions[key] = AnyBatch(run)
        return self._functions[key]

    def input_gradients(self, x_model: np.ndarray, target: int | np.ndarray, *,
                        batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
        """Target logits and d(target logit)/d(input) for inputs already in model-input space, batched."""
        import tensorflow as tf

        x = np.asarray(x_model, np.float32)
        targets = np.broadcast_to(np.asarray(target, np.int32), (len(x),))
        fn = self._input_gradient_function()
        passes.count(backward=len(x), model=self.passes_key)
        scores, grads = [], []
        for i in range(0, len(x), batch_size):
            s, g = fn(tf.constant(x[i : i + batch_size]), tf.constant(targets[i : i + batch_size]))
            scores.append(np.asarray(s))
            grads.append(np.asarray(g))
        if not scores:
            return np.zeros(0, np.float32), np.zeros_like(x)
        return np.concatenate(scores), np.concatenate(grads)

    def _activations_function(self, paths: tuple[str, ...]) -> Any:
        key = ("activations", paths)
        if key not in self._functions:
            layers = {p: resolve_layer(self.model, p)[1] for p in paths}

            def run(x: Any) -> Any:
                with Recorder(self.model, layers) as rec:
                    self.model(x, training=False)
                return [rec.last(p) for p in paths]

            self._functions[key] = AnyBatch(run)
        return self._functions[key]

    def activations(self, images01: np.ndarray, layers: Sequence[str], *, batch_size: int = 64) -> list[np.ndarray]:
        """Activations at each layer (forward passes only), batched and traced."""
        import tensorflow as tf

        paths = tuple(self.resolve(layer) for layer in layers)
        x = self.preprocess(images01)
        fn = self._activations_function(paths)
        passes.count(forward=len(x), model=self.passes_key)
        out: list[list[np.ndarray]] = [[] for _ in paths]
        for i in range(0, len(x), batch_size):
            for j, a in enumerate(fn(tf.constant(x[i : i + batch_size]))):
                out[j].append(np.asarray(a))
        return [np.concatenate(o, 0) for o in out]

    # ----- layers -------------------------------------------------------------------------------
    def resolve(self, layer: str) -> str:
        return resolve_layer(self.model, layer)[0]

    def default_gradcam_layer(self) -> str:
        """The last spatial (H, W > 1) leaf layer before the first global pooling / flatten."""
        key = ("default_layer",)
        if key not in self._functions:
            leaves = {p: l for p, l in layer_paths(self.model) if not is_container(l)}
            with Recorder(self.model, leaves) as rec:
                self.model(np.zeros((1,) + self.input_shape, np.float32), training=False)
            candidate = None
            for path, out in rec.order:
                shape = getattr(out, "shape", None)
                if shape is None:
                    continue
                if len(shape) == 4 and shape[1] > 1 and shape[2] > 1:
                    candidate = path
                elif len(shape) < 4 and candidate is not None:
                    break
            if candidate is None:
                raise LayerUnsuitableError(
                    f"Model {self.name!r} has no spatial layer (output of shape (N, H, W, C) with H, W > 1) "
                    "for Grad-CAM; pass layer=... explicitly."
                )
            self._functions[key] = candidate
        return self._functions[key]


def load_model(
    model: Any,
    *,
    classes: Sequence[str] | str | os.PathLike | None = None,
    input_range: tuple[float, float] | None = (0.0, 1.0),
    preprocess: Preprocess | None = None,
    name: str | None = None,
    safe_mode: bool = True,
) -> ModelAdapter:
    """Wrap a keras.Model or load a .keras / .h5 file (safe mode on: no code from the file runs)."""
    if isinstance(model, ModelAdapter):
        return model
    source = None
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        source = shown_path(path)
        model = load_keras(path, safe_mode)
        name = name or path.stem
    return ModelAdapter(model, classes=classes, input_range=input_range, preprocess=preprocess, name=name, source=source)
