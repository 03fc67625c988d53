"""Capture any layer's output (and the logits) by intercepting layer calls.

No sub-model is built, so this works for Sequential models without an Input, Functional models
and models nesting other models as layers. Patches are instance attributes removed in `finally`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import LayerNotFoundError, closest


def layer_paths(model: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """All layers with '/'-joined paths, recursing into nested models (containers listed too)."""
    out: list[tuple[str, Any]] = []
    for layer in getattr(model, "layers", []):
        path = prefix + layer.name
        out.append((path, layer))
        if is_container(layer):
            out.extend(layer_paths(layer, path + "/"))
    return out


def is_container(layer: Any) -> bool:
    return bool(getattr(layer, "layers", None))


def resolve_layer(model: Any, name: str | int) -> tuple[str, Any]:
    """Find a layer by path ('backbone/block_3_relu'), by a unique bare name, or by role ('last_conv',
    'conv:-2', an index into the flattened layer list: core/model/roles.py)."""
    from .roles import by_role, is_role

    paths = layer_paths(model)
    for path, layer in paths:
        if path == name:
            return path, layer
    if is_role(name):
        return by_role(model, name, paths)
    if not isinstance(name, str):
        raise LayerNotFoundError(f"A layer is a name, a path, a role such as 'last_conv' or 'conv:-2', or an "
                                 f"index; got {name!r}.")
    bare = [(p, l) for p, l in paths if p.rsplit("/", 1)[-1] == name]
    if len(bare) == 1:
        return bare[0]
    if len(bare) > 1:
        raise LayerNotFoundError(
            f"Layer name {name!r} is ambiguous in model {model.name!r}; use a full path: "
            + ", ".join(repr(p) for p, _ in bare)
        )
    raise LayerNotFoundError(
        f"Model {model.name!r} has no layer {name!r}." + closest(name, [p for p, _ in paths])
    )


@dataclass(frozen=True)
class Head:
    """How the logits are read: the output itself, a layer's input, or an activation's input."""

    kind: str  # softmax | sigmoid | linear
    path: str | None  # layer whose input / activation input holds the logits
    how: str  # "output" | "layer_input" | "activation_input"

    def describe(self) -> str:
        if self.how == "output":
            return "model output (no output activation found)"
        if self.how == "layer_input":
            return f"input of output layer {self.path!r} ({self.kind})"
        return f"input of the {self.kind} activation of layer {self.path!r}"


def _activation_name(fn: Any) -> str:
    return getattr(fn, "__name__", type(fn).__name__).lower()


def find_head(model: Any) -> Head:
    """Locate the output activation in any of its forms (Dense activation, Activation, Softmax)."""
    import keras

    path, layer = "", model
    while is_container(layer):
        last = layer.layers[-1]
        path = f"{path}/{last.name}" if path else last.name
        layer = last
    if isinstance(layer, keras.layers.Softmax):
        return Head("softmax", path, "layer_input")
    if isinstance(layer, keras.layers.Activation):
        name = _activation_name(layer.activation)
        if name in ("softmax", "sigmoid"):
            return Head(name, path, "layer_input")
        return Head("linear", None, "output")
    name = _activation_name(getattr(layer, "activation", None))
    if name in ("softmax", "sigmoid"):
        return Head(name, path, "activation_input")
    return Head("linear", None, "output")


class Recorder:
    """Context manager that records chosen layers' outputs (and the logits) during a forward pass."""

    def __init__(self, model: Any, layers: dict[str, Any], head: Head | None = None, tape: Any = None):
        self.model = model
        self.layers = layers
        self.head = head
        self.tape = tape
        self.outputs: dict[str, list[Any]] = {p: [] for p in layers}
        self.order: list[tuple[str, Any]] = []
        self.logits: Any = None
        self._undo: list[Any] = []

    def _wrap_call(self, path: str, layer: Any) -> None:
        original = layer.call
        had_own = "call" in vars(layer)

        def call(*args: Any, **kwargs: Any) -> Any:
            out = original(*args, **kwargs)
            if self.tape is not None:
                self.tape.watch(out)
            self.outputs[path].append(out)
            self.order.append((path, out))
            return out

        layer.call = call
        self._undo.append(lambda: setattr(layer, "call", original) if had_own else delattr(layer, "call"))

    def _wrap_head(self, head: Head) -> None:
        _, layer = resolve_layer(self.model, head.path) if head.path else (None, None)
        if head.how == "layer_input":
            original = layer.call
            had_own = "call" in vars(layer)

            def call(inputs: Any, *args: Any, **kwargs: Any) -> Any:
                if self.tape is not None:
                    self.tape.watch(inputs)
                self.logits = inputs
                return original(inputs, *args, **kwargs)

            layer.call = call
            self._undo.append(lambda: setattr(layer, "call", original) if had_own else delattr(layer, "call"))
        elif head.how == "activation_input":
            original_act = layer.activation

            def activation(z: Any) -> Any:
                if self.tape is not None:
                    self.tape.watch(z)
                self.logits = z
                return original_act(z)

            layer.activation = activation
            self._undo.append(lambda: setattr(layer, "activation", original_act))

    def __enter__(self) -> Recorder:
        try:
            for path, layer in self.layers.items():
                self._wrap_call(path, layer)
            if self.head is not None:
                self._wrap_head(self.head)
        except BaseException:
            self._restore()
            raise
        return self

    def _restore(self) -> None:
        while self._undo:
            self._undo.pop()()

    def __exit__(self, *exc: Any) -> None:
        self._restore()

    def last(self, path: str) -> Any:
        """The layer's output from its last call in the pass (shared layers are called more than once)."""
        calls = self.outputs[path]
        if not calls:
            raise LayerNotFoundError(f"Layer {path!r} was not called during the forward pass.")
        return calls[-1]
