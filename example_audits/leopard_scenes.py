"""Procedural "leopard on snow" scenes: three animals on three textured backgrounds.

Pure numpy (no TensorFlow), deterministic given a ``numpy.random.Generator``. Used by
``make_leopard_models.py`` (training data and the shipped audit images) and by
``tests/test_example_ground_truth.py`` (fresh scenes to measure what the models really do).

A scene is ``background`` composited with an ``animal`` layer through the animal's soft
(anti-aliased) body mask ``alpha``::

    image = alpha * animal_rgb + (1 - alpha) * background      # all float32 in [0, 1]

so the same animal can be put on any background (``compose``), and the background region of a
scene is exactly ``1 - alpha``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

SIZE = 64                     # images are SIZE x SIZE x 3, float32 in [0, 1]
CLASSES = ("leopard", "fox", "camel")           # model output order
BACKGROUNDS = ("snow", "sand", "grass")
_SS = 2                       # supersampling factor for anti-aliased animal edges


# --------------------------------------------------------------------------- utilities

def _lowfreq(rng: np.random.Generator, cells: int, size: int = SIZE) -> np.ndarray:
    """Smooth random field in [-1, 1] (a cells x cells grid bilinearly upsampled)."""
    grid = rng.uniform(-1.0, 1.0, size=(cells + 1, cells + 1))
    pos = np.linspace(0.0, cells, size)
    i0 = np.clip(np.floor(pos).astype(int), 0, cells - 1)
    t = pos - i0
    rows = grid[i0] * (1 - t)[:, None] + grid[i0 + 1] * t[:, None]          # (size, cells+1)
    out = rows[:, i0] * (1 - t)[None, :] + rows[:, i0 + 1] * t[None, :]     # (size, size)
    return out


def _clip01(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0.0, 1.0).astype(np.float32)


# --------------------------------------------------------------------------- backgrounds

def background(kind: str, rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """A textured background ``kind`` in {'snow', 'sand', 'grass'}: float32 (size, size, 3)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    if kind == "snow":
        # bright white / blue-grey, soft drift shadows, fine grain
        b = rng.uniform(0.86, 0.97)
        base = np.array([0.95, 0.97, 1.0]) * b
        shade = np.array([0.70, 0.76, 0.86])
        drift = np.clip(0.5 + 0.6 * _lowfreq(rng, int(rng.integers(2, 5)), size), 0, 1)
        w = 0.45 * drift[..., None] * rng.uniform(0.4, 1.0)
        img = (1 - w) * base + w * shade
        img = img + rng.normal(0, 0.035, size=(size, size, 1)) + rng.normal(0, 0.01, size=(size, size, 3))
    elif kind == "sand":
        # tan with wind ripples (a sine wave warped by a smooth field)
        base = np.array([0.82, 0.68, 0.47]) + rng.uniform(-0.05, 0.05, size=3)
        phi = rng.uniform(0, np.pi)
        lam = rng.uniform(5.0, 9.0)
        warp = 2.0 * _lowfreq(rng, 3, size)
        wave = np.sin(2 * np.pi * (xx * np.cos(phi) + yy * np.sin(phi)) / lam + warp + rng.uniform(0, 2 * np.pi))
        img = base + (0.055 * wave)[..., None] * np.array([1.0, 0.95, 0.85])
        img = img + 0.04 * _lowfreq(rng, 2, size)[..., None]
        img = img + rng.normal(0, 0.022, size=(size, size, 1))
    elif kind == "grass":
        # green with many short, near-vertical blades, lighter and darker
        base = np.array([0.27, 0.52, 0.20]) + rng.uniform(-0.05, 0.05, size=3)
        img = np.broadcast_to(base, (size, size, 3)).copy()
        img += 0.06 * _lowfreq(rng, 3, size)[..., None]
        n = 260
        x0 = rng.uniform(0, size, n)
        y0 = rng.uniform(0, size, n)
        length = rng.uniform(3, 9, n)
        ang = rng.normal(-np.pi / 2, 0.3, n)
        tone = rng.choice([-1.0, 1.0], n) * rng.uniform(0.06, 0.16, n)
        t = np.linspace(0, 1, 10)
        px = np.round(x0[:, None] + np.cos(ang)[:, None] * length[:, None] * t).astype(int) % size
        py = np.round(y0[:, None] + np.sin(ang)[:, None] * length[:, None] * t).astype(int) % size
        delta = np.broadcast_to(tone[:, None], px.shape)
        np.add.at(img, (py.ravel(), px.ravel()), (delta.ravel()[:, None] * np.array([0.8, 1.0, 0.6])))
        img = img + rng.normal(0, 0.02, size=(size, size, 1))
    else:
        raise ValueError(f"unknown background {kind!r}; expected one of {BACKGROUNDS}")
    return _clip01(img)


# --------------------------------------------------------------------------- animals

@dataclass(frozen=True)
class Animal:
    """Everything needed to redraw one animal identically (pose, size, colours, texture)."""
    kind: str
    cx: float
    cy: float
    scale: float          # pixels per body unit (the animal is about 2.2 units long)
    angle: float          # radians
    flip: bool
    colour: tuple         # main coat colour
    seed: int             # texture (spots, grain) seed
    opacity: float = 1.0  # < 1 draws a faded, low-contrast animal (used only in shortcut training)


def sample_animal(kind: str, rng: np.random.Generator, size: int = SIZE, opacity: float = 1.0) -> Animal:
    """Random pose/size/colour for an animal of class ``kind``."""
    if kind not in CLASSES:
        raise ValueError(f"unknown animal {kind!r}; expected one of {CLASSES}")
    scale = rng.uniform(15.5, 20.0)
    mx, my = 1.1 * scale, 0.8 * scale
    cx = rng.uniform(mx, size - mx)
    cy = rng.uniform(my, size - my)
    base = {"leopard": (0.90, 0.72, 0.28), "fox": (0.92, 0.45, 0.10), "camel": (0.52, 0.35, 0.19)}[kind]
    colour = tuple(float(np.clip(c + rng.uniform(-0.06, 0.06), 0, 1)) for c in base)
    return Animal(kind=kind, cx=float(cx), cy=float(cy), scale=float(scale),
                  angle=float(rng.uniform(-0.3, 0.3)), flip=bool(rng.integers(0, 2)),
                  colour=colour, seed=int(rng.integers(0, 2**31 - 1)), opacity=float(opacity))


def _seg(u, v, p, q, r):
    """Thick line segment (capsule) from p to q, radius r."""
    px, py = p
    qx, qy = q
    dx, dy = qx - px, qy - py
    t = np.clip(((u - px) * dx + (v - py) * dy) / (dx * dx + dy * dy), 0, 1)
    return (u - px - t * dx) ** 2 + (v - py - t * dy) ** 2 <= r * r


def _ell(u, v, c, a, b, rot=0.0):
    cu, cv = u - c[0], v - c[1]
    if rot:
        cs, sn = np.cos(rot), np.sin(rot)
        cu, cv = cs * cu + sn * cv, -sn * cu + cs * cv
    return (cu / a) ** 2 + (cv / b) ** 2 <= 1.0


def _tri(u, v, a, b, c):
    def side(p, q):
        return (q[0] - p[0]) * (v - p[1]) - (q[1] - p[1]) * (u - p[0])
    s1, s2, s3 = side(a, b), side(b, c), side(c, a)
    return ((s1 >= 0) & (s2 >= 0) & (s3 >= 0)) | ((s1 <= 0) & (s2 <= 0) & (s3 <= 0))


def _draw(a: Animal, u, v, rng: np.random.Generator):
    """Return (mask, rgb) on the (supersampled) grid in local body coordinates u (forward), v (down)."""
    col = np.array(a.colour)
    shape = u.shape
    rgb = np.broadcast_to(col, shape + (3,)).copy()
    if a.kind == "leopard":
        body = _ell(u, v, (0.0, 0.0), 0.72, 0.31)
        head = _ell(u, v, (0.8, -0.17), 0.23, 0.21)
        ears = _ell(u, v, (0.74, -0.36), 0.07, 0.07) | _ell(u, v, (0.92, -0.35), 0.07, 0.07)
        legs = (_seg(u, v, (0.45, 0.1), (0.50, 0.62), 0.09) | _seg(u, v, (0.30, 0.1), (0.28, 0.62), 0.09)
                | _seg(u, v, (-0.45, 0.1), (-0.52, 0.62), 0.095) | _seg(u, v, (-0.30, 0.1), (-0.33, 0.62), 0.095))
        tail = _seg(u, v, (-0.65, -0.05), (-0.98, 0.12), 0.055) | _seg(u, v, (-0.98, 0.12), (-1.12, -0.18), 0.05)
        mask = body | head | ears | legs | tail
        belly = _ell(u, v, (0.0, 0.2), 0.55, 0.11)
        rgb[belly] = 0.5 * rgb[belly] + 0.5 * np.array([0.97, 0.92, 0.78])
        # rosettes: dark rings with a slightly darker centre, scattered over the coat
        n = 38
        su = rng.uniform(-1.05, 1.0, n)
        sv = rng.uniform(-0.45, 0.6, n)
        sr = rng.uniform(0.055, 0.085, n)
        dark = np.array([0.16, 0.11, 0.05])
        inside = mask & ~belly
        pu, pv = u[inside], v[inside]
        rel = np.sqrt((pu[:, None] - su) ** 2 + (pv[:, None] - sv) ** 2) / sr    # (pixels, spots)
        near = rel.min(axis=1)
        sub = rgb[inside]
        sub[(near <= 1.0) & (near >= 0.45)] = dark
        sub[near < 0.45] *= 0.75
        rgb[inside] = sub
    elif a.kind == "fox":
        body = _ell(u, v, (0.0, 0.05), 0.6, 0.27)
        head = _ell(u, v, (0.72, -0.18), 0.2, 0.17)
        snout = _tri(u, v, (0.80, -0.28), (0.80, -0.06), (1.13, -0.12))
        ears = (_tri(u, v, (0.58, -0.24), (0.72, -0.28), (0.62, -0.62))
                | _tri(u, v, (0.74, -0.28), (0.88, -0.24), (0.84, -0.62)))
        legs = (_seg(u, v, (0.38, 0.1), (0.42, 0.55), 0.07) | _seg(u, v, (0.24, 0.1), (0.22, 0.55), 0.07)
                | _seg(u, v, (-0.38, 0.1), (-0.44, 0.55), 0.075) | _seg(u, v, (-0.24, 0.1), (-0.26, 0.55), 0.075))
        tail = _ell(u, v, (-0.82, -0.12), 0.42, 0.18, rot=-0.45)
        mask = body | head | snout | ears | legs | tail
        white = np.array([0.97, 0.95, 0.92])
        chest = _ell(u, v, (0.45, 0.08), 0.2, 0.14) | _ell(u, v, (0.85, -0.05), 0.22, 0.06)
        tip = _ell(u, v, (-1.14, -0.27), 0.13, 0.1, rot=-0.45)
        rgb[chest | (tip & mask)] = white
        socks = legs & (v > 0.32)
        rgb[socks] = np.array([0.12, 0.08, 0.06])
        ear_in = ears & (v < -0.45)
        rgb[ear_in] = np.array([0.15, 0.1, 0.08])
        rgb[_ell(u, v, (0.79, -0.2), 0.03, 0.03)] = 0.05          # eye
        rgb[_ell(u, v, (1.1, -0.12), 0.035, 0.035)] = 0.05          # nose
    else:  # camel
        body = _ell(u, v, (0.0, -0.02), 0.6, 0.28)
        humps = _ell(u, v, (-0.24, -0.24), 0.21, 0.22) | _ell(u, v, (0.2, -0.24), 0.2, 0.22)
        neck = _seg(u, v, (0.45, -0.05), (0.78, -0.55), 0.1)
        head = _ell(u, v, (0.9, -0.58), 0.2, 0.09, rot=0.2)
        legs = (_seg(u, v, (0.42, 0.1), (0.44, 0.88), 0.068) | _seg(u, v, (0.28, 0.1), (0.25, 0.88), 0.068)
                | _seg(u, v, (-0.42, 0.1), (-0.46, 0.88), 0.072) | _seg(u, v, (-0.28, 0.1), (-0.28, 0.88), 0.072))
        tail = _seg(u, v, (-0.56, -0.05), (-0.68, 0.3), 0.035)
        mask = body | humps | neck | head | legs | tail
        # darker shading on the lower body / legs, lighter on the humps
        rgb = rgb * (1.0 - 0.18 * np.clip(v, 0, 1))[..., None]
        rgb[humps] = np.clip(rgb[humps] * 1.12, 0, 1)
        knees = legs & ((np.abs(v - 0.5) < 0.05))
        rgb[knees] *= 0.7
        rgb[_ell(u, v, (0.98, -0.62), 0.03, 0.03)] = 0.05            # eye
    return mask, rgb


def render_animal(a: Animal, size: int = SIZE):
    """(rgb, alpha): animal colours float32 (size, size, 3) and soft body mask float32 (size, size)."""
    rng = np.random.default_rng(a.seed)
    # only the animal's bounding window is rasterised (the animal spans < 1.2 units from its centre)
    r = int(np.ceil(1.2 * a.scale)) + 1
    x0, x1 = max(0, int(a.cx) - r), min(size, int(a.cx) + r + 1)
    y0, y1 = max(0, int(a.cy) - r), min(size, int(a.cy) + r + 1)
    w, h = x1 - x0, y1 - y0
    yy, xx = np.mgrid[0:h * _SS, 0:w * _SS].astype(np.float64)
    xx = x0 + (xx + 0.5) / _SS
    yy = y0 + (yy + 0.5) / _SS
    dx, dy = xx - a.cx, yy - a.cy
    cs, sn = np.cos(a.angle), np.sin(a.angle)
    u = (cs * dx + sn * dy) / a.scale
    v = (-sn * dx + cs * dy) / a.scale
    if a.flip:
        u = -u
    mask, rgb = _draw(a, u, v, rng)
    # fur grain and a little top-lit shading
    rgb = rgb * (1.0 + rng.normal(0, 0.05, size=rgb.shape[:2] + (1,)))
    rgb = rgb * (1.05 - 0.1 * np.clip(v + 0.5, 0, 1))[..., None]
    m = mask.astype(np.float64)
    # downsample: alpha = coverage; colour = coverage-weighted mean
    m4 = m.reshape(h, _SS, w, _SS)
    cnt = m4.sum(axis=(1, 3))
    wsum = (rgb * m[..., None]).reshape(h, _SS, w, _SS, 3).sum(axis=(1, 3))
    alpha = np.zeros((size, size), np.float64)
    col = np.zeros((size, size, 3), np.float64)
    alpha[y0:y1, x0:x1] = cnt / (_SS * _SS)
    col[y0:y1, x0:x1] = np.where(cnt[..., None] > 0, wsum / np.maximum(cnt[..., None], 1e-9), 0.0)
    return _clip01(col), (alpha * a.opacity).astype(np.float32)


def compose(bg: np.ndarray, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Alpha-composite an animal layer onto a background."""
    a = alpha[..., None]
    return _clip01(a * rgb + (1.0 - a) * bg)


def render_scene(kind: str, bg_kind: str, rng: np.random.Generator, opacity: float = 1.0):
    """One scene: returns (image float32 (64,64,3), body mask float32 (64,64) in [0,1], Animal).

    The body mask is the animal's coverage (independent of ``opacity``); the background
    region is ``1 - body``.
    """
    a = sample_animal(kind, rng, opacity=opacity)
    bg = background(bg_kind, rng)
    rgb, alpha = render_animal(a)
    body = alpha / a.opacity if a.opacity > 0 else alpha
    return compose(bg, rgb, alpha), body.astype(np.float32), a


def swap_background(a: Animal, bg_kind: str, rng: np.random.Generator) -> np.ndarray:
    """The very same animal drawn on a fresh background of kind ``bg_kind`` (full opacity)."""
    rgb, alpha = render_animal(replace(a, opacity=1.0))
    return compose(background(bg_kind, rng), rgb, alpha)


def batch(classes, bgs, rng: np.random.Generator, opacity=1.0):
    """Render a batch. ``classes``/``bgs``: sequences of names (same length);
    ``opacity``: scalar or per-image sequence. Returns (x [N,64,64,3], y [N] class ids, body [N,64,64], animals)."""
    n = len(classes)
    op = np.broadcast_to(np.asarray(opacity, dtype=float), (n,))
    xs, ms, animals = [], [], []
    for c, b, o in zip(classes, bgs, op):
        x, m, a = render_scene(c, b, rng, opacity=float(o))
        xs.append(x)
        ms.append(m)
        animals.append(a)
    y = np.array([CLASSES.index(c) for c in classes], dtype=np.int64)
    return np.stack(xs), y, np.stack(ms), animals


def to_uint8(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, 0, 1) * 255.0).astype(np.uint8)
