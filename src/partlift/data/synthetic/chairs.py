"""Chair: four-leg chairs (solid, slatted or ladder backs), swivel chairs with a star base and
casters, with or without arms. PartNet-E parts: arm, back, leg, seat, wheel.

Frame: +Y up, the sitter faces +Z, the chair stands on y = 0, metres.
"""

from __future__ import annotations

import numpy as np

from partlift.data.synthetic.assembly import Assembly
from partlift.data.synthetic.components import caster_fork, caster_wheel, move
from partlift.data.synthetic.materials import Palette, shade
from partlift.data.synthetic.primitives import (
    beam,
    bent_slab,
    box,
    cylinder,
    extrude,
    rod,
    rot_x,
    rounded_rect,
    tube,
)

__all__ = ["chair"]


def chair(asm: Assembly, rng: np.random.Generator) -> None:
    """Build one random chair into ``asm``."""
    if rng.random() < 0.4:
        _swivel(asm, rng)
    else:
        _four_leg(asm, rng)


def _seat(rng: np.random.Generator, w: float, d: float, y_top: float, t: float):
    """Seat pieces: a plain board or a rounded cushion, top at ``y_top``."""
    if rng.random() < 0.5:
        return [box((w, t, d), (0, y_top - t / 2, 0))]
    return [extrude(rounded_rect(w, d, rng.uniform(0.02, 0.08)), y_top - t, y_top)]


def _back(rng: np.random.Generator, w: float, h: float, t: float, style: str):
    """Back pieces in a local frame: bottom centre at the origin, the back rises along +Y."""
    if style == "panel":
        bend = rng.uniform(0.0, 0.05) if rng.random() < 0.5 else 0.0
        if bend > 0:
            return [bent_slab(w, h, t, bend).moved(None, (0, h / 2, 0))]
        return [box((w, h, t), (0, h / 2, 0))]
    post = rng.uniform(0.025, 0.045)
    rail_h = rng.uniform(0.04, 0.09)
    pieces = [
        box((post, h, t), (-w / 2 + post / 2, h / 2, 0)),
        box((post, h, t), (w / 2 - post / 2, h / 2, 0)),
        box((w, rail_h, t), (0, h - rail_h / 2, 0)),
    ]
    inner = w - 2 * post
    if style == "slats":  # vertical slats between the posts
        n = int(rng.integers(2, 6))
        sw = min(inner / (n + 1) * rng.uniform(0.4, 0.9), 0.06)
        span_h = h - rail_h
        low = rng.uniform(0.0, 0.15) * h
        for k in range(n):
            x = -inner / 2 + inner * (k + 1) / (n + 1)
            pieces.append(box((sw, span_h - low, t * 0.6), (x, low + (span_h - low) / 2, 0)))
        if low > 0.02:
            pieces.append(box((w, rail_h * 0.7, t), (0, low, 0)))
    else:  # ladder: horizontal rails
        n = int(rng.integers(1, 4))
        for k in range(n):
            y = h * (0.25 + 0.5 * k / max(n, 1))
            pieces.append(box((inner + 0.002, rail_h * 0.7, t * 0.7), (0, y, 0)))
    return pieces


def _four_leg(asm: Assembly, rng: np.random.Generator) -> None:
    pal = Palette(rng)
    frame = pal.wood() if rng.random() < 0.65 else pal.metal()
    r = rng.random()
    seat_m = frame if r < 0.45 else (pal.fabric() if r < 0.8 else pal.painted())
    r = rng.random()
    back_m = seat_m if r < 0.6 else (frame if r < 0.85 else shade(seat_m, rng.uniform(0.75, 0.9)))
    leg_m = frame if rng.random() < 0.85 else shade(frame, rng.uniform(0.7, 0.9))

    w = rng.uniform(0.4, 0.56)
    d = rng.uniform(0.38, 0.52)
    seat_h = rng.uniform(0.42, 0.5)
    t = rng.uniform(0.025, 0.08)
    asm.part("seat", _seat(rng, w, d, seat_h, t), seat_m)

    # legs
    round_legs = rng.random() < 0.4
    lw = rng.uniform(0.025, 0.05)
    inset = rng.uniform(0.0, 0.04) + lw / 2
    splay = rng.uniform(0.0, 0.05)
    taper = rng.uniform(0.6, 1.0)
    y_leg_top = seat_h - t
    for sx in (-1, 1):
        for sz in (-1, 1):
            top = np.array([sx * (w / 2 - inset), y_leg_top, sz * (d / 2 - inset)])
            foot = top + np.array([sx * splay, 0, sz * splay]) - np.array([0, y_leg_top, 0])
            if round_legs:
                piece = rod(foot, top + [0, 0.002, 0], lw / 2 * taper, r1=lw / 2, segments=12)
            else:
                piece = beam(foot, top + [0, 0.002, 0], lw)
            asm.part("leg", piece, leg_m)
    if rng.random() < 0.35:  # stretchers: not a named part
        y = rng.uniform(0.1, 0.2)
        frac = y / y_leg_top
        for sx in (-1, 1):
            x = sx * (w / 2 - inset + splay * (1 - frac))
            z0, z1 = -(d / 2 - inset + splay * (1 - frac)), d / 2 - inset + splay * (1 - frac)
            asm.add(beam([x, y, z0], [x, y, z1], lw * 0.5), leg_m)

    # back: rises from the seat's rear edge, tilted back
    bh = rng.uniform(0.3, 0.5)
    bt = rng.uniform(0.02, 0.05)
    bw = w * rng.uniform(0.85, 1.0)
    style = str(rng.choice(["panel", "panel", "slats", "ladder"]))
    tilt = rng.uniform(0.0, 14.0)
    back = move(_back(rng, bw, bh, bt, style), rot_x(-tilt), (0, seat_h - 0.005, -d / 2 + bt / 2))
    asm.part("back", back, back_m)

    if rng.random() < 0.35:
        arm_m = frame if rng.random() < 0.7 else seat_m
        ah = rng.uniform(0.18, 0.26)
        aw = rng.uniform(0.03, 0.06)
        for sx in (-1, 1):
            x = sx * (w / 2 - aw / 2 + rng.uniform(0.0, 0.02))
            z_front = d / 2 - rng.uniform(0.02, 0.08)
            z_back = -d / 2 + bt
            asm.part(
                "arm",
                [
                    box((aw, 0.025, z_front - z_back + 0.03), (x, seat_h + ah, (z_front + z_back) / 2 + 0.015)),
                    beam([x, seat_h - 0.002, z_front], [x, seat_h + ah, z_front], aw * 0.7),
                ],
                arm_m,
            )


def _swivel(asm: Assembly, rng: np.random.Generator) -> None:
    pal = Palette(rng)
    base_m = pal.metal() if rng.random() < 0.45 else pal.plastic(dark=True)
    wheel_m = base_m if rng.random() < 0.6 else pal.plastic(dark=True)
    seat_m = pal.fabric() if rng.random() < 0.7 else pal.plastic()
    r = rng.random()
    back_m = seat_m if r < 0.65 else (shade(seat_m, rng.uniform(0.7, 0.9)) if r < 0.85 else pal.fabric())

    w = rng.uniform(0.44, 0.55)
    d = rng.uniform(0.42, 0.52)
    seat_h = rng.uniform(0.44, 0.55)
    t = rng.uniform(0.05, 0.1)
    asm.part("seat", [extrude(rounded_rect(w, d, rng.uniform(0.03, 0.1)), seat_h - t, seat_h)], seat_m)

    # star base
    n_legs = int(rng.choice([5, 5, 5, 4]))
    spread = rng.uniform(0.26, 0.34)
    hub_y = rng.uniform(0.09, 0.13)
    wr = rng.uniform(0.022, 0.035)
    ww = rng.uniform(0.015, 0.025)
    tip_y = 2 * wr + rng.uniform(0.015, 0.03)
    phase = rng.uniform(0, 360.0 / n_legs)
    lw = rng.uniform(0.03, 0.05)
    for k in range(n_legs):
        a = np.deg2rad(phase + 360.0 * k / n_legs)
        direction = np.array([np.sin(a), 0.0, np.cos(a)])
        tip = direction * spread + [0, tip_y, 0]
        root = direction * 0.03 + [0, hub_y, 0]
        asm.part("leg", beam(root, tip, lw, lw * 0.8), base_m)
        swivel = rng.uniform(0, 360)
        base = direction * spread
        asm.part("wheel", caster_wheel(wr, ww, swivel).moved(None, base), wheel_m)
        for p in caster_fork(wr, ww, swivel, tip_y - lw * 0.4):
            asm.add(p.moved(None, base), base_m)
    hub_r = rng.uniform(0.04, 0.06)
    asm.add(cylinder(hub_r, 0.05, y0=hub_y - 0.03), base_m)
    col_r = rng.uniform(0.018, 0.03)
    asm.add(cylinder(col_r, seat_h - t - hub_y, y0=hub_y), shade(base_m, 1.1))
    asm.add(box((0.18, 0.04, 0.2), (0, seat_h - t - 0.02, 0)), base_m)

    # back: a curved panel above the rear of the seat, on a spine when it floats
    bh = rng.uniform(0.35, 0.65)
    bt = rng.uniform(0.03, 0.07)
    bw = w * rng.uniform(0.8, 1.0)
    gap = rng.uniform(0.0, 0.08) if rng.random() < 0.5 else 0.0
    tilt = rng.uniform(3.0, 15.0)
    z_back = -d / 2 - bt / 2 + 0.01
    back = bent_slab(bw, bh, bt, rng.uniform(0.0, 0.06)).moved(None, (0, bh / 2, 0))
    asm.part("back", back.moved(rot_x(-tilt), (0, seat_h + gap, z_back)), back_m)
    if gap > 0:
        asm.add(box((0.06, gap + t + 0.06, 0.02), (0, seat_h + gap / 2 - t / 2, z_back - 0.02)), base_m)

    if rng.random() < 0.55:
        arm_m = base_m if rng.random() < 0.6 else shade(seat_m, 0.8)
        ah = rng.uniform(0.17, 0.25)
        aw = rng.uniform(0.04, 0.07)
        for sx in (-1, 1):
            x = sx * (w / 2 + aw / 2 - 0.005)
            z0, z1 = -d * 0.3, d * 0.3
            post = tube(
                np.array([[x, seat_h - t * 0.6, -d * 0.1], [x, seat_h + ah * 0.6, -d * 0.05],
                          [x, seat_h + ah, 0.0]]),
                rng.uniform(0.01, 0.016),
                segments=8,
            )
            pad = box((aw, 0.03, z1 - z0), (x, seat_h + ah + 0.01, (z0 + z1) / 2))
            asm.part("arm", [post, pad], arm_m)
