"""Layers by role: "last_conv", "conv:-2" (the second-to-last layer of that type), or an index into the
flattened layer list, so one claim runs on two trainings whose layers got other auto-generated names."""
from __future__ import annotations

import re
from typing import Any

from ...errors import LayerNotFoundError

# A family name matches these Keras class names (a type that is no family matches its class name exactly).
FAMILIES: dict[str, tuple[str, ...]] = {
    "conv": ("Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D",
             "SeparableConv2D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"),
    "pool": ("MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D",
             "AveragePooling3D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
             "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D"),
    "dense": ("Dense", "EinsumDense"),
    "activation": ("Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax"),
    "norm": ("BatchNormalization", "LayerNormalization", "GroupNormalization", "UnitNormalization"),
}
ALIASES = {"last_conv": "conv:-1", "first_conv": "conv:0"}
_TYPED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):(-?\d+)$")
_INDEX = re.compile(r"^-?\d+$")


def leaves(paths: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The flattened layer list: every layer that is not a container or an input, nested models included."""
    return [(p, l) for p, l in paths if not getattr(l, "layers", None) and type(l).__name__ != "InputLayer"]


def is_role(spec: object) -> bool:
    """Whether `spec` names a layer by role or index rather than by name."""
    if isinstance(spec, int) and not isinstance(spec, bool):
        return True
    return isinstance(spec, str) and (spec in ALIASES or bool(_TYPED.match(spec)) or bool(_INDEX.match(spec)))


def by_role(model: Any, spec: str | int, paths: list[tuple[str, Any]]) -> tuple[str, Any]:
    """The layer `spec` names by role or index; a clear error naming what the model has when none matches."""
    flat = leaves(paths)
    spec = ALIASES.get(spec, spec) if isinstance(spec, str) else spec
    if isinstance(spec, int) or _INDEX.match(str(spec)):
        return _pick(flat, int(spec), f"layer index {spec}", f"the model's {len(flat)} layers (inputs and nested "
                     "models not counted)", model)
    kind, index = _TYPED.match(str(spec)).groups()  # type: ignore[union-attr]
    names = FAMILIES.get(kind.lower())
    if names is not None:
        matching = [(p, l) for p, l in flat if type(l).__name__ in names]
    else:
        matching = [(p, l) for p, l in flat if type(l).__name__.lower() == kind.lower()]
    if not matching:
        present = sorted({type(l).__name__ for _, l in flat})
        raise LayerNotFoundError(
            f"Model {model.name!r} has no layer of type {kind!r} (for {spec!r}). Types are families "
            f"({', '.join(FAMILIES)}) or Keras class names; this model has: {', '.join(present)}.")
    return _pick(matching, int(index), repr(spec), f"its {len(matching)} {kind} layers "
                 f"({', '.join(p for p, _ in matching)})", model)


def _pick(items: list[tuple[str, Any]], i: int, what: str, among: str, model: Any) -> tuple[str, Any]:
    if not -len(items) <= i < len(items):
        raise LayerNotFoundError(f"{what} is out of range in model {model.name!r}: it has {among}; "
                                 f"give an index from {-len(items)} to {len(items) - 1}.")
    return items[i]
