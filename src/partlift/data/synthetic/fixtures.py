"""Fixtures: Door (in its frame), Faucet, Lamp.

PartNet-E parts: Door (frame, door, handle); Faucet (spout, switch); Lamp (base, body, bulb,
shade). A faucet's column and deck plate are no named part (label -1). Frame: +Y up, the front
faces +Z, standing on y = 0 (a pendant lamp hangs from its canopy), metres.
"""

from __future__ import annotations

import numpy as np

from partlift.data.synthetic.assembly import Assembly
from partlift.data.synthetic.components import move
from partlift.data.synthetic.materials import Material, Palette, shade
from partlift.data.synthetic.primitives import (
    Piece,
    beam,
    box,
    cylinder,
    extrude,
    lathe,
    rod,
    rot_x,
    rot_y,
    rounded_rect,
    sphere,
    tube,
)

__all__ = ["door", "faucet", "lamp"]


# ---------------------------------------------------------------------------------------------
# Door


def _door_handle(rng: np.random.Generator, style: str, hinge_sign: float) -> list[Piece]:
    """A handle on a door face at the origin (normal +Z); levers point towards the hinge."""
    rose_r = rng.uniform(0.022, 0.035)
    rose = cylinder(rose_r, 0.008, segments=20).moved(rot_x(90), (0, 0, 0.008))
    if style == "knob":
        kr = rng.uniform(0.025, 0.035)
        return [rose, rod([0, 0, 0.004], [0, 0, 0.05], 0.008),
                sphere(kr, segments=16, rings=10).scaled((1, 1, 0.75)).moved(None, (0, 0, 0.05 + kr * 0.5))]
    if style == "pull":
        hl = rng.uniform(0.25, 0.6)
        off = rng.uniform(0.04, 0.06)
        return [rod([0, -hl / 2, off], [0, hl / 2, off], 0.012, segments=12),
                rod([0, -hl / 2 + 0.03, 0], [0, -hl / 2 + 0.03, off], 0.008),
                rod([0, hl / 2 - 0.03, 0], [0, hl / 2 - 0.03, off], 0.008)]
    length = rng.uniform(0.1, 0.14)
    off = rng.uniform(0.05, 0.065)
    return [rose, rod([0, 0, 0.004], [0, 0, off], 0.009),
            rod([0, 0, off], [hinge_sign * length, 0, off], rng.uniform(0.008, 0.011), segments=12)]


def door(asm: Assembly, rng: np.random.Generator) -> None:
    """A single or double door in a frame, closed or ajar, with panels or a window."""
    pal = Palette(rng)
    leaf_m = pal.wood() if rng.random() < 0.6 else pal.painted()
    q = rng.random()
    frame_m = leaf_m if q < 0.45 else (shade(leaf_m, rng.uniform(0.7, 0.9)) if q < 0.7 else pal.painted())
    handle_m = pal.metal() if rng.random() < 0.8 else pal.plastic(dark=True)
    double = rng.random() < 0.25
    W = rng.uniform(0.75, 0.95) * (2 if double else 1)
    H = rng.uniform(1.95, 2.2)
    fw, fd = rng.uniform(0.05, 0.12), rng.uniform(0.1, 0.2)
    frame = [
        box((fw, H + fw, fd), (-W / 2 - fw / 2, (H + fw) / 2, 0)),
        box((fw, H + fw, fd), (W / 2 + fw / 2, (H + fw) / 2, 0)),
        box((W + 2 * fw, fw, fd), (0, H + fw / 2, 0)),
    ]
    if rng.random() < 0.3:
        frame.append(box((W + 0.002, 0.015, fd), (0, 0.0075, 0)))
    asm.part("frame", frame, frame_m)

    lt = rng.uniform(0.035, 0.05)
    n = 2 if double else 1
    lw = W / n - 0.006
    lh = H - 0.012
    deco = rng.choice(["plain", "panels", "window", "panels"])
    style = str(rng.choice(["lever", "lever", "knob", "pull"]))
    both_sides = rng.random() < 0.7
    for k in range(n):
        hinge_left = (k == 0) if double else bool(rng.random() < 0.5)
        hs = -1.0 if hinge_left else 1.0  # direction from the handle towards the hinge
        leaf: list[tuple[Piece, Material]] = [(box((lw, lh, lt), (0, 0, 0)), leaf_m)]
        if deco == "panels":
            rows = int(rng.integers(1, 4))
            cols = 1 if lw < 0.6 else int(rng.integers(1, 3))
            m = rng.uniform(0.08, 0.14)
            pw = (lw - (cols + 1) * m) / cols
            ph = (lh - (rows + 1) * m) / rows
            panel_m = leaf_m if rng.random() < 0.6 else shade(leaf_m, 0.9)
            for r in range(rows):
                for c in range(cols):
                    x = -lw / 2 + m + pw / 2 + c * (pw + m)
                    y = -lh / 2 + m + ph / 2 + r * (ph + m)
                    leaf.append((box((pw, ph, lt + 0.01), (x, y, 0)), panel_m))
        elif deco == "window":
            ww, wh = lw * rng.uniform(0.4, 0.7), lh * rng.uniform(0.25, 0.5)
            leaf.append((box((ww, wh, lt + 0.006), (0, lh / 2 - wh / 2 - lh * rng.uniform(0.08, 0.15), 0)),
                         pal.glass()))
        hx = -hs * (lw / 2 - rng.uniform(0.06, 0.09))
        hy = rng.uniform(0.95, 1.05) - lh / 2
        handles = [move(_door_handle(rng, style, hs), None, (hx, hy, lt / 2))]
        if both_sides:
            handles.append(move(_door_handle(rng, style, -hs), rot_y(180), (hx, hy, -lt / 2)))
        angle = rng.uniform(5, 80) if rng.random() < 0.4 else 0.0
        hinge_x = -lw / 2 if hinge_left else lw / 2
        rot = rot_y(-angle if hinge_left else angle) if (k == 0 or not double) else rot_y(angle * 0.5)
        centre = np.array([-W / 2 + (k + 0.5) * W / n + hinge_x, 0.006 + lh / 2, 0.0])

        def place(ps: list[Piece], rot=rot, hinge_x=hinge_x, centre=centre) -> list[Piece]:
            return move(move(ps, None, (-hinge_x, 0, 0)), rot, centre)

        ins = asm.instance("door")
        for p, m_ in leaf:
            asm.add(place([p])[0], m_, ins)
        for hp in handles:
            asm.part("handle", place(hp), handle_m)


# ---------------------------------------------------------------------------------------------
# Faucet


def faucet(asm: Assembly, rng: np.random.Generator) -> None:
    """A deck faucet: column with a gooseneck, straight or flat spout; a top lever, a side lever
    or two knobs."""
    pal = Palette(rng)
    metal = pal.metal() if rng.random() < 0.8 else pal.plastic(dark=rng.random() < 0.5)
    q = rng.random()
    switch_m = metal if q < 0.6 else (shade(metal, 0.8) if q < 0.8 else pal.plastic())
    two_knobs = rng.random() < 0.35
    cr = rng.uniform(0.014, 0.025)
    ch = rng.uniform(0.07, 0.18)
    if two_knobs:
        kx = rng.uniform(0.07, 0.1)
        asm.add(extrude(rounded_rect(2 * kx + 0.07, rng.uniform(0.05, 0.07), 0.02), 0, rng.uniform(0.01, 0.02)), metal)
    else:
        asm.add(cylinder(cr * rng.uniform(1.5, 2.2), rng.uniform(0.008, 0.02), segments=24), metal)
    asm.add(cylinder(cr, ch, segments=20), metal)

    kind = rng.choice(["goose", "straight", "flat"])
    sr = rng.uniform(0.008, 0.013)
    if kind == "goose":
        rise = rng.uniform(0.02, 0.12)
        rg = rng.uniform(0.05, 0.1)
        drop = rng.uniform(0.02, 0.06)
        t = np.linspace(np.pi, 0, 20)
        arc = np.stack([np.zeros_like(t), ch + rise + rg * np.sin(t), rg + rg * np.cos(t)], 1)
        path = np.concatenate([[[0, ch - 0.01, 0], [0, ch + rise * 0.5, 0]], arc,
                               [[0, ch + rise - drop, 2 * rg]]])
        spout = tube(path, sr, segments=12)
    elif kind == "straight":
        ys = ch * rng.uniform(0.55, 0.85)
        reach = rng.uniform(0.1, 0.2)
        tip = rng.uniform(0.0, 0.03)
        path = np.array([[0, ys, 0], [0, ys, reach * 0.6], [0, ys - tip * 0.3, reach * 0.9], [0, ys - tip, reach]])
        spout = tube(path, sr, segments=12)
    else:
        reach = rng.uniform(0.1, 0.18)
        spout = box((rng.uniform(0.03, 0.05), 0.012, reach), (0, ch * rng.uniform(0.75, 0.95), reach / 2))
    asm.part("spout", spout, metal)

    if two_knobs:
        kh = rng.uniform(0.03, 0.05)
        knob_style = rng.choice(["cross", "knob", "lever"])
        for sx in (-1, 1):
            x = sx * kx
            parts = [cylinder(0.012, kh, segments=14).moved(None, (x, 0.005, 0))]
            if knob_style == "cross":
                parts += [beam([x - 0.03, kh, 0], [x + 0.03, kh, 0], 0.012),
                          beam([x, kh, -0.03], [x, kh, 0.03], 0.012)]
            elif knob_style == "knob":
                parts.append(cylinder(0.02, 0.02, segments=16).moved(None, (x, kh - 0.004, 0)))
            else:
                parts.append(beam([x, kh, 0], [x + sx * 0.05, kh + 0.01, 0.0], 0.012, 0.008))
            asm.part("switch", parts, switch_m)
        return
    if rng.random() < 0.65:  # lever on top of the column
        cap_h = rng.uniform(0.015, 0.03)
        length = rng.uniform(0.05, 0.1)
        up = rng.uniform(10, 40)
        a = np.deg2rad(up)
        p0 = np.array([0.0, ch + cap_h, 0.0])
        direction = np.array([0.0, np.sin(a), -np.cos(a)]) if rng.random() < 0.6 else np.array([np.cos(a), np.sin(a), 0])
        parts = [cylinder(cr * 1.05, cap_h + 0.002, y0=ch - 0.002, segments=20),
                 beam(p0 - direction * 0.005, p0 + direction * length, rng.uniform(0.01, 0.02), 0.008)]
    else:  # lever on the side of the column
        ys = ch * rng.uniform(0.4, 0.75)
        stub = rng.uniform(0.015, 0.03)
        parts = [rod([cr - 0.003, ys, 0], [cr + stub, ys, 0], 0.01, segments=14),
                 beam([cr + stub, ys, 0], [cr + stub + 0.005, ys + rng.uniform(0.04, 0.07), 0.01], 0.012, 0.008)]
    asm.part("switch", parts, switch_m)


# ---------------------------------------------------------------------------------------------
# Lamp


_SHADE_WALL = 0.003  # lampshade wall thickness (m)


def _shade_shell(rb: float, rt: float, h: float, th: float = _SHADE_WALL, segments: int = 36) -> Piece:
    """An open lampshade (cone frustum shell) from radius ``rb`` at y = 0 to ``rt`` at y = h."""
    return lathe(np.array([rb, rt, rt - th, rb - th, rb]), np.array([0.0, h, h, 0.0, 0.0]), segments=segments)


def _bulb(r: float) -> list[Piece]:
    """A bulb hanging down from y = 0: a neck and a glass sphere."""
    return [cylinder(r * 0.45, r * 0.9, y0=-r * 0.9, segments=14),
            sphere(r, segments=18, rings=10).scaled((1, 1.15, 1)).moved(None, (0, -r * 1.6, 0))]


def _shade_material(pal: Palette) -> Material:
    return pal.choice(pal.fabric(), pal.painted(), pal.metal(), pal.glass(), pal.striped())


def lamp(asm: Assembly, rng: np.random.Generator) -> None:
    """A table lamp, floor lamp (one or several heads), desk arm lamp or pendant lamp."""
    pal = Palette(rng)
    metal = pal.choice(pal.metal(), pal.plastic(dark=True), pal.painted(), pal.wood())
    q = rng.random()
    base_m = metal if q < 0.6 else pal.choice(pal.noisy(), pal.painted(), pal.wood())
    bulb_m = Material("plain", (0.97, 0.95, 0.85), (0.97, 0.95, 0.85), grain=0.02)
    kind = rng.choice(["table", "table", "floor", "arm", "pendant"])

    if kind == "pendant":
        top = rng.uniform(0.6, 1.2)
        asm.part("base", cylinder(rng.uniform(0.04, 0.07), 0.02, y0=top, segments=24), base_m)
        cord = rng.uniform(0.3, 0.8)
        y_shade = top - cord
        asm.part("body", rod([0, y_shade, 0], [0, top + 0.002, 0], rng.uniform(0.003, 0.008)), metal)
        rb = rng.uniform(0.1, 0.22)
        sh = rng.uniform(0.08, 0.2)
        shade_m = _shade_material(pal)
        # opening downward: a wide rim at the bottom narrowing to the cord
        asm.part("shade", _shade_shell(rb, rng.uniform(0.02, 0.06), sh).moved(None, (0, y_shade - sh, 0)), shade_m)
        asm.part("bulb", move(_bulb(rng.uniform(0.025, 0.04)), None, (0, y_shade, 0)), bulb_m)
        return

    if kind == "arm":
        br = rng.uniform(0.07, 0.11)
        asm.part("base", cylinder(br, rng.uniform(0.015, 0.03), segments=32), base_m)
        a1 = np.deg2rad(rng.uniform(55, 85))
        l1, l2 = rng.uniform(0.25, 0.4), rng.uniform(0.25, 0.4)
        p0 = np.array([0.0, 0.02, -br * 0.3])
        p1 = p0 + l1 * np.array([0.0, np.sin(a1), -np.cos(a1) * 0.6])
        a2 = np.deg2rad(rng.uniform(-25, 15))
        p2 = p1 + l2 * np.array([0.0, np.sin(a2), np.cos(a2)])
        ar = rng.uniform(0.006, 0.012)
        asm.part("body", [rod(p0, p1, ar), rod(p1, p2, ar), sphere(ar * 1.8, segments=12, rings=6).moved(None, p1)],
                 metal)
        rb, sh = rng.uniform(0.06, 0.1), rng.uniform(0.08, 0.14)
        rt = rb * rng.uniform(0.25, 0.5)
        shade_pos = p2 + np.array([0.0, -sh + 0.01, 0.02])
        asm.part("shade", _shade_shell(rb, rt, sh).moved(None, shade_pos), _shade_material(pal))
        asm.part("bulb", move(_bulb(rb * 0.35), None, shade_pos + [0, sh - 0.005, 0]), bulb_m)
        return

    floor = kind == "floor"
    pole_h = rng.uniform(1.2, 1.7) if floor else rng.uniform(0.2, 0.45)
    # base
    bstyle = rng.choice(["disc", "vase", "box"]) if not floor else rng.choice(["disc", "disc", "box"])
    if bstyle == "disc":
        br = rng.uniform(0.12, 0.18) if floor else rng.uniform(0.07, 0.12)
        bh = rng.uniform(0.02, 0.05)
        asm.part("base", lathe(np.array([0, br, br * 0.8, 0]), np.array([0, 0, bh, bh]), segments=32), base_m)
    elif bstyle == "vase":
        br = rng.uniform(0.06, 0.1)
        bh = rng.uniform(0.12, 0.25)
        t = np.linspace(0, 1, 12)
        prof = br * (0.6 + 0.4 * np.sin(np.pi * (0.15 + 0.8 * t)))
        asm.part("base", lathe(np.concatenate([[0], prof, [0]]), np.concatenate([[0], t * bh, [bh]]), segments=32),
                 base_m)
    else:
        bw = rng.uniform(0.12, 0.25) if floor else rng.uniform(0.1, 0.16)
        bh = rng.uniform(0.02, 0.12)
        asm.part("base", box((bw, bh, bw), (0, bh / 2, 0)), base_m)
    pr = rng.uniform(0.008, 0.015) if floor else rng.uniform(0.006, 0.02)
    top_y = bh + pole_h
    heads = 1
    body = [rod([0, bh - 0.003, 0], [0, top_y, 0], pr, segments=14)]
    head_at = [np.array([0.0, top_y, 0.0])]
    if floor and rng.random() < 0.3:  # several heads on arms
        heads = int(rng.integers(2, 4))
        head_at = []
        ph = rng.uniform(0, 360)
        for k in range(heads):
            a = np.deg2rad(ph + 360 * k / heads)
            y0 = top_y - rng.uniform(0.0, 0.3)
            reach = rng.uniform(0.2, 0.35)
            end = np.array([np.sin(a) * reach, y0 + rng.uniform(0.05, 0.2), np.cos(a) * reach])
            body.append(rod([0, y0, 0], end, pr * 0.7, segments=10))
            head_at.append(end)
    asm.part("body", body, metal)
    shade_m = _shade_material(pal)
    up_bowl = floor and heads == 1 and rng.random() < 0.3  # torchiere
    for pos in head_at:
        if up_bowl:
            rb, rt, sh = rng.uniform(0.04, 0.08), rng.uniform(0.15, 0.22), rng.uniform(0.06, 0.12)
            asm.part("shade", _shade_shell(rb, rt, sh).moved(None, pos - [0, 0.005, 0]), shade_m)
            asm.part("bulb", sphere(rng.uniform(0.025, 0.04), segments=18, rings=10).moved(None, pos + [0, 0.03, 0]), bulb_m)
            continue
        scale = 0.6 if heads > 1 else 1.0
        rb = (rng.uniform(0.12, 0.22) if floor else rng.uniform(0.09, 0.16)) * scale
        rt = rb * rng.uniform(0.45, 1.0)
        sh = rng.uniform(0.12, 0.25) * scale
        br = rng.uniform(0.025, 0.04) * scale
        # the bulb stands on the pole top; the shade hangs around it
        bulb = [cylinder(br * 0.45, br * 0.9, y0=-0.002, segments=14),
                sphere(br, segments=18, rings=10).scaled((1, 1.15, 1)).moved(None, (0, br * 1.9, 0))]
        asm.part("bulb", move(bulb, None, pos), bulb_m)
        y_sh = pos[1] + br * 1.9 - sh * rng.uniform(0.45, 0.7)
        shell = _shade_shell(rb, rt, sh).moved(None, (pos[0], y_sh, pos[2]))
        # three spokes from the socket into the shade's wall near its top hold the shade
        ring_y = y_sh + sh - 0.006
        reach = (rb - _SHADE_WALL) + (rt - rb) * (ring_y - y_sh) / sh + _SHADE_WALL / 2
        ph = rng.uniform(0, 360)
        spokes = [
            rod(pos + [0, 0.004, 0],
                pos + [reach * np.sin(np.deg2rad(ph + 120 * j)), ring_y - pos[1],
                       reach * np.cos(np.deg2rad(ph + 120 * j))], 0.002, segments=6)
            for j in range(3)
        ]
        asm.part("shade", [shell, *spokes], shade_m)
