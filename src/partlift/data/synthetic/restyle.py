"""Realism versions of the generator: ``v1`` (the pinned default) and ``v2`` (issue 14, item 2).

``v1`` is the generator as the benchmark tables were measured on; it never passes through this
module. ``v2`` takes the *same* pieces a category builder made (same geometry, same labels) and
adds what real PartNet-Mobility meshes have and ours lack, drawn from its own random stream (so
``v1`` output stays byte-identical and a ``v2`` shape is the ``v1`` shape made more real):

* **Interiors / wall thickness**: every big unlabelled closed piece (a carcass, a vessel body, a
  casing) gets an inner wall — a copy shrunk by a wall thickness about its centre, faces turned
  inwards — so that, as on real meshes, part of the surface lies inside the object (measured on
  the real dev shapes: 18% of a real bottle's points lie deeper than 3% of the diagonal inside
  its convex hull, 7% on a ``v1`` bottle; 26-31% vs 24% for cabinets).
* **Bevels**: boxes (:func:`~partlift.data.synthetic.primitives.box` pieces) get chamfered
  edges (a convex hull of their corners cut by a bevel of 10-25% of the smallest side, at most
  1 cm).
* **Materials like real products**: a third of the shapes are single-coloured (every piece takes
  the material of the biggest piece), a quarter get contrasting named parts (each part label its
  own saturated plastic or metal), and every textured surface gets per-face-scale colour noise
  (value-noise blotches and stronger grain), as scanned / textured real meshes have.

Small details (screws, hinges) are left to the category builders.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.spatial import ConvexHull

from partlift.data.synthetic.materials import Material, Palette
from partlift.data.synthetic.primitives import Piece
from partlift.errors import InputError

__all__ = ["REALISM_VERSIONS", "check_realism", "restyle"]

REALISM_VERSIONS: tuple[str, ...] = ("v1", "v2")
"""Known generator realism versions; ``v1`` is the default and pinned by the benchmark tables."""

_WALL_MIN, _WALL_MAX = 0.006, 0.02  # inner-wall thickness range, metres
_BIG = 0.3  # an unlabelled piece is "big" when its bbox diagonal exceeds this share of the shape's


def check_realism(realism: object) -> str:
    """``realism`` if it is a known version, else :class:`InputError`."""
    if realism not in REALISM_VERSIONS:
        raise InputError(
            f"synthetic: unknown realism version {realism!r}; expected one of {list(REALISM_VERSIONS)} "
            "(v1 = the default shapes the benchmark tables use)"
        )
    return str(realism)


def _box_frame(p: Piece) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(centre, (3, 3) unit axes as columns, (3,) half sizes) of a box() piece, or None."""
    if len(p.vertices) != 24 or len(p.faces) != 12:
        return None
    v = p.vertices
    ex, ey, ez = v[4] - v[0], v[3] - v[0], v[1] - v[0]
    lens = np.array([np.linalg.norm(ex), np.linalg.norm(ey), np.linalg.norm(ez)])
    if (lens < 1e-9).any():
        return None
    axes = np.stack([ex, ey, ez], 1) / lens
    if np.abs(axes.T @ axes - np.eye(3)).max() > 1e-6:
        return None
    return v.mean(0), axes, lens / 2


def _hull_piece(local: np.ndarray, centre: np.ndarray, axes: np.ndarray, size_uv) -> Piece:
    """The convex hull of (n, 3) local points as an outward-wound piece in the object frame."""
    hull = ConvexHull(local)
    faces = hull.simplices.astype(np.int64)
    tri = local[faces]
    nrm = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    out = np.einsum("ij,ij->i", nrm, tri.mean(1) - local.mean(0)) < 0
    faces[out] = faces[out][:, [0, 2, 1]]
    lo, hi = local.min(0), local.max(0)
    span = np.maximum(hi - lo, 1e-9)
    order = np.argsort(span)[::-1]
    uv = (local[:, order[:2]] - lo[order[:2]]) / span[order[:2]]
    return Piece(local @ axes.T + centre, faces, uv, size_uv)


def _bevel(p: Piece, rng: np.random.Generator) -> Piece:
    frame = _box_frame(p)
    if frame is None:
        return p
    centre, axes, half = frame
    b = min(float(half.min()) * 2 * rng.uniform(0.1, 0.25), 0.01)
    if b < 5e-4:
        return p
    pts = []
    for sx in (-1, 1):
        for sy in (-1, 1):
            for sz in (-1, 1):
                c = np.array([sx, sy, sz]) * half
                for k in range(3):
                    q = c.copy()
                    q[k] -= np.sign(c[k]) * b
                    pts.append(q)
    return _hull_piece(np.array(pts), centre, axes, p.size_uv)


def _inner_wall(p: Piece, t: float) -> Piece | None:
    """A copy of closed piece ``p`` shrunk by ``t`` on every side about its bbox centre, faces
    turned inwards; None when the piece is too thin for a wall."""
    lo, hi = p.bounds
    ext = hi - lo
    if (ext < 5 * t).any():
        return None
    centre = (lo + hi) / 2
    s = (ext - 2 * t) / ext
    return Piece((p.vertices - centre) * s + centre, p.faces[:, [0, 2, 1]], p.uv, p.size_uv)


def _noisy(m: Material, rng: np.random.Generator) -> Material:
    grain = max(m.grain, float(rng.uniform(0.04, 0.1)))
    if m.kind == "plain":
        c = np.asarray(m.color)
        c2 = tuple(float(x) for x in np.clip(c * rng.uniform(0.8, 0.95), 0, 1))
        return replace(m, kind="noise", color2=c2, period=float(rng.uniform(0.01, 0.05)), grain=grain)
    return replace(m, grain=grain)


def restyle(
    pieces: list[tuple[Piece, Material, int, int]], rng: np.random.Generator
) -> list[tuple[Piece, Material, int, int]]:
    """The ``v2`` version of an assembly's ``(piece, material, semantic, instance)`` list.

    Added inner walls are unlabelled (-1) unless they belong to a labelled piece (never: only
    unlabelled pieces get walls); bevelled boxes keep their labels.
    """
    if not pieces:
        return pieces
    allv = np.concatenate([p.vertices for p, _, _, _ in pieces])
    diag = float(np.linalg.norm(allv.max(0) - allv.min(0)))
    wall = float(rng.uniform(_WALL_MIN, _WALL_MAX)) * (1.0 if diag > 0.3 else 0.3)
    scheme = rng.random()
    biggest = max(pieces, key=lambda q: float(np.prod(np.maximum(np.ptp(q[0].vertices, 0), 1e-3))))[1]
    pal = Palette(rng)
    contrast: dict[int, Material] = {}
    out: list[tuple[Piece, Material, int, int]] = []
    for piece, mat, sem, ins in pieces:
        if scheme < 0.33:
            mat = biggest
        elif scheme < 0.58 and sem >= 0:
            if sem not in contrast:
                contrast[sem] = pal.choice(pal.plastic(dark=False), pal.metal(), pal.painted())
            mat = contrast[sem]
        mat = _noisy(mat, rng)
        piece = _bevel(piece, rng)
        out.append((piece, mat, sem, ins))
        if sem < 0:
            lo, hi = piece.bounds
            if float(np.linalg.norm(hi - lo)) > _BIG * diag:
                inner = _inner_wall(piece, wall)
                if inner is not None:
                    out.append((inner, replace(mat, color=tuple(float(x) * 0.8 for x in mat.color)), -1, -1))
    return out
