"""Box-like appliances and electronics: Display, Laptop, Refrigerator.

PartNet-E parts: Display (base, screen, support); Laptop (keyboard, screen, shaft, touchpad,
camera); Refrigerator (door, handle). Casings that are no named part (a laptop's base, a
fridge's cabinet, a monitor's back housing) get label -1. Frame: +Y up, fronts face +Z, standing
on y = 0, metres.
"""

from __future__ import annotations

import numpy as np

from partlift.data.synthetic.assembly import Assembly
from partlift.data.synthetic.components import handle, move
from partlift.data.synthetic.materials import Palette, shade
from partlift.data.synthetic.primitives import (
    beam,
    box,
    cylinder,
    ellipse,
    extrude,
    rod,
    rot_x,
    rot_y,
    rounded_rect,
)

__all__ = ["display", "laptop", "refrigerator"]


def display(asm: Assembly, rng: np.random.Generator) -> None:
    """A monitor on a neck and foot, or a TV on two feet; the panel may be tilted."""
    pal = Palette(rng)
    frame_m = pal.plastic(dark=rng.random() < 0.7) if rng.random() < 0.8 else pal.metal()
    q = rng.random()
    stand_m = frame_m if q < 0.6 else (pal.metal() if q < 0.85 else shade(frame_m, 0.8))
    tv = rng.random() < 0.35
    w = rng.uniform(0.8, 1.3) if tv else rng.uniform(0.42, 0.7)
    hgt = w * rng.uniform(0.52, 0.65)
    t = rng.uniform(0.012, 0.03)
    tilt = 0.0 if tv else rng.uniform(-3, 15)
    y_bottom = rng.uniform(0.05, 0.15) if tv else rng.uniform(0.08, 0.2)
    bezel = rng.uniform(0.005, 0.03)

    # panel in a local frame: bottom edge centre at the origin, face towards +Z
    screen = [box((w, hgt, t), (0, hgt / 2, 0)),
              box((w - 2 * bezel, hgt - 2 * bezel, 0.002), (0, hgt / 2, t / 2 + 0.001))]
    housing_d = rng.uniform(0.02, 0.06)
    housing = box((w * rng.uniform(0.5, 0.8), hgt * rng.uniform(0.45, 0.7), housing_d),
                  (0, hgt * 0.5, -t / 2 - housing_d / 2 + 0.001))
    place_r, place_t = rot_x(-tilt), np.array([0.0, y_bottom, 0.0])
    ins = asm.instance("screen")
    asm.add(screen[0].moved(place_r, place_t), frame_m, ins)
    asm.add(screen[1].moved(place_r, place_t), pal.screen(), ins)
    has_housing = rng.random() < 0.8
    if has_housing:
        asm.add(housing.moved(place_r, place_t), frame_m)
    z_back = -t / 2 - (housing_d if has_housing else 0.0)

    if tv:  # two feet, each a base with a short support
        fx = w * rng.uniform(0.3, 0.42)
        fd = rng.uniform(0.15, 0.25)
        for sx in (-1, 1):
            x = sx * fx
            asm.part("support", beam([x, 0.012, -0.01], [x, y_bottom + 0.05, -0.01], 0.03, 0.015), stand_m)
            asm.part("base", box((0.06, 0.015, fd), (x, 0.0075, -0.01)), stand_m)
        return
    # neck from the base up to the back of the panel
    neck_y = y_bottom + hgt * rng.uniform(0.3, 0.55)
    p_top = (rot_x(-tilt) @ np.array([0.0, neck_y - y_bottom, z_back + 0.002])) + place_t
    zb = p_top[2] - rng.uniform(0.0, 0.06)
    half = rng.uniform(0.008, 0.015)  # half the neck's depth: it stands behind the panel
    p_top = p_top - np.array([0.0, 0.0, half - 0.001])
    zb = zb - half
    if rng.random() < 0.5:
        asm.part("support", beam([0, 0.01, zb], p_top, rng.uniform(0.03, 0.07), 2 * half), stand_m)
    else:
        asm.part("support", rod([0, 0.01, zb], p_top, half), stand_m)
    style = rng.choice(["plate", "oval", "round"])
    bt = rng.uniform(0.01, 0.025)
    if style == "plate":
        base = extrude(rounded_rect(rng.uniform(0.18, 0.3), rng.uniform(0.14, 0.22), 0.02), 0, bt)
    elif style == "oval":
        base = extrude(ellipse(rng.uniform(0.1, 0.16), rng.uniform(0.07, 0.11)), 0, bt)
    else:
        base = cylinder(rng.uniform(0.08, 0.12), bt, segments=32)
    asm.part("base", base.moved(None, (0, 0, zb)), stand_m)


def laptop(asm: Assembly, rng: np.random.Generator) -> None:
    """An open laptop: base with keyboard and touchpad, hinge, lid with screen and camera."""
    pal = Palette(rng)
    shell = pal.choice(pal.metal(), pal.plastic(dark=True), pal.plastic(), pal.painted())
    w = rng.uniform(0.28, 0.38)
    d = w * rng.uniform(0.64, 0.72)
    bt = rng.uniform(0.012, 0.022)
    asm.add(box((w, bt, d), (0, bt / 2, 0)), shell)

    kb_m = pal.keys(shell if rng.random() < 0.5 else pal.plastic(dark=True))
    kw, kd = w * rng.uniform(0.82, 0.92), d * rng.uniform(0.38, 0.46)
    kz = -d / 2 + rng.uniform(0.02, 0.04) + kd / 2
    # raised key field (its bottom sinks into the base so no faces are coplanar)
    asm.part("keyboard", box((kw, 0.003, kd), (0, bt + 0.0005, kz)), kb_m)
    tw, td = rng.uniform(0.08, 0.13), rng.uniform(0.05, 0.08)
    tz = min(kz + kd / 2 + rng.uniform(0.01, 0.025) + td / 2, d / 2 - td / 2 - 0.008)
    tp_m = shade(shell, rng.uniform(0.8, 1.1)) if rng.random() < 0.7 else pal.plastic(dark=True)
    asm.part("touchpad", box((tw, 0.002, td), (0, bt - 0.0002, tz)), tp_m)

    # hinge along the back edge (one long shaft or two short ones)
    hr = rng.uniform(0.005, 0.009)
    hy, hz = bt, -d / 2
    q = rng.random()
    hinge_m = shell if q < 0.5 else (shade(shell, 0.7) if q < 0.8 else pal.metal())
    if rng.random() < 0.6:
        hl = w * rng.uniform(0.5, 0.9)
        asm.part("shaft", rod([-hl / 2, hy, hz], [hl / 2, hy, hz], hr, segments=14), hinge_m)
    else:
        hl = w * rng.uniform(0.08, 0.15)
        for sx in (-1, 1):
            x = sx * w * rng.uniform(0.3, 0.4)
            asm.part("shaft", rod([x - hl / 2, hy, hz], [x + hl / 2, hy, hz], hr, segments=14), hinge_m)

    # lid, opened by `angle` from closed; built closed (lying on the base), then rotated
    lt = rng.uniform(0.005, 0.01)
    angle = rng.uniform(95, 135)
    lid_m = shell if rng.random() < 0.8 else shade(shell, 0.85)
    bezel = rng.uniform(0.006, 0.02)
    top_bezel = bezel + rng.uniform(0.0, 0.01)
    lid = [box((w, lt, d), (0, lt / 2, 0))]
    disp = box((w - 2 * bezel, 0.001, d - bezel - top_bezel), (0, -0.0005, (bezel - top_bezel) / 2))
    cam = cylinder(rng.uniform(0.003, 0.006), 0.0015, y0=-0.0015, segments=12).moved(
        None, (0, 0, d / 2 - top_bezel / 2))
    # built closed over the base (display facing down); the hinge edge is z = -d/2, moved to
    # the origin, then the lid turns up about X by `angle` and goes onto the hinge axis

    def place(p):
        return p.moved(None, (0, 0, d / 2)).moved(rot_x(-angle), (0, hy + hr, hz))

    ins = asm.instance("screen")
    asm.add(place(lid[0]), lid_m, ins)
    asm.add(place(disp), pal.screen(), ins)
    asm.part("camera", place(cam), pal.plastic(dark=True))


def refrigerator(asm: Assembly, rng: np.random.Generator) -> None:
    """A fridge: single door, top or bottom freezer, side-by-side, or French doors + drawer."""
    pal = Palette(rng)
    body_m = pal.choice(pal.metal(), pal.painted(), pal.painted())
    q = rng.random()
    door_m = body_m if q < 0.6 else (shade(body_m, rng.uniform(0.85, 1.1)) if q < 0.85 else pal.metal())
    q = rng.random()
    handle_m = door_m if q < 0.35 else (pal.metal() if q < 0.75 else pal.plastic(dark=True))
    mini = rng.random() < 0.15
    w = rng.uniform(0.45, 0.55) if mini else rng.uniform(0.55, 0.95)
    h = rng.uniform(0.5, 0.9) if mini else rng.uniform(1.4, 1.9)
    d = rng.uniform(0.5, 0.75)
    foot = rng.uniform(0.0, 0.05)
    asm.add(box((w, h - foot, d), (0, foot + (h - foot) / 2, 0)), body_m)
    if foot > 0.01:
        for sx in (-1, 1):
            for sz in (-1, 1):
                asm.add(cylinder(0.015, foot + 0.002, segments=10).moved(None, (sx * (w / 2 - 0.04), 0, sz * (d / 2 - 0.04))),
                        pal.plastic(dark=True))
    layout = "single" if mini else str(rng.choice(["single", "top", "bottom", "side", "french"]))
    g = 0.004
    y0, y1 = foot, h
    # (x0, x1, y0, y1, hinge_left, handle_orientation)
    fronts: list[tuple[float, float, float, float, bool, str]] = []
    left = bool(rng.random() < 0.5)
    if layout == "single":
        fronts.append((-w / 2, w / 2, y0, y1, left, "v"))
    elif layout in ("top", "bottom"):
        split = y0 + (h - foot) * (rng.uniform(0.65, 0.75) if layout == "top" else rng.uniform(0.3, 0.4))
        fronts += [(-w / 2, w / 2, split, y1, left, "v"), (-w / 2, w / 2, y0, split, left,
                                                          "v" if layout == "top" else "h")]
    elif layout == "side":
        xs = rng.uniform(-0.08, 0.0) * w
        fronts += [(-w / 2, xs, y0, y1, True, "v"), (xs, w / 2, y0, y1, False, "v")]
    else:
        split = y0 + (h - foot) * rng.uniform(0.3, 0.4)
        fronts += [(-w / 2, 0.0, split, y1, True, "v"), (0.0, w / 2, split, y1, False, "v"),
                   (-w / 2, w / 2, y0, split, left, "h")]
    style = str(rng.choice(["bar", "bar", "pull", "arch", "recess"]))
    open_k = int(rng.integers(len(fronts))) if rng.random() < 0.25 else -1
    dt = rng.uniform(0.04, 0.07)
    for k, (xa, xb, ya, yb, hinge_left, orient) in enumerate(fronts):
        fw, fh = xb - xa - 2 * g, yb - ya - 2 * g
        pieces_door = [box((fw, fh, dt), (0, 0, dt / 2))]
        if orient == "v":
            hl = float(np.clip(fh * rng.uniform(0.3, 0.8), 0.15, 0.9))
            hx = (fw / 2 - 0.04) * (1 if hinge_left else -1)
            hy = float(np.clip(-fh / 2 + hl / 2 + 0.05, -fh / 2 + hl / 2, fh / 2 - hl / 2)) if ya > y0 + 0.2 else \
                float(np.clip(fh / 2 - hl / 2 - 0.05, -fh / 2 + hl / 2, fh / 2 - hl / 2))
            if style == "recess":
                hp = [box((0.02, hl, 0.02), (hx, hy, dt + 0.008))]
            else:
                hp = move(handle(rng, hl, style=style, scale=1.8, vertical=True), None, (hx, hy, dt))
        else:
            hl = fw * rng.uniform(0.4, 0.8)
            hy = fh / 2 - 0.05
            hp = ([box((hl, 0.02, 0.02), (0, hy, dt + 0.008))] if style == "recess" else
                  move(handle(rng, hl, style=style, scale=1.8), None, (0, hy, dt)))
        angle = rng.uniform(15, 70) if (k == open_k and orient == "v") else 0.0
        hinge_x = -fw / 2 if hinge_left else fw / 2
        rot = rot_y(-angle if hinge_left else angle)
        centre = np.array([(xa + xb) / 2 + hinge_x, (ya + yb) / 2, d / 2])

        def place(ps, rot=rot, hinge_x=hinge_x, centre=centre):
            return move(move(ps, None, (-hinge_x, 0, 0)), rot, centre)

        asm.part("door", place(pieces_door), door_m)
        asm.part("handle", place(hp), handle_m)
