"""Procedural scenes for the validation suite: an object on a background, an optional corner watermark.

Pure numpy + Pillow (no TensorFlow), 32x32 RGB float32 in [0, 1], deterministic: a scene is a
``Scene`` record (object kind and pose, background kind and seed, watermark flag) and ``render``
draws it the same way every time. That is what makes the counterfactual truth possible: the very
scene an audit sees can be redrawn with another background (object kept, pixel for pixel), without
its object (background kept), or without its watermark.

* objects (``OBJECTS``): ``disc``, ``cross``, ``triangle`` -- a random-hue fill with a dark outline,
  radius 6-9 px, random position and rotation;
* backgrounds (``BACKGROUNDS``): ``snow`` (bright, nearly uniform: the case where blurring or
  averaging the region gives back almost the same pixels), ``sand`` (tan with wind ripples),
  ``grass`` (green with blades);
* watermark: a 6x6 magenta square with a white centre in the bottom-right corner (``MARK_BOX``).

``render`` returns the image and the masks ``object``, ``background`` (1 - object, less the mark when the
scene has one) and ``mark`` (the corner box, whether or not the scene has the mark).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

STARTERS = Path(__file__).resolve().parents[2] / "example_audits" / "starters"
if str(STARTERS) not in sys.path:
    sys.path.insert(0, str(STARTERS))
from starter_scenes import _lowfreq  # noqa: E402  (the smooth random field the starter scenes use too)

SIZE = 32
OBJECTS = ("disc", "cross", "triangle")
BACKGROUNDS = ("snow", "sand", "grass")
MARK_BOX = (25, 31, 25, 31)  # y0, y1, x0, x1 (the watermark's pixels)
_SS = 4  # supersampling for anti-aliased object edges


@dataclass(frozen=True)
class Scene:
    obj: str | None  # one of OBJECTS, or None (no object)
    bg: str
    bg_seed: int
    cx: float = 16.0
    cy: float = 16.0
    radius: float = 7.0
    angle: float = 0.0
    colour: tuple = (0.5, 0.2, 0.2)
    mark: bool = False


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    import colorsys

    return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v))


def background(kind: str, seed: int, size: int = SIZE) -> np.ndarray:
    """Background ``kind`` drawn from its own seed (the same seed gives the same pixels)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    if kind == "snow":
        base = np.array([0.95, 0.97, 1.0]) * rng.uniform(0.88, 0.97)
        drift = 0.035 * _lowfreq(rng, 2, size)
        img = base + drift[..., None] * np.array([1.0, 1.0, 0.8]) + rng.normal(0, 0.012, (size, size, 1))
    elif kind == "sand":
        base = np.array([0.80, 0.64, 0.40]) + rng.uniform(-0.04, 0.04, 3)
        phi, lam = rng.uniform(0, np.pi), rng.uniform(4.0, 7.0)
        wave = np.sin(2 * np.pi * (xx * np.cos(phi) + yy * np.sin(phi)) / lam + 1.5 * _lowfreq(rng, 2, size)
                      + rng.uniform(0, 2 * np.pi))
        img = base + (0.08 * wave)[..., None] * np.array([1.0, 0.9, 0.75]) + rng.normal(0, 0.02, (size, size, 1))
    elif kind == "grass":
        base = np.array([0.25, 0.50, 0.18]) + rng.uniform(-0.04, 0.04, 3)
        img = np.broadcast_to(base, (size, size, 3)).copy() + 0.05 * _lowfreq(rng, 3, size)[..., None]
        n = 90
        x0, y0 = rng.uniform(0, size, n), rng.uniform(0, size, n)
        length, ang = rng.uniform(2, 6, n), rng.normal(-np.pi / 2, 0.3, n)
        tone = rng.choice([-1.0, 1.0], n) * rng.uniform(0.08, 0.18, n)
        t = np.linspace(0, 1, 8)
        px = np.round(x0[:, None] + np.cos(ang)[:, None] * length[:, None] * t).astype(int) % size
        py = np.round(y0[:, None] + np.sin(ang)[:, None] * length[:, None] * t).astype(int) % size
        delta = np.broadcast_to(tone[:, None], px.shape)
        np.add.at(img, (py.ravel(), px.ravel()), delta.ravel()[:, None] * np.array([0.8, 1.0, 0.6]))
        img = img + rng.normal(0, 0.02, (size, size, 1))
    else:
        raise ValueError(f"unknown background {kind!r}; expected one of {BACKGROUNDS}")
    return np.clip(img, 0, 1).astype(np.float32)


def _polygon(s: Scene) -> list[list[tuple[float, float]]]:
    r, a = s.radius, s.angle
    if s.obj == "disc":
        t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
        pts = [np.stack([np.cos(t), np.sin(t)], 1)]
    elif s.obj == "triangle":
        t = np.array([-np.pi / 2, np.pi / 6, 5 * np.pi / 6])
        pts = [np.stack([np.cos(t), np.sin(t)], 1) * 1.1]
    elif s.obj == "cross":
        w = 0.36
        pts = [np.array([(-1, -w), (1, -w), (1, w), (-1, w)]), np.array([(-w, -1), (w, -1), (w, 1), (-w, 1)])]
    else:
        raise ValueError(f"unknown object {s.obj!r}; expected one of {OBJECTS}")
    c, sn = np.cos(a), np.sin(a)
    out = []
    for p in pts:
        x = s.cx + r * (c * p[:, 0] - sn * p[:, 1])
        y = s.cy + r * (sn * p[:, 0] + c * p[:, 1])
        out.append(list(zip((x * _SS).tolist(), (y * _SS).tolist())))
    return out


def _raster(polys: list, size: int = SIZE, outline: int = 0) -> np.ndarray:
    im = Image.new("L", (size * _SS, size * _SS), 0)
    dr = ImageDraw.Draw(im)
    for p in polys:
        dr.polygon(p, fill=255)
        if outline:
            dr.line(p + [p[0]], fill=255, width=outline, joint="curve")
    a = np.asarray(im, np.float32) / 255.0
    return a.reshape(size, _SS, size, _SS).mean(axis=(1, 3))


def object_layer(s: Scene, size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """(rgb, alpha) of the scene's object: its fill colour inside a 1-px dark outline."""
    if s.obj is None:
        return np.zeros((size, size, 3), np.float32), np.zeros((size, size), np.float32)
    polys = _polygon(s)
    outer = _raster(polys, size, outline=int(1.6 * _SS))
    inner = _raster(polys, size)
    rng = np.random.default_rng([int(s.cx * 1000), int(s.cy * 1000)])  # shading follows the pose
    fill = np.asarray(s.colour) * (1 + 0.06 * _lowfreq(rng, 2, size))[..., None]
    dark = np.array([0.06, 0.05, 0.05])
    rgb = inner[..., None] * fill + (1 - inner[..., None]) * dark
    return np.clip(rgb, 0, 1).astype(np.float32), outer.astype(np.float32)


def mark_layer(size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    y0, y1, x0, x1 = MARK_BOX
    rgb = np.zeros((size, size, 3), np.float32)
    alpha = np.zeros((size, size), np.float32)
    rgb[y0:y1, x0:x1] = (1.0, 0.0, 1.0)
    rgb[y0 + 2:y1 - 2, x0 + 2:x1 - 2] = (1.0, 1.0, 1.0)
    alpha[y0:y1, x0:x1] = 1.0
    return rgb, alpha


def render(s: Scene) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The scene's image and its masks: 'object', 'background' and 'mark'."""
    img = background(s.bg, s.bg_seed)
    rgb, alpha = object_layer(s)
    img = alpha[..., None] * rgb + (1 - alpha[..., None]) * img
    mrgb, malpha = mark_layer()
    background_mask = 1.0 - alpha
    if s.mark:  # the mark covers both: it belongs to neither the object nor the background
        img = malpha[..., None] * mrgb + (1 - malpha[..., None]) * img
        alpha = alpha * (1 - malpha)
        background_mask = background_mask * (1 - malpha)
    masks = {"object": alpha, "background": background_mask, "mark": malpha.copy()}
    return np.clip(img, 0, 1).astype(np.float32), masks


def sample(obj: str | None, bg: str, rng: np.random.Generator, mark: bool = False) -> Scene:
    """A random pose and colour for object ``obj`` on a fresh background ``bg``."""
    radius = float(rng.uniform(6.0, 9.0))
    m = radius + 1.5
    return Scene(obj=obj, bg=bg, bg_seed=int(rng.integers(0, 2**31 - 1)),
                 cx=float(rng.uniform(m, SIZE - m)), cy=float(rng.uniform(m, SIZE - m)), radius=radius,
                 angle=float(rng.uniform(-np.pi, np.pi)),
                 colour=tuple(float(c) for c in _hsv(rng.uniform(), rng.uniform(0.55, 0.95), rng.uniform(0.45, 0.85))),
                 mark=mark)


def batch(scenes: list[Scene]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Images [N, 32, 32, 3] and stacked masks {name: [N, 32, 32]}."""
    out = [render(s) for s in scenes]
    x = np.stack([o[0] for o in out]) if out else np.zeros((0, SIZE, SIZE, 3), np.float32)
    masks = {k: np.stack([o[1][k] for o in out]) for k in ("object", "background", "mark")} if out else {}
    return x, masks


def swap_background(s: Scene, bg: str, rng: np.random.Generator) -> Scene:
    """The same object (pose, colour) on a fresh background of another kind."""
    return replace(s, bg=bg, bg_seed=int(rng.integers(0, 2**31 - 1)))


def without_object(s: Scene) -> Scene:
    return replace(s, obj=None)


def without_mark(s: Scene) -> Scene:
    return replace(s, mark=False)


def with_mark(s: Scene) -> Scene:
    return replace(s, mark=True)
