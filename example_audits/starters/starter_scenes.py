"""Procedural "starter creatures", colour-concept patches and random images (32x32 RGB in [0, 1]).

Pure numpy + Pillow (no TensorFlow), deterministic given a ``numpy.random.Generator``. Used by
``make_starter_model.py`` (training data and the shipped concept folders) and by
``tests/test_starter_ground_truth.py`` (fresh creatures, recoloured, to measure what the model
really does).

Three creature classes, each with its own colour AND its own shape:

* ``hibany``   -- red: a round body, a head with pointed ears, a tail ending in a flame; white
  belly, muzzle and flame (red and white);
* ``messon``   -- blue: a long rounded aquatic body with a forked tail fin, a dorsal fin and a
  side fin, a paler blue belly;
* ``sarunori`` -- green: an upright pear-shaped body, a round head with a tuft of leaves, arms and
  a curly tail, a paler green face.

They stand on neutral ground (grey / brown / dusty noise with pebbles and twigs). Every class
(messon included) also gets, with the same probability, a few small class-independent
*props*: green grass tufts and yellow or white flowers. So "some green somewhere" says nothing about
the class; a green *creature* does. The example's claims (``hibany`` depends on red, ``sarunori``
on green, ``messon`` not on green) are measured on the trained model by
``tests/test_starter_ground_truth.py``, not assumed from this design.

A creature is drawn as colour *roles* (``"red"``, ``"white"``, ``"blue"``, ``"green"``,
``"black"``): ``render`` returns the image and one soft mask per role, so the ground-truth test
can recolour exactly the red parts of a hibany (``recolour``) or put green on a messon's
surroundings (``add_green_props``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

SIZE = 32                                   # images are SIZE x SIZE x 3, float32 in [0, 1]
CLASSES = ("hibany", "messon", "sarunori")  # model output order
COLOURS = ("red", "blue", "green", "white", "yellow", "black")   # concept folders
MAIN_COLOUR = {"hibany": "red", "messon": "blue", "sarunori": "green"}
_SS = 4                                     # supersampling factor for anti-aliased shapes

# (hue range, saturation range, value range) in HSV, hue in [0, 1). Red wraps around 0.
HSV_RANGES = {
    "red":    ((-0.025, 0.025), (0.72, 1.00), (0.62, 1.00)),
    "blue":   ((0.57, 0.67), (0.60, 1.00), (0.55, 1.00)),
    "green":  ((0.26, 0.38), (0.60, 1.00), (0.50, 0.95)),
    "yellow": ((0.12, 0.17), (0.70, 1.00), (0.80, 1.00)),
    "white":  ((0.00, 1.00), (0.00, 0.10), (0.86, 1.00)),
    "black":  ((0.00, 1.00), (0.00, 0.50), (0.00, 0.16)),
}
HUES = {"red": 0.0, "blue": 0.62, "green": 0.32, "yellow": 0.145}


# --------------------------------------------------------------------------- colour utilities

def hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    """Vectorised HSV -> RGB, last axis (h, s, v), all in [0, 1] (h wraps)."""
    hsv = np.asarray(hsv, np.float64)
    h = np.mod(hsv[..., 0], 1.0) * 6.0
    s = np.clip(hsv[..., 1], 0, 1)
    v = np.clip(hsv[..., 2], 0, 1)
    i = np.floor(h).astype(int) % 6
    f = h - np.floor(h)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    r = np.choose(i, [v, q, p, p, t, v])
    g = np.choose(i, [t, v, v, q, p, p])
    b = np.choose(i, [p, p, t, v, v, q])
    return np.stack([r, g, b], axis=-1)


def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """Vectorised RGB -> HSV (inverse of ``hsv_to_rgb``)."""
    rgb = np.asarray(rgb, np.float64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    mx = rgb.max(axis=-1)
    mn = rgb.min(axis=-1)
    d = mx - mn
    safe = np.where(d > 0, d, 1.0)
    h = np.where(mx == r, (g - b) / safe % 6, np.where(mx == g, (b - r) / safe + 2, (r - g) / safe + 4)) / 6.0
    h = np.where(d > 0, h, 0.0)
    s = np.where(mx > 0, d / np.where(mx > 0, mx, 1.0), 0.0)
    return np.stack([np.mod(h, 1.0), s, mx], axis=-1)


def sample_colour(name: str, rng: np.random.Generator) -> np.ndarray:
    """One RGB colour drawn uniformly from the HSV box of colour ``name``."""
    (h0, h1), (s0, s1), (v0, v1) = HSV_RANGES[name]
    return hsv_to_rgb(np.array([rng.uniform(h0, h1), rng.uniform(s0, s1), rng.uniform(v0, v1)]))


def _shade(rgb: np.ndarray, k: float) -> np.ndarray:
    """Darker (k < 1) or lighter (k > 1: towards white) version of a colour."""
    rgb = np.asarray(rgb, np.float64)
    return rgb * k if k <= 1 else rgb + (1 - rgb) * (k - 1)


def _lowfreq(rng: np.random.Generator, cells: int, size: int = SIZE) -> np.ndarray:
    """Smooth random field in [-1, 1] (a cells x cells grid bilinearly upsampled)."""
    grid = rng.uniform(-1.0, 1.0, size=(cells + 1, cells + 1))
    pos = np.linspace(0.0, cells, size)
    i0 = np.clip(np.floor(pos).astype(int), 0, cells - 1)
    t = pos - i0
    rows = grid[i0] * (1 - t)[:, None] + grid[i0 + 1] * t[:, None]
    return rows[:, i0] * (1 - t)[None, :] + rows[:, i0 + 1] * t[None, :]


def _clip01(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0.0, 1.0).astype(np.float32)


def to_uint8(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, 0, 1) * 255.0).astype(np.uint8)


# --------------------------------------------------------------------------- shape rasteriser

class _Canvas:
    """Anti-aliased masks for polygons / thick polylines given in image pixel coordinates."""

    def __init__(self, size: int = SIZE):
        self.size = size

    def _new(self):
        im = Image.new("L", (self.size * _SS, self.size * _SS), 0)
        return im, ImageDraw.Draw(im)

    def _done(self, im) -> np.ndarray:
        a = np.asarray(im, np.float32) / 255.0
        return a.reshape(self.size, _SS, self.size, _SS).mean(axis=(1, 3))

    def polygons(self, polys, lines=()) -> np.ndarray:
        im, dr = self._new()
        for p in polys:
            dr.polygon([(x * _SS, y * _SS) for x, y in p], fill=255)
        for pts, width in lines:
            w = max(1, int(round(width * _SS)))
            pts = [(x * _SS, y * _SS) for x, y in pts]
            dr.line(pts, fill=255, width=w, joint="curve")
            r = w / 2
            for x, y in (pts[0], pts[-1]):
                dr.ellipse([x - r, y - r, x + r, y + r], fill=255)
        return self._done(im)


def _ellipse(cx, cy, a, b, rot=0.0, n=28):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    x, y = a * np.cos(t), b * np.sin(t)
    c, s = np.cos(rot), np.sin(rot)
    return np.stack([cx + c * x - s * y, cy + s * x + c * y], axis=1)


def _leaf(x0, y0, ang, length, width, n=14):
    """A pointed leaf from (x0, y0) in direction ang."""
    t = np.linspace(0, 1, n)
    half = width * np.sin(np.pi * t) ** 0.8
    u = np.concatenate([t, t[::-1]]) * length
    v = np.concatenate([half, -half[::-1]])
    c, s = np.cos(ang), np.sin(ang)
    return np.stack([x0 + c * u - s * v, y0 + s * u + c * v], axis=1)


def _curve(points, n=12):
    """Quadratic Bezier through three control points."""
    p0, p1, p2 = (np.asarray(p, float) for p in points)
    t = np.linspace(0, 1, n)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t ** 2 * p2


# --------------------------------------------------------------------------- creatures

@dataclass(frozen=True)
class Creature:
    """Everything needed to redraw one creature identically (pose, size, colours, texture)."""
    kind: str
    cx: float
    cy: float
    scale: float       # pixels per body unit (a creature is about 2 units across)
    angle: float       # radians
    flip: bool
    main: tuple        # main colour (red / blue / green)
    accent: tuple      # second colour (white for hibany, a paler main colour otherwise)
    seed: int          # texture seed


def sample_creature(kind: str, rng: np.random.Generator, size: int = SIZE) -> Creature:
    """Random pose, size and colour (within the class hue) for a creature of class ``kind``."""
    if kind not in CLASSES:
        raise ValueError(f"unknown creature {kind!r}; expected one of {CLASSES}")
    scale = rng.uniform(5.2, 7.4)
    m = 1.05 * scale
    cx = rng.uniform(m, size - m)
    cy = rng.uniform(m, size - m)
    main = sample_colour(MAIN_COLOUR[kind], rng)
    if kind == "hibany":
        accent = sample_colour("white", rng)
    else:
        accent = _shade(main, rng.uniform(1.35, 1.55))     # paler belly / face, same hue
    return Creature(kind=kind, cx=float(cx), cy=float(cy), scale=float(scale),
                    angle=float(rng.uniform(-0.35, 0.35)), flip=bool(rng.integers(0, 2)),
                    main=tuple(float(c) for c in main), accent=tuple(float(c) for c in accent),
                    seed=int(rng.integers(0, 2**31 - 1)))


def _geometry(kind: str, rng: np.random.Generator):
    """Parts in body units: list of (role, polygons, lines). Roles: 'main', 'accent', 'dark', 'eye'."""
    j = lambda s=0.06: rng.uniform(-s, s)     # noqa: E731  small shape jitter
    if kind == "hibany":
        tail = _curve([(0.45, 0.35), (1.15 + j(), 0.25 + j()), (0.95 + j(), -0.55 + j())])
        tip = tail[-1]
        flame = _leaf(tip[0], tip[1] + 0.1, -np.pi / 2 + j(0.3), 0.55 + j(), 0.2)
        body = _ellipse(0.05, 0.25, 0.55 + j(), 0.5 + j())
        head = _ellipse(-0.45, -0.4, 0.4 + j(0.04), 0.36 + j(0.04))
        ears = [np.array([(-0.75, -0.55), (-0.82 + j(), -1.05 + j()), (-0.52, -0.68)]),
                np.array([(-0.38, -0.72), (-0.18 + j(), -1.1 + j()), (-0.12, -0.55)])]
        legs = [_ellipse(-0.25, 0.75, 0.16, 0.1), _ellipse(0.35, 0.75, 0.16, 0.1)]
        return [
            ("main", [body, head, *ears, *legs], [(tail, 0.2)]),
            ("accent", [_ellipse(0.0, 0.35, 0.3, 0.3), _ellipse(-0.72, -0.3, 0.16, 0.12), flame], []),
            ("eye", [_ellipse(-0.52, -0.48, 0.08, 0.09)], []),
        ]
    if kind == "messon":
        body = _ellipse(-0.05, 0.0, 0.82 + j(), 0.42 + j())
        tail = np.array([(0.62, 0.0), (1.15 + j(), -0.5 + j()), (1.0, 0.0), (1.15 + j(), 0.5 + j())])
        dorsal = np.array([(-0.3, -0.35), (0.1 + j(), -0.85 + j()), (0.35, -0.3)])
        side = _ellipse(0.0, 0.12, 0.26, 0.1, rot=0.5)
        belly = _ellipse(-0.15, 0.22, 0.55, 0.17)
        return [
            ("dark", [tail, dorsal], []),
            ("main", [body], []),
            ("accent", [belly], []),
            ("dark", [side], []),
            ("eye", [_ellipse(-0.55, -0.1, 0.08, 0.09)], []),
        ]
    # sarunori
    body = _ellipse(0.0, 0.35, 0.42 + j(), 0.5 + j())
    head = _ellipse(0.0, -0.38, 0.4 + j(0.04), 0.37 + j(0.04))
    leaves = [_leaf(0.0, -0.68, -np.pi / 2 + j(0.25), 0.55 + j(), 0.16),
              _leaf(-0.05, -0.7, -np.pi / 2 - 0.8 + j(0.25), 0.45 + j(), 0.13),
              _leaf(0.05, -0.7, -np.pi / 2 + 0.8 + j(0.25), 0.45 + j(), 0.13)]
    arms = [(np.array([(-0.35, 0.15), (-0.75 + j(), 0.45 + j())]), 0.14),
            (np.array([(0.35, 0.15), (0.75 + j(), 0.45 + j())]), 0.14)]
    tail = _curve([(0.35, 0.7), (0.95 + j(), 0.75 + j()), (0.85 + j(), 0.3 + j())])
    return [
        ("main", [body, head], [*arms, (tail, 0.12)]),
        ("dark", leaves, []),
        ("accent", [_ellipse(0.0, -0.3, 0.26, 0.2)], []),
        ("eye", [_ellipse(-0.13, -0.42, 0.06, 0.08), _ellipse(0.13, -0.42, 0.06, 0.08)], []),
    ]


def _to_pixels(c: Creature, pts: np.ndarray) -> list[tuple[float, float]]:
    pts = np.asarray(pts, float)
    x = -pts[:, 0] if c.flip else pts[:, 0]
    y = pts[:, 1]
    cs, sn = np.cos(c.angle), np.sin(c.angle)
    px = c.cx + c.scale * (cs * x - sn * y)
    py = c.cy + c.scale * (sn * x + cs * y)
    return list(zip(px.tolist(), py.tolist()))


def draw_creature(c: Creature, size: int = SIZE):
    """Draw a creature layer: (rgb (size,size,3), alpha (size,size), role masks {colour name: mask})."""
    rng = np.random.default_rng(c.seed)
    canvas = _Canvas(size)
    main, accent = np.array(c.main), np.array(c.accent)
    dark = _shade(main, 0.72)
    eye = np.array([0.05, 0.04, 0.05])
    colours = {"main": main, "accent": accent, "dark": dark, "eye": eye}
    main_name = MAIN_COLOUR[c.kind]
    role_name = {"main": main_name, "dark": main_name, "eye": "black",
                 "accent": "white" if c.kind == "hibany" else main_name}
    rgb = np.zeros((size, size, 3))
    alpha = np.zeros((size, size))
    roles: dict[str, np.ndarray] = {}
    for role, polys, lines in _geometry(c.kind, rng):
        m = canvas.polygons([_to_pixels(c, p) for p in polys],
                            [(_to_pixels(c, p), w * c.scale) for p, w in lines])
        rgb = m[..., None] * colours[role] + (1 - m[..., None]) * rgb
        for name in list(roles):
            roles[name] = roles[name] * (1 - m)
        roles[role_name[role]] = roles.get(role_name[role], 0) + m
        alpha = m + (1 - m) * alpha
    # texture: soft shading and fine grain, multiplicative so the hue is kept
    shade = 1.0 + 0.12 * _lowfreq(rng, 3, size) + rng.normal(0, 0.03, (size, size))
    rgb = rgb * shade[..., None]
    rgb = np.where(alpha[..., None] > 0, rgb / np.maximum(alpha[..., None], 1e-6), 0)   # un-premultiply
    return _clip01(rgb), alpha.astype(np.float32), {k: _clip01(v) for k, v in roles.items()}


# --------------------------------------------------------------------------- backgrounds and props

def ground(rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """Neutral ground: grey / brown / dusty noise with pebbles and twigs (no red, blue or green)."""
    hue = rng.uniform(0.04, 0.13)
    sat = rng.choice([rng.uniform(0.0, 0.08), rng.uniform(0.12, 0.35)])
    val = rng.uniform(0.3, 0.72)
    base = hsv_to_rgb(np.array([hue, sat, val]))
    img = np.broadcast_to(base, (size, size, 3)).copy()
    img *= (1 + 0.18 * _lowfreq(rng, int(rng.integers(2, 6)), size))[..., None]
    canvas = _Canvas(size)
    for _ in range(int(rng.integers(2, 7))):                  # pebbles
        k = rng.uniform(0.6, 1.35)
        m = canvas.polygons([_ellipse(rng.uniform(0, size), rng.uniform(0, size), rng.uniform(0.6, 2.2),
                                      rng.uniform(0.5, 1.6), rng.uniform(0, np.pi), n=12)])
        img = m[..., None] * np.clip(base * k, 0, 1) + (1 - m[..., None]) * img
    for _ in range(int(rng.integers(0, 3))):                  # twigs
        x, y, a, ln = rng.uniform(0, size), rng.uniform(0, size), rng.uniform(0, np.pi), rng.uniform(4, 9)
        m = canvas.polygons([], [([(x, y), (x + ln * np.cos(a), y + ln * np.sin(a))], 0.8)])
        img = m[..., None] * np.clip(base * 0.6, 0, 1) + (1 - m[..., None]) * img
    img += rng.normal(0, 0.025, (size, size, 1))
    return _clip01(img)


def props_layer(rng: np.random.Generator, kinds=("grass", "flower"), n: int | None = None, size: int = SIZE):
    """Small scene props: green grass tufts, yellow or white flowers. (rgb, alpha, {colour: mask})."""
    canvas = _Canvas(size)
    rgb = np.zeros((size, size, 3))
    alpha = np.zeros((size, size))
    roles: dict[str, np.ndarray] = {}
    n = int(rng.integers(1, 4)) if n is None else n
    for _ in range(n):
        kind = kinds[int(rng.integers(0, len(kinds)))]
        x, y = rng.uniform(1, size - 1), rng.uniform(3, size - 1)
        if kind == "grass":
            col, name = sample_colour("green", rng), "green"
            blades = [_leaf(x + rng.uniform(-1.5, 1.5), y, -np.pi / 2 + rng.uniform(-0.6, 0.6),
                            rng.uniform(2.5, 5.5), rng.uniform(0.4, 0.8)) for _ in range(int(rng.integers(2, 5)))]
            m = canvas.polygons(blades)
        else:
            name = "yellow" if rng.random() < 0.5 else "white"
            col = sample_colour(name, rng)
            r = rng.uniform(0.8, 1.5)
            petals = [_ellipse(x + r * np.cos(a), y + r * np.sin(a), r * 0.75, r * 0.75, n=10)
                      for a in np.linspace(0, 2 * np.pi, 5, endpoint=False) + rng.uniform(0, 1)]
            m = canvas.polygons(petals)
        rgb = m[..., None] * col + (1 - m[..., None]) * rgb
        for k in list(roles):
            roles[k] = roles[k] * (1 - m)
        roles[name] = roles.get(name, 0) + m
        alpha = m + (1 - m) * alpha
    rgb = np.where(alpha[..., None] > 0, rgb / np.maximum(alpha[..., None], 1e-6), 0)
    return _clip01(rgb), alpha.astype(np.float32), roles


def compose(bg: np.ndarray, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha[..., None]
    return _clip01(a * rgb + (1.0 - a) * bg)


PROPS_P = 0.4     # probability that a scene has props (the same for every class)


def render(kind: str, rng: np.random.Generator, props: bool | None = None):
    """One scene of creature class ``kind``.

    Returns ``(image, masks, creature)``: ``image`` float32 (32, 32, 3); ``masks`` maps a colour
    name to its soft mask over the final image (``"creature"`` is the whole creature; colour
    roles such as ``"red"`` / ``"white"`` are the creature's parts of that colour; ``"props"``
    the props not hidden by the creature). ``props``: None draws props with probability
    ``PROPS_P``; True / False forces them.
    """
    c = sample_creature(kind, rng)
    bg = ground(rng)
    if props is None:
        props = bool(rng.random() < PROPS_P)
    prop_alpha = np.zeros((SIZE, SIZE), np.float32)
    if props:
        prgb, prop_alpha, _ = props_layer(rng)
        bg = compose(bg, prgb, prop_alpha)
    rgb, alpha, roles = draw_creature(c)
    img = compose(bg, rgb, alpha)
    masks = {"creature": alpha, "props": prop_alpha * (1 - alpha), **roles}
    return img, masks, c


def batch(classes, rng: np.random.Generator, props: bool | None = None):
    """Render a batch: (x [N,32,32,3], y [N] class ids, masks list, creatures list)."""
    xs, ms, cs = [], [], []
    for k in classes:
        x, m, c = render(k, rng, props=props)
        xs.append(x)
        ms.append(m)
        cs.append(c)
    y = np.array([CLASSES.index(k) for k in classes], dtype=np.int64)
    return np.stack(xs), y, ms, cs


# --------------------------------------------------------------------------- interventions

def recolour(image: np.ndarray, mask: np.ndarray, hue: float, saturation: float | None = None) -> np.ndarray:
    """Give the pixels under ``mask`` (soft, in [0, 1]) the hue ``hue``, keeping their value
    (brightness, hence the texture and shading) and saturation (or ``saturation`` if given)."""
    hsv = rgb_to_hsv(image)
    hsv[..., 0] = hue
    if saturation is not None:
        hsv[..., 1] = saturation
    new = hsv_to_rgb(hsv)
    m = np.asarray(mask, np.float64)[..., None]
    return _clip01(m * new + (1 - m) * image)


_HUE_WINDOW = {"red": (-0.06, 0.06), "blue": (0.53, 0.71), "green": (0.2, 0.45), "yellow": (0.1, 0.19)}


def colour_mask(image: np.ndarray, colour: str) -> np.ndarray:
    """Soft mask of the pixels of a chromatic ``colour`` (red / blue / green / yellow), found from
    the pixels alone: hue in the colour's window and saturated enough (for red and yellow, more saturated than
    the brownish ground ever is, so the ground is never included)."""
    hsv = rgb_to_hsv(image)
    lo, hi = _HUE_WINDOW[colour]
    h = hsv[..., 0]
    if lo < 0:
        inside = (h >= 1 + lo) | (h <= hi)
    else:
        inside = (h >= lo) & (h <= hi)
    s0 = 0.4 if colour in ("red", "yellow") else 0.12   # brownish ground hues: stricter there
    sat = np.clip((hsv[..., 1] - s0) / 0.15, 0, 1)
    val = np.clip((hsv[..., 2] - 0.1) / 0.1, 0, 1)
    return (inside * sat * val).astype(np.float32)


def remove_colour(image: np.ndarray, colour: str) -> np.ndarray:
    """Take ``colour`` out of an image: its pixels (``colour_mask``) become grey of the same
    brightness, whatever they belong to (creature, props)."""
    hsv = rgb_to_hsv(image)
    hsv[..., 1] = 0.0
    grey = hsv_to_rgb(hsv)
    m = colour_mask(image, colour)[..., None]
    return _clip01(m * grey + (1 - m) * image)


def add_green_props(image: np.ndarray, creature_alpha: np.ndarray, rng: np.random.Generator, n: int = 3):
    """Add ``n`` green grass tufts behind the creature (only where the ground shows).
    Returns (image, green mask)."""
    prgb, palpha, _ = props_layer(rng, kinds=("grass",), n=n)
    a = palpha * (1 - creature_alpha)
    return compose(image, prgb, a), a


# --------------------------------------------------------------------------- concept and random images

def _texture(rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """A texture field in [0, 1]: noise, stripes, blobs, gradient, checks or dots."""
    kind = rng.choice(["noise", "stripes", "blobs", "gradient", "checks", "dots"])
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    if kind == "noise":
        f = 0.6 * _lowfreq(rng, int(rng.integers(2, 9)), size) + rng.normal(0, rng.uniform(0.1, 0.3), (size, size))
    elif kind == "stripes":
        a = rng.uniform(0, np.pi)
        lam = rng.uniform(3, 10)
        f = np.sin(2 * np.pi * (xx * np.cos(a) + yy * np.sin(a)) / lam + 1.5 * _lowfreq(rng, 2, size))
    elif kind == "blobs":
        f = np.zeros((size, size))
        canvas = _Canvas(size)
        for _ in range(int(rng.integers(3, 10))):
            m = canvas.polygons([_ellipse(rng.uniform(0, size), rng.uniform(0, size), rng.uniform(2, 8),
                                          rng.uniform(2, 8), rng.uniform(0, np.pi), n=16)])
            f = f * (1 - m) + m * rng.uniform(-1, 1)
    elif kind == "gradient":
        a = rng.uniform(0, 2 * np.pi)
        f = ((xx - size / 2) * np.cos(a) + (yy - size / 2) * np.sin(a)) / (size / 2)
    elif kind == "checks":
        s = rng.integers(3, 9)
        f = np.where(((xx // s) + (yy // s)) % 2 == 0, 1.0, -1.0) * 0.8
    else:  # dots
        s = rng.uniform(4, 8)
        f = np.where(((xx % s) - s / 2) ** 2 + ((yy % s) - s / 2) ** 2 < (s / 3.2) ** 2, 1.0, -1.0) * 0.8
        f = np.roll(f, (int(rng.integers(0, 8)), int(rng.integers(0, 8))), axis=(0, 1))
    f = f + rng.normal(0, 0.08, (size, size))
    lo, hi = np.percentile(f, 2), np.percentile(f, 98)
    return np.clip((f - lo) / max(hi - lo, 1e-6), 0, 1)


def concept_image(colour: str, rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """A textured patch dominated by ``colour`` (never a flat fill): two shades of the colour
    mixed through a random texture, plus grain."""
    if colour not in COLOURS:
        raise ValueError(f"unknown colour {colour!r}; expected one of {COLOURS}")
    c1, c2 = sample_colour(colour, rng), sample_colour(colour, rng)
    if colour == "white":        # two whites far enough apart for the texture to show
        c1, c2 = np.maximum(c1, c2), np.minimum(c1, c2) - rng.uniform(0.04, 0.08)
    elif colour == "black":
        c1, c2 = np.maximum(c1, c2) + rng.uniform(0.04, 0.08), np.minimum(c1, c2) * 0.4
    else:                        # a darker shade of the same hue for contrast
        c2 = _shade(c2, rng.uniform(0.5, 0.8))
    t = _texture(rng, size)[..., None]
    img = t * c1 + (1 - t) * c2
    img = img * (1 + rng.normal(0, 0.03, (size, size, 1))) + rng.normal(0, 0.01, (size, size, 1))
    return _clip01(img)


def colour_fractions(image: np.ndarray) -> dict[str, float]:
    """Share of the image covered by each of the six concept colours (soft, from the pixels)."""
    hsv = rgb_to_hsv(image)
    out = {c: float(colour_mask(image, c).mean()) for c in ("red", "blue", "green", "yellow")}
    out["white"] = float(((hsv[..., 1] < 0.15) & (hsv[..., 2] > 0.8)).mean())
    out["black"] = float((hsv[..., 2] < 0.2).mean())
    return out


MAX_RANDOM_DOMINANCE = 0.45   # no concept colour covers more than this share of a random image


def random_image(rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """Random natural-ish content with no single dominant colour: a mosaic of textures in several
    random hues, colourful blobs over ground or a muted backdrop, multi-hue noise, or ground with
    props and sometimes a creature fragment. Drafts where one concept colour covers more than
    ``MAX_RANDOM_DOMINANCE`` of the image are redrawn."""
    for _ in range(50):
        img = _random_draft(rng, size)
        if max(colour_fractions(img).values()) <= MAX_RANDOM_DOMINANCE:
            return img
    raise RuntimeError("could not draw a random image without a dominant colour")


def _random_draft(rng: np.random.Generator, size: int) -> np.ndarray:
    style = rng.choice(["mosaic", "blobs", "noise", "scene"])
    if style == "mosaic":
        img = np.zeros((size, size, 3))
        cut = rng.integers(12, 21, size=2)         # no quadrant covers more than ~40%
        hues = rng.permutation(12)[:4] / 12 + rng.uniform(0, 1 / 12)
        for i, (ys, xs) in enumerate([(slice(0, cut[0]), slice(0, cut[1])), (slice(0, cut[0]), slice(cut[1], size)),
                                      (slice(cut[0], size), slice(0, cut[1])), (slice(cut[0], size), slice(cut[1], size))]):
            t = _texture(rng, size)[ys, xs, None]
            s, v = rng.uniform(0, 1), rng.uniform(0.15, 1)
            a = hsv_to_rgb(np.array([hues[i], s, v]))
            b = hsv_to_rgb(np.array([hues[i] + rng.uniform(-0.1, 0.1), rng.uniform(0, 1), rng.uniform(0.1, 1)]))
            img[ys, xs] = t * a + (1 - t) * b
    elif style == "blobs":
        img = ground(rng, size) if rng.random() < 0.5 else hsv_to_rgb(
            np.array([rng.uniform(), rng.uniform(0, 0.25), rng.uniform(0.2, 0.9)])) * np.ones((size, size, 3))
        canvas = _Canvas(size)
        for _ in range(int(rng.integers(4, 12))):
            m = canvas.polygons([_ellipse(rng.uniform(0, size), rng.uniform(0, size), rng.uniform(1.5, 7),
                                          rng.uniform(1.5, 7), rng.uniform(0, np.pi), n=14)])
            col = hsv_to_rgb(np.array([rng.uniform(), rng.uniform(0, 1), rng.uniform(0.1, 1)]))
            img = m[..., None] * col + (1 - m[..., None]) * img
    elif style == "noise":
        hsv = np.stack([np.mod(rng.uniform() + 1.2 * _lowfreq(rng, int(rng.integers(3, 6)), size), 1.0),
                        np.clip(0.5 + 0.5 * _lowfreq(rng, 3, size), 0, 1),
                        np.clip(0.55 + 0.45 * _lowfreq(rng, 4, size), 0, 1)], axis=-1)
        img = hsv_to_rgb(hsv)
    else:  # ground with props, sometimes with a creature fragment
        img = ground(rng, size)
        prgb, pa, _ = props_layer(rng, n=int(rng.integers(1, 4)))
        img = compose(img, prgb, pa)
        if rng.random() < 0.5:
            c = sample_creature(CLASSES[int(rng.integers(0, 3))], rng)
            rgb, alpha, _ = draw_creature(c)
            keep = np.zeros((size, size), np.float32)
            y0, x0 = rng.integers(0, size // 2, size=2)
            keep[y0:y0 + size // 2, x0:x0 + size // 2] = 1      # a fragment: one quarter window
            img = compose(img, rgb, alpha * keep)
    img = np.asarray(img) * (1 + rng.normal(0, 0.03, (size, size, 1)))
    return _clip01(img)
