"""Small building blocks of the categories added for full PartNet-E coverage (issue 14).

Kept apart from :mod:`.primitives` and :mod:`.components` so that the shapes of the first 21
categories (pinned by benchmark tables) cannot change when these grow. Frames as everywhere:
object frame, +Y up, fronts face +Z, metres.
"""

from __future__ import annotations

import numpy as np

from partlift.data.synthetic.assembly import Assembly
from partlift.data.synthetic.materials import Material
from partlift.data.synthetic.primitives import (
    Piece,
    box,
    cylinder,
    ellipse,
    extrude,
    grid,
    rot_x,
    rot_z,
    rounded_rect,
)

__all__ = [
    "slab",
    "front_panel",
    "flat_prism",
    "ellipsoid_patch",
    "push_button",
    "button_grid",
    "disc_front",
]


def slab(w: float, h: float, d: float, r: float, center=(0.0, 0.0, 0.0), n_corner: int = 5) -> Piece:
    """A box of ``w`` (x) x ``h`` (y) x ``d`` (z) with vertical edges rounded by ``r``, centred."""
    out = extrude(rounded_rect(w, d, max(r, 1e-4), n_corner=n_corner), -h / 2, h / 2)
    return out.moved(None, center)


def front_panel(w: float, h: float, t: float, r: float, center=(0.0, 0.0, 0.0), n_corner: int = 5) -> Piece:
    """A plate of ``w`` (x) x ``h`` (y) x ``t`` (z) facing +Z with its 4 edges along z rounded by ``r``."""
    out = extrude(rounded_rect(w, h, max(r, 1e-4), n_corner=n_corner), -t / 2, t / 2).moved(rot_x(-90))
    return out.moved(None, center)


def flat_prism(outline_xz: np.ndarray, y0: float, y1: float) -> Piece:
    """A flat piece (blade, plate) over a convex (n, 2) outline in the (x, z) plane, y0..y1."""
    return extrude(np.asarray(outline_xz, np.float64), y0, y1)


def ellipsoid_patch(
    a: float, b: float, c: float, th0: float, th1: float, ph0: float, ph1: float, *, n: int = 10
) -> Piece:
    """A patch of the ellipsoid with half-axes (a, b, c) (x, y, z), centred at the origin.

    ``th`` in degrees is the elevation (-90 bottom .. 90 top), ``ph`` the azimuth about +Y
    (0 = +Z, 90 = +X). An open surface with outward normals.
    """
    th = np.deg2rad(np.linspace(th0, th1, n))
    ph = np.deg2rad(np.linspace(ph0, ph1, n))
    P, T = np.meshgrid(ph, th, indexing="ij")  # u = azimuth, v = elevation
    pts = np.stack([a * np.cos(T) * np.sin(P), b * np.sin(T), c * np.cos(T) * np.cos(P)], -1)
    return grid(pts)


def push_button(kind: str, size: float, depth: float, at, *, facing: str = "z") -> Piece:
    """A button ("round", "square" or "pill") of ``size`` standing ``depth`` out of a surface.

    ``facing`` "z": on a front face (normal +Z) at point ``at``; "y": on a top face (normal +Y).
    The button sinks a little into its surface so that it touches it.
    """
    if kind == "round":
        p = cylinder(size / 2, depth + 0.001, y0=-0.001, segments=14)
    elif kind == "pill":
        p = slab(size * 1.6, depth + 0.001, size * 0.8, size * 0.38, (0, depth / 2 - 0.0005, 0), n_corner=4)
    else:
        p = slab(size, depth + 0.001, size, size * 0.15, (0, depth / 2 - 0.0005, 0), n_corner=3)
    if facing == "z":
        p = p.moved(rot_x(90))
    return p.moved(None, at)


def button_grid(
    asm: Assembly,
    part: str,
    m: Material,
    x0: float,
    x1: float,
    z0: float,
    z1: float,
    y: float,
    rows: int,
    cols: int,
    *,
    kind: str = "square",
    fill: float = 0.7,
    depth: float = 0.003,
) -> int:
    """``rows`` x ``cols`` buttons (each its own ``part`` instance) on a top face at height ``y``
    over the rectangle x0..x1, z0..z1; returns how many were added."""
    pw, pd = (x1 - x0) / cols, (z1 - z0) / rows
    size = min(pw, pd) * fill
    for r in range(rows):
        for c in range(cols):
            x = x0 + (c + 0.5) * pw
            z = z0 + (r + 0.5) * pd
            asm.part(part, push_button(kind, size, depth, (x, y, z), facing="y"), m)
    return rows * cols


def disc_front(r: float, t: float, center, *, segments: int = 32, oval: float = 1.0) -> Piece:
    """A disc (or oval, ``oval`` = height / width) of radius ``r`` facing +Z, thickness ``t``."""
    out = extrude(ellipse(r, r * oval, segments), -t / 2, t / 2).moved(rot_x(-90))
    return out.moved(None, center)


def needle(length: float, width: float, t: float, angle_deg: float, at) -> Piece:
    """A clock hand: a thin bar from ``at`` along +Y rotated by ``angle_deg`` about +Z (in the face)."""
    return box((width, length, t), (0, length / 2 - length * 0.12, 0)).moved(rot_z(-angle_deg), at)
