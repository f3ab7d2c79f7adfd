"""Sub-assemblies shared by several categories: handles, casters, drawers, door leaves.

Each builder returns pieces in a *local frame* and leaves labelling to the caller: a handle is
built on a surface at the origin whose outward normal is +Z, with its long axis along +X (rotate
it by 90 degrees about Z for a vertical handle); a caster stands on y = 0.
"""

from __future__ import annotations

import numpy as np

from partlift.data.synthetic.primitives import (
    Piece,
    box,
    lathe,
    rod,
    rot_y,
    rot_z,
    sphere,
    tube,
)

__all__ = ["HANDLE_STYLES", "handle", "caster_wheel", "caster_fork", "move", "wheel"]

HANDLE_STYLES: tuple[str, ...] = ("bar", "arch", "knob", "pull", "cup")


def move(pieces: list[Piece], rotation: np.ndarray | None = None, translation=None) -> list[Piece]:
    """Every piece rotated then translated (see :meth:`Piece.moved`)."""
    return [p.moved(rotation, translation) for p in pieces]


def handle(
    rng: np.random.Generator,
    length: float,
    *,
    style: str | None = None,
    scale: float = 1.0,
    vertical: bool = False,
) -> list[Piece]:
    """A cabinet / appliance handle on a surface at the origin with outward normal +Z.

    Args:
        rng: draws the proportions.
        length: overall length along the handle's long axis (metres); ignored by knobs.
        style: one of :data:`HANDLE_STYLES` (random when None).
        scale: multiplies the cross-section sizes (bigger handles for fridges and doors).
        vertical: long axis along +Y instead of +X.

    Returns:
        pieces forming one connected handle that touches the surface (z = 0) and lies in z >= 0.
    """
    if style is None:
        style = str(rng.choice(HANDLE_STYLES))
    s = scale
    out: list[Piece]
    if style == "bar":
        r = rng.uniform(0.005, 0.009) * s
        off = rng.uniform(0.02, 0.035) * s
        inset = length * rng.uniform(0.0, 0.12)
        x0, x1 = -length / 2, length / 2
        post_r = r * rng.uniform(0.7, 1.0)
        out = [
            rod([x0, 0, off], [x1, 0, off], r, segments=10),
            rod([x0 + inset, 0, 0], [x0 + inset, 0, off], post_r, segments=8),
            rod([x1 - inset, 0, 0], [x1 - inset, 0, off], post_r, segments=8),
        ]
    elif style == "arch":
        r = rng.uniform(0.004, 0.008) * s
        off = rng.uniform(0.02, 0.035) * s
        t = np.linspace(0, 1, 20)
        x = (t - 0.5) * length
        z = off * np.sin(np.pi * t) ** 0.6
        out = [tube(np.stack([x, np.zeros_like(x), z], 1), r, segments=8)]
    elif style == "knob":
        r = rng.uniform(0.009, 0.016) * s
        stem = rng.uniform(0.008, 0.02) * s
        out = [
            rod([0, 0, 0], [0, 0, stem], r * 0.45, segments=10),
            sphere(r, segments=14, rings=8).scaled((1, 1, 0.8)).moved(None, (0, 0, stem + r * 0.6)),
        ]
    elif style == "pull":
        w = rng.uniform(0.01, 0.02) * s
        t = rng.uniform(0.004, 0.008) * s
        off = rng.uniform(0.015, 0.03) * s
        out = [
            box((length, w, t), (0, 0, off)),
            box((t, w, off), (-length / 2 + t / 2, 0, off / 2)),
            box((t, w, off), (length / 2 - t / 2, 0, off / 2)),
        ]
    elif style == "cup":  # a half-moon cup pull
        r = min(length / 2, rng.uniform(0.03, 0.05) * s)
        depth = rng.uniform(0.012, 0.02) * s
        th = np.deg2rad(np.linspace(180, 360, 14))
        rim = np.stack([r * np.cos(th), r * 0.5 * np.sin(th), np.full_like(th, depth)], 1)
        out = [tube(rim, 0.004 * s, segments=6), box((2 * r, 0.008 * s, depth), (0, 0, depth / 2))]
    else:
        raise ValueError(f"handle: style must be one of {HANDLE_STYLES}, got {style!r}")
    return move(out, rot_z(90)) if vertical else out


def wheel(radius: float, width: float, *, segments: int = 20) -> Piece:
    """A tyre-like wheel with its axle along X, centred at the origin."""
    k = np.linspace(-np.pi / 2, np.pi / 2, 7)
    rr = radius * (0.8 + 0.2 * np.cos(k))
    yy = (width / 2) * np.sin(k)
    prof_r = np.concatenate([[0.0], rr, [0.0]])
    prof_y = np.concatenate([[yy[0]], yy, [yy[-1]]])
    # lathe about Y, then turn the axle to X
    p = lathe(prof_r, prof_y, segments=segments)
    return p.moved(rot_z(90))


def caster_wheel(radius: float, width: float, swivel_deg: float) -> Piece:
    """A caster's wheel standing on y = 0 at the origin, axle swivelled by ``swivel_deg`` about Y."""
    return wheel(radius, width).moved(rot_y(swivel_deg), (0.0, radius, 0.0))


def caster_fork(radius: float, width: float, swivel_deg: float, top: float) -> list[Piece]:
    """The fork of a caster whose wheel is :func:`caster_wheel`; it reaches up to y = ``top``."""
    plate = 0.004
    h = top - radius
    side_h = max(h + radius * 0.3, 0.01)
    pieces = [
        box((width + 2 * plate + 0.004, plate, radius * 1.3), (0, top - plate / 2, 0)),
        box((plate, side_h, radius * 1.0), (width / 2 + plate / 2 + 0.001, top - side_h / 2, 0)),
        box((plate, side_h, radius * 1.0), (-width / 2 - plate / 2 - 0.001, top - side_h / 2, 0)),
    ]
    return move(pieces, rot_y(swivel_deg))
