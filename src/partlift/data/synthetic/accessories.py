"""Carried things: Eyeglasses, Suitcase.

PartNet-E parts: Eyeglasses (body, leg); Suitcase (handle, wheel). A suitcase's shell and feet
are no named part (label -1). Frame: +Y up, the front faces +Z, metres; a suitcase stands on
y = 0, eyeglasses are centred on the origin with the temples reaching back to -Z.
"""

from __future__ import annotations

import numpy as np

from partlift.data.synthetic.assembly import Assembly
from partlift.data.synthetic.components import caster_fork, caster_wheel, wheel
from partlift.data.synthetic.materials import Material, Palette, shade
from partlift.data.synthetic.primitives import (
    Piece,
    box,
    extrude,
    rod,
    rot_x,
    rot_y,
    rounded_rect,
    tube,
)

__all__ = ["eyeglasses", "suitcase"]


def _rim_outline(rng: np.random.Generator, w: float, h: float, n: int = 40) -> np.ndarray:
    """(n, 2) lens outline (x, y) centred at 0: a superellipse between round and rectangular."""
    p = rng.uniform(2.0, 5.0)
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    x = (w / 2) * np.sign(c) * np.abs(c) ** (2 / p)
    y = (h / 2) * np.sign(s) * np.abs(s) ** (2 / p)
    y = y - (h * 0.08) * (x / (w / 2)) ** 2 * (y < 0)  # slightly narrower towards the nose
    return np.stack([x, y], 1)


def eyeglasses(asm: Assembly, rng: np.random.Generator) -> None:
    """Glasses: two rims with lenses joined by a bridge (the body) and two temples (legs),
    open or partly folded."""
    pal = Palette(rng)
    frame_m = pal.choice(pal.plastic(dark=True), pal.plastic(), pal.metal(), pal.noisy())
    q = rng.random()
    leg_m = frame_m if q < 0.65 else (shade(frame_m, rng.uniform(0.7, 0.9)) if q < 0.85 else pal.metal())
    lens_m = Material("plain", (0.75, 0.8, 0.85), (0.75, 0.8, 0.85), grain=0.02) if rng.random() < 0.6 else pal.glass()
    lw = rng.uniform(0.045, 0.058)
    lh = lw * rng.uniform(0.6, 0.9)
    gap = rng.uniform(0.014, 0.022)
    rr = rng.uniform(0.0012, 0.003) if frame_m.kind == "brushed" else rng.uniform(0.002, 0.0035)
    outline = _rim_outline(rng, lw, lh)
    body: list[tuple[Piece, Material]] = []
    for sx in (-1, 1):
        cx = sx * (gap / 2 + lw / 2)
        ring = np.stack([outline[:, 0] + cx, outline[:, 1], np.zeros(len(outline))], 1)
        body.append((tube(ring, rr, segments=8, closed=True), frame_m))
        lens = extrude(outline * 0.98, -0.0008, 0.0008).moved(rot_x(-90), (cx, 0, 0))
        body.append((lens, lens_m))
        # end piece: from the rim's outer edge backwards to the hinge
        x_out = cx + sx * (lw / 2 - 0.001)
        body.append((box((0.006, 0.008, 0.01), (x_out + sx * 0.002, lh * 0.2, -0.004)), frame_m))
    # bridge over the nose
    t = np.linspace(0, np.pi, 12)
    bridge_h = lh * rng.uniform(0.15, 0.35)
    bridge = np.stack([(gap / 2 + 0.002) * np.cos(t), bridge_h + (lh * 0.12) * np.sin(t), 0.001 * np.sin(t)], 1)
    body.append((tube(bridge, rr * 0.9, segments=6), frame_m))
    ins = asm.instance("body")
    for p, m in body:
        asm.add(p, m, ins)
    # temples: hinge at the end piece, straight back then bent down behind the ear
    length = rng.uniform(0.12, 0.15)
    drop = rng.uniform(0.015, 0.035)
    fold = rng.uniform(0, 85) if rng.random() < 0.3 else rng.uniform(-8, 5)
    tr = rng.uniform(0.0015, 0.003)
    for sx in (-1, 1):
        # folded temples cross behind the lenses: one passes just above the other
        lift = sx * 1.2 * tr if fold > 30 else 0.0
        hinge = np.array([sx * (gap / 2 + lw + 0.004), lh * 0.2 + lift, -0.009])
        s = np.linspace(0, 1, 14)
        straight = 0.75
        z = -length * s
        y = -drop * (np.clip(s - straight, 0.0, None) / (1 - straight)) ** 1.5
        path = np.stack([np.zeros_like(s), y, z], 1)
        # fold inward about the hinge's vertical axis (positive `fold` folds towards the other lens)
        leg = tube(path, tr, segments=6).moved(rot_y(sx * fold), hinge)
        asm.part("leg", leg, leg_m)


def suitcase(asm: Assembly, rng: np.random.Generator) -> None:
    """An upright suitcase: rounded shell, telescopic trolley handle and/or carry handles,
    two inline wheels or four spinner casters (or none)."""
    pal = Palette(rng)
    shell_m = pal.choice(pal.plastic(), pal.striped(), pal.fabric(), pal.painted(), pal.noisy())
    q = rng.random()
    handle_m = pal.plastic(dark=True) if q < 0.5 else (shell_m if q < 0.75 else pal.metal())
    w = rng.uniform(0.34, 0.5)
    h = rng.uniform(0.45, 0.75)
    d = rng.uniform(0.18, 0.3)
    wheels = str(rng.choice(["spinner", "spinner", "inline", "none"]))
    lift = rng.uniform(0.05, 0.09) if wheels != "none" else rng.uniform(0.0, 0.02)
    # shell: rounded rectangle in (x, y), extruded along z: build in (x, z) and turn X by -90 deg
    r = rng.uniform(0.02, 0.08)
    outline = rounded_rect(w, h, r, n_corner=6)
    shell = extrude(outline, -d / 2, d / 2).moved(rot_x(-90), (0, lift + h / 2, 0))
    asm.add(shell, shell_m)
    if rng.random() < 0.5:  # zip band around the middle
        band = extrude(rounded_rect(w + 0.006, h + 0.006, r + 0.003), -0.008, 0.008).moved(rot_x(-90), (0, lift + h / 2, 0))
        asm.add(band, shade(shell_m, 0.6))
    top = lift + h

    kinds = []
    if rng.random() < 0.75:
        kinds.append("trolley")
    if rng.random() < 0.7 or not kinds:
        kinds.append("top")
    if rng.random() < 0.35:
        kinds.append("side")
    for kind in kinds:
        if kind == "trolley":
            ext = rng.uniform(0.0, 0.45)
            sep = w * rng.uniform(0.45, 0.7)
            tr = rng.uniform(0.007, 0.012)
            z = -d / 2 + rng.uniform(0.02, 0.04)
            pieces = [rod([sx * sep / 2, top - 0.02, z], [sx * sep / 2, top + ext + 0.03, z], tr) for sx in (-1, 1)]
            pieces.append(box((sep + 2 * tr + 0.02, 0.025, 0.03), (0, top + ext + 0.04, z)))
            asm.part("handle", pieces, handle_m)
        elif kind == "top":
            hl = rng.uniform(0.1, 0.16)
            hh = rng.uniform(0.02, 0.035)
            t = np.linspace(0, np.pi, 16)
            z = rng.uniform(-0.02, 0.02)
            path = np.stack([(hl / 2) * np.cos(t), top - 0.004 + hh * np.sin(t) ** 0.5, np.full_like(t, z)], 1)
            asm.part("handle", tube(path, rng.uniform(0.006, 0.01), segments=8), handle_m)
        else:
            hl = rng.uniform(0.1, 0.16)
            hh = rng.uniform(0.02, 0.03)
            t = np.linspace(0, np.pi, 16)
            path = np.stack([w / 2 - 0.004 + hh * np.sin(t) ** 0.5, lift + h / 2 + (hl / 2) * np.cos(t),
                             np.zeros_like(t)], 1)
            asm.part("handle", tube(path, rng.uniform(0.006, 0.01), segments=8), handle_m)

    wheel_m = pal.plastic(dark=True) if rng.random() < 0.8 else pal.plastic()
    housing_m = handle_m if rng.random() < 0.6 else shade(shell_m, 0.7)
    if wheels == "spinner":
        wr = lift * rng.uniform(0.3, 0.4)
        ww = wr * 0.8
        for sx in (-1, 1):
            for sz in (-1, 1):
                base = np.array([sx * (w / 2 - 0.04), 0.0, sz * (d / 2 - 0.04)])
                sw = rng.uniform(0, 360)
                asm.part("wheel", caster_wheel(wr, ww, sw).moved(None, base), wheel_m)
                for p in caster_fork(wr, ww, sw, lift + 0.003):
                    asm.add(p.moved(None, base), housing_m)
    elif wheels == "inline":
        wr = lift * 0.5
        ww = rng.uniform(0.015, 0.025)
        for sx in (-1, 1):
            c = np.array([sx * (w / 2 - ww / 2 - 0.02), wr, -d / 2 + wr + 0.005])
            asm.part("wheel", wheel(wr, ww).moved(None, c), wheel_m)
            asm.add(box((ww + 0.012, lift - wr + 0.01, 2 * wr + 0.01), (c[0], wr + (lift - wr) / 2 + 0.004, c[2])),
                    housing_m)
        for sx in (-1, 1):  # feet at the front
            asm.add(box((0.04, lift + 0.003, 0.03), (sx * (w / 2 - 0.04), lift / 2, d / 2 - 0.03)), housing_m)
    elif lift > 0.005:
        for sx in (-1, 1):
            for sz in (-1, 1):
                asm.add(box((0.03, lift + 0.003, 0.03), (sx * (w / 2 - 0.04), lift / 2, sz * (d / 2 - 0.04))),
                        housing_m)
