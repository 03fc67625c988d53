"""Three-starter creatures for the TCAV models, drawn with the example's code (imported, not copied).

``example_audits/starters/starter_scenes.py`` draws hibany / messon / sarunori, each in its own
colour. Here a creature's *shape* (kind) and *colour* are drawn independently, so that:

* the colour-reliant model is trained on creatures whose colour (red / blue / green) decides the
  class while the shape is random;
* the shape-reliant model is trained on creatures whose shape decides the class while the colour is
  random among all six concept colours (the negative control: no colour claim may PASS on it).

Every creature's second colour (belly, face) is a paler shade of its main colour, so no class owns
a second colour. A creature can also be drawn with its *part* (hibany's ears, messon's dorsal fin,
sarunori's leaves, see ``PARTS``) replaced by a sibling part moved to the same place: the truth of
the part claims. Concept sets: colour patches (the example's ``concept_image``), part patches
(one to three copies of a part in random hues on the example's neutral ground) and the example's
random images.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

STARTERS = Path(__file__).resolve().parents[2] / "example_audits" / "starters"
if str(STARTERS) not in sys.path:
    sys.path.insert(0, str(STARTERS))
import starter_scenes as S  # noqa: E402

CLASSES = S.CLASSES  # hibany, messon, sarunori
COLOURS = S.COLOURS  # red, blue, green, white, yellow, black
CLASS_COLOUR = {"hibany": "red", "messon": "blue", "sarunori": "green"}  # the colour-reliant model's rule
OFF_COLOURS = ("white", "yellow", "black")  # no class's colour
PARTS = {"hibany": "ears", "messon": "fins", "sarunori": "leaves"}
PART_NAMES = tuple(PARTS.values())


@dataclass(frozen=True)
class Drawn:
    creature: S.Creature
    colour: str  # concept colour of its main coat
    part: str | None = None  # the part drawn where the kind's own part goes (None: its own)
    part_scale: float = 1.0  # the part (own or swapped) scaled about its centre


def _own_part(kind: str, geometry: list) -> tuple[int, list[int]]:
    """(entry index in the geometry list, polygon indices) of a kind's own part."""
    if kind == "hibany":
        return 0, [2, 3]  # 'main' role: body, head, ear, ear, legs
    if kind == "messon":
        return 0, [1]  # first 'dark' role: tail fin, dorsal fin
    return 1, [0, 1, 2]  # sarunori's 'dark' leaves


def _part_polys(part: str, rng: np.random.Generator) -> list[np.ndarray]:
    kind = {v: k for k, v in PARTS.items()}[part]
    g = S._geometry(kind, rng)
    e, idx = _own_part(kind, g)
    return [g[e][1][i] for i in idx]


def _centre(polys: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(polys).mean(axis=0)


def draw(d: Drawn, size: int = S.SIZE) -> tuple[np.ndarray, np.ndarray]:
    """(rgb, alpha) of a creature, its own part optionally replaced by another part at the same place.

    Mirrors ``starter_scenes.draw_creature`` (same geometry, colours and texture draws) with one change:
    the part's polygons may be swapped before rasterising."""
    c = d.creature
    rng = np.random.default_rng(c.seed)
    canvas = S._Canvas(size)
    main, accent = np.array(c.main), np.array(c.accent)
    colours = {"main": main, "accent": accent, "dark": S._shade(main, 0.72), "eye": np.array([0.05, 0.04, 0.05])}
    geometry = S._geometry(c.kind, rng)
    own = PARTS[c.kind]
    if (d.part is not None and d.part != own) or d.part_scale != 1.0:
        e, idx = _own_part(c.kind, geometry)
        role, polys, lines = geometry[e]
        anchor = _centre([polys[i] for i in idx])
        swap = d.part is not None and d.part != own
        new = _part_polys(d.part, np.random.default_rng([c.seed, 7])) if swap else [polys[i] for i in idx]
        ctr = _centre(new)
        kept = [p for i, p in enumerate(polys) if i not in idx]
        # the part goes on top of the rest of its role, centred where the own part was
        geometry[e] = (role, kept + [anchor + (p - ctr) * d.part_scale for p in new], lines)
    rgb = np.zeros((size, size, 3))
    alpha = np.zeros((size, size))
    for role, polys, lines in geometry:
        m = canvas.polygons([S._to_pixels(c, p) for p in polys], [(S._to_pixels(c, p), w * c.scale) for p, w in lines])
        rgb = m[..., None] * colours[role] + (1 - m[..., None]) * rgb
        alpha = m + (1 - m) * alpha
    shade = 1.0 + 0.12 * S._lowfreq(rng, 3, size) + rng.normal(0, 0.03, (size, size))
    rgb = rgb * shade[..., None]
    rgb = np.where(alpha[..., None] > 0, rgb / np.maximum(alpha[..., None], 1e-6), 0)
    return S._clip01(rgb), alpha.astype(np.float32)


def sample(kind: str, colour: str, rng: np.random.Generator) -> Drawn:
    """A creature of shape ``kind`` whose coat is ``colour`` (its belly a paler shade of it)."""
    c = S.sample_creature(kind, rng)
    main = S.sample_colour(colour, rng)
    accent = S._shade(main, rng.uniform(1.35, 1.55))
    return Drawn(replace(c, main=tuple(float(v) for v in main), accent=tuple(float(v) for v in np.clip(accent, 0, 1))),
                 colour)


def recoloured(d: Drawn, colour: str, rng: np.random.Generator) -> Drawn:
    """The same creature (pose, texture) with its coat in another colour."""
    main = S.sample_colour(colour, rng)
    accent = np.clip(S._shade(main, 1.45), 0, 1)
    return Drawn(replace(d.creature, main=tuple(float(v) for v in main), accent=tuple(float(v) for v in accent)),
                 colour, d.part)


def with_part(d: Drawn, part: str, scale: float | None = None) -> Drawn:
    return replace(d, part=part) if scale is None else replace(d, part=part, part_scale=scale)


def scene(d: Drawn, ground_seed: int) -> np.ndarray:
    """The creature on the example's neutral ground (no props: they carry colour)."""
    bg = S.ground(np.random.default_rng(ground_seed))
    rgb, alpha = draw(d)
    return S.compose(bg, rgb, alpha)


def scenes(drawn: list[Drawn], ground_seeds: list[int]) -> np.ndarray:
    return np.stack([scene(d, g) for d, g in zip(drawn, ground_seeds)]).astype(np.float32)


def part_image(part: str, rng: np.random.Generator, size: int = S.SIZE) -> np.ndarray:
    """One to three copies of a creature part, each in a random saturated hue, on neutral ground."""
    img = S.ground(rng)
    canvas = S._Canvas(size)
    for _ in range(int(rng.integers(1, 4))):
        polys = _part_polys(part, rng)
        ctr = _centre(polys)
        scale, ang = rng.uniform(9.0, 14.0), rng.uniform(-np.pi, np.pi)
        cx, cy = rng.uniform(6, size - 6, 2)
        cs, sn = np.cos(ang), np.sin(ang)
        pix = []
        for p in polys:
            q = (p - ctr) * scale
            pix.append(list(zip((cx + cs * q[:, 0] - sn * q[:, 1]).tolist(), (cy + sn * q[:, 0] + cs * q[:, 1]).tolist())))
        m = canvas.polygons(pix)
        col = S.hsv_to_rgb(np.array([rng.uniform(), rng.uniform(0.55, 1.0), rng.uniform(0.5, 1.0)]))
        img = S.compose(img, np.broadcast_to(col, img.shape), m)
    return img


def colour_set(colour: str, n: int, rng: np.random.Generator) -> np.ndarray:
    return np.stack([S.concept_image(colour, rng) for _ in range(n)]).astype(np.float32)


def part_set(part: str, n: int, rng: np.random.Generator) -> np.ndarray:
    return np.stack([part_image(part, rng) for _ in range(n)]).astype(np.float32)


def random_set(n: int, rng: np.random.Generator) -> np.ndarray:
    return np.stack([S.random_image(rng) for _ in range(n)]).astype(np.float32)
