"""Materials of the procedural shapes and their texture tiles.

A :class:`Material` is a recipe (pattern kind, two colours, pattern period in metres); the
assembler renders one texture tile per textured piece with :func:`render_tile`, so a pattern
keeps its physical size on pieces of any size. :class:`Palette` draws believable materials
(wood, metal, fabric, plastic, glass, ...) from a seeded generator, and :func:`shade` derives a
darker or lighter variant: shapes use these so that parts often share a material or differ only
by shade, and colour alone does not give the parts away.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, replace

import numpy as np

__all__ = ["KINDS", "Material", "Palette", "render_tile", "shade"]

KINDS: tuple[str, ...] = ("plain", "noise", "stripes", "wood", "brushed", "grid", "checker")
"""Pattern kinds :func:`render_tile` knows."""


@dataclass(frozen=True)
class Material:
    """A surface recipe.

    Attributes:
        kind: one of :data:`KINDS`.
        color: base RGB in [0, 1].
        color2: second RGB in [0, 1] (stripes, grain, blotches, key caps ...).
        period: pattern period in metres (stripe width x 2, grain spacing, key pitch, blotch size).
        along_v: pattern runs along the piece's ``v`` direction instead of ``u``.
        grain: amplitude in [0, 1] of fine per-pixel noise added on top.
    """

    kind: str = "plain"
    color: tuple[float, float, float] = (0.7, 0.7, 0.7)
    color2: tuple[float, float, float] = (0.5, 0.5, 0.5)
    period: float = 0.05
    along_v: bool = False
    grain: float = 0.03

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Material.kind: expected one of {KINDS}, got {self.kind!r}")

    @property
    def is_flat(self) -> bool:
        """True when the tile is a single colour (it can be shared by every piece using it)."""
        return self.kind == "plain" and self.grain == 0.0


def _clip3(c: np.ndarray) -> tuple[float, float, float]:
    a = np.clip(np.asarray(c, dtype=np.float64), 0.0, 1.0)
    return (float(a[0]), float(a[1]), float(a[2]))


def shade(m: Material, factor: float) -> Material:
    """``m`` with both colours multiplied by ``factor`` (< 1 darker, > 1 lighter), clipped."""
    return replace(
        m,
        color=_clip3(np.asarray(m.color) * factor),
        color2=_clip3(np.asarray(m.color2) * factor),
    )


def _hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    return _clip3(np.asarray(colorsys.hsv_to_rgb(h % 1.0, s, v)))


class Palette:
    """Draws materials from a seeded generator (one per shape; not shared between threads)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def _u(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))

    def wood(self) -> Material:
        h, s, v = self._u(0.05, 0.11), self._u(0.35, 0.75), self._u(0.3, 0.85)
        c = _hsv(h, s, v)
        return Material("wood", c, _clip3(np.asarray(c) * self._u(0.6, 0.8)),
                        period=self._u(0.01, 0.04), along_v=bool(self.rng.random() < 0.5), grain=0.04)

    def metal(self) -> Material:
        v = self._u(0.35, 0.85)
        tint = self._u(-0.04, 0.04)
        c = _clip3(np.array([v + tint, v, v - tint]))
        return Material("brushed", c, _clip3(np.asarray(c) * 0.85), period=self._u(0.003, 0.01),
                        along_v=bool(self.rng.random() < 0.5), grain=0.03)

    def plastic(self, *, dark: bool | None = None) -> Material:
        if dark is None:
            dark = bool(self.rng.random() < 0.4)
        if dark:
            v = self._u(0.08, 0.3)
            return Material("plain", _hsv(self._u(0, 1), self._u(0, 0.2), v), grain=0.02)
        return Material("plain", _hsv(self._u(0, 1), self._u(0.0, 0.8), self._u(0.5, 0.95)), grain=0.02)

    def fabric(self) -> Material:
        h = self._u(0, 1)
        c = _hsv(h, self._u(0.1, 0.7), self._u(0.2, 0.85))
        kind = str(self.rng.choice(["noise", "noise", "stripes", "checker", "plain"]))
        c2 = _clip3(np.asarray(c) * self._u(0.55, 0.85)) if self.rng.random() < 0.6 else _hsv(
            h + self._u(-0.3, 0.3), self._u(0.1, 0.7), self._u(0.2, 0.9))
        return Material(kind, c, c2, period=self._u(0.02, 0.12), along_v=bool(self.rng.random() < 0.5),
                        grain=0.06)

    def painted(self) -> Material:
        """Painted or laminated surface: white, cream, grey or a saturated colour."""
        r = self.rng.random()
        if r < 0.45:
            c = _hsv(self._u(0, 1), self._u(0.0, 0.12), self._u(0.75, 0.97))
        elif r < 0.7:
            c = _hsv(self._u(0, 1), self._u(0.0, 0.1), self._u(0.2, 0.6))
        else:
            c = _hsv(self._u(0, 1), self._u(0.3, 0.8), self._u(0.4, 0.9))
        return Material("plain", c, c, grain=0.015)

    def glass(self) -> Material:
        h = float(self.rng.choice([0.3, 0.33, 0.08, 0.55, 0.6]))
        c = _hsv(h + self._u(-0.03, 0.03), self._u(0.2, 0.8), self._u(0.2, 0.75))
        return Material("plain", c, c, grain=0.04)

    def striped(self, base: Material | None = None) -> Material:
        """Stripes of two colours (a printed label, a striped fabric, a ribbed plastic)."""
        c = base.color if base is not None else _hsv(self._u(0, 1), self._u(0.2, 0.9), self._u(0.3, 0.95))
        c2 = _hsv(self._u(0, 1), self._u(0.0, 0.9), self._u(0.2, 0.95))
        return Material("stripes", c, c2, period=self._u(0.01, 0.06), along_v=bool(self.rng.random() < 0.5),
                        grain=0.02)

    def noisy(self, base: Material | None = None) -> Material:
        """Blotchy version of ``base`` (stone, worn paint, speckled plastic)."""
        c = base.color if base is not None else _hsv(self._u(0, 1), self._u(0.0, 0.6), self._u(0.3, 0.9))
        return Material("noise", c, _clip3(np.asarray(c) * self._u(0.6, 0.9)),
                        period=self._u(0.02, 0.1), grain=0.05)

    def keys(self, base: Material) -> Material:
        """A key grid: caps of one colour on a darker or lighter deck."""
        cap = _clip3(np.asarray(base.color) * self._u(0.6, 1.2))
        return Material("grid", cap, _clip3(np.asarray(base.color) * 0.5 + 0.05), period=self._u(0.016, 0.02),
                        grain=0.01)

    def screen(self) -> Material:
        c = _hsv(self._u(0.5, 0.7), self._u(0.0, 0.5), self._u(0.03, 0.25))
        kind = "noise" if self.rng.random() < 0.4 else "plain"
        return Material(kind, c, _clip3(np.asarray(c) + self._u(0.05, 0.3)), period=self._u(0.05, 0.2),
                        grain=0.01)

    def choice(self, *materials: Material) -> Material:
        """One of ``materials``, uniformly."""
        return materials[int(self.rng.integers(len(materials)))]

    def any(self) -> Material:
        """A material of a random family."""
        f = int(self.rng.integers(6))
        return [self.wood, self.metal, self.plastic, self.fabric, self.painted, self.noisy][f]()


# ---------------------------------------------------------------------------------------------
# tiles


def _value_noise(rng: np.random.Generator, cells_u: float, cells_v: float, size: int) -> np.ndarray:
    """(size, size) smooth noise in [0, 1]: bilinear interpolation of a random lattice."""
    gu, gv = max(int(np.ceil(cells_u)), 1), max(int(np.ceil(cells_v)), 1)
    lat = rng.random((gv + 1, gu + 1))
    y = np.linspace(0, gv * min(cells_v / gv, 1.0), size)
    x = np.linspace(0, gu * min(cells_u / gu, 1.0), size)
    y0, x0 = np.minimum(y.astype(int), gv - 1), np.minimum(x.astype(int), gu - 1)
    fy, fx = (y - y0)[:, None], (x - x0)[None, :]
    fy, fx = fy * fy * (3 - 2 * fy), fx * fx * (3 - 2 * fx)
    a = lat[y0][:, x0]
    b = lat[y0][:, x0 + 1]
    c = lat[y0 + 1][:, x0]
    d = lat[y0 + 1][:, x0 + 1]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


def render_tile(
    m: Material,
    size_uv: tuple[float, float],
    size: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """(size, size, 3) uint8 texture of material ``m`` on a piece spanning ``size_uv`` metres.

    Row 0 is the top of the image, i.e. ``v = 1`` (trimesh / OBJ convention: ``v`` grows upward).
    """
    su, sv = max(size_uv[0], 1e-4), max(size_uv[1], 1e-4)
    u = (np.arange(size) + 0.5) / size
    v = 1.0 - (np.arange(size) + 0.5) / size
    U, V = np.meshgrid(u * su, v * sv)  # metres, (rows, cols)
    c1, c2 = np.asarray(m.color), np.asarray(m.color2)
    t: np.ndarray
    if m.kind == "plain":
        t = np.zeros((size, size))
    elif m.kind == "noise":
        t = _value_noise(rng, su / m.period, sv / m.period, size)
        t = np.clip((t - 0.5) * 1.6 + 0.5, 0, 1)
    elif m.kind == "stripes":
        x = (V if m.along_v else U) / m.period + rng.random()
        t = 0.5 + 0.5 * np.tanh(6 * np.sin(2 * np.pi * x))
    elif m.kind == "wood":
        w = _value_noise(rng, su / (8 * m.period), sv / (8 * m.period), size)
        x = (U if m.along_v else V) / m.period + 2.5 * w
        t = (0.5 + 0.5 * np.sin(2 * np.pi * x)) ** 3
    elif m.kind == "brushed":
        streak = rng.random(size)
        t = np.broadcast_to(streak[None, :] if m.along_v else streak[:, None], (size, size)) * 0.6
    elif m.kind == "grid":
        fu, fv = (U / m.period) % 1.0, (V / m.period) % 1.0
        gap = 0.14
        t = ((fu < gap) | (fv < gap)).astype(np.float64)
    elif m.kind == "checker":
        t = ((np.floor(U / m.period) + np.floor(V / m.period)) % 2).astype(np.float64)
    else:  # pragma: no cover - guarded by Material.__post_init__
        raise ValueError(m.kind)
    img = c1[None, None] * (1 - t[..., None]) + c2[None, None] * t[..., None]
    if m.grain > 0:
        img = img + m.grain * (rng.random((size, size, 1)) - 0.5)
    return np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)
