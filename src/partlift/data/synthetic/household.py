"""Household objects: CoffeeMachine, Dispenser, Toaster, Toilet, Safe, Switch, Window, Cart,
FoldingChair.

PartNet-E parts: CoffeeMachine (button, container, knob, lid); Dispenser (head, lid); Toaster
(button, slider); Toilet (lid, seat, button); Safe (door, switch, button); Switch (switch);
Window (window); Cart (wheel); FoldingChair (seat). Casings, bowls, tanks, wall plates, window
frames, cart frames and a folding chair's legs and back are no named part (label -1). Frame: +Y
up, fronts face +Z, standing on y = 0 (a switch's wall plate faces +Z), metres.
"""

from __future__ import annotations

import numpy as np

from partlift.data.synthetic.assembly import Assembly
from partlift.data.synthetic.components import caster_fork, caster_wheel, move, wheel
from partlift.data.synthetic.containers import _smooth_profile
from partlift.data.synthetic.kit import front_panel, push_button, slab
from partlift.data.synthetic.materials import Material, Palette, shade
from partlift.data.synthetic.primitives import (
    box,
    cylinder,
    ellipse,
    extrude,
    grid,
    lathe,
    rod,
    rot_x,
    rot_y,
    torus,
)

__all__ = ["coffee_machine", "dispenser", "toaster", "toilet", "safe", "switch", "window", "cart", "folding_chair"]


def _knob(r: float, depth: float, at) -> list:
    """A rotary knob on a front face (normal +Z): a disc with a grip bar."""
    return [cylinder(r, depth, y0=-0.001, segments=18).moved(rot_x(90), at),
            box((r * 0.35, r * 1.7, depth * 0.6), (at[0], at[1], at[2] + depth))]


def coffee_machine(asm: Assembly, rng: np.random.Generator) -> None:
    """A drip machine (glass carafe on a hot plate, water-tank lid on top), an espresso machine
    (portafilter cup as container, steam knob) or a capsule machine; front buttons."""
    pal = Palette(rng)
    style = str(rng.choice(["drip", "espresso", "capsule"]))
    body_m = pal.choice(pal.plastic(dark=True), pal.metal(), pal.painted(), pal.plastic())
    trim_m = pal.choice(shade(body_m, 0.7), pal.metal(), pal.plastic(dark=True))
    btn_m = pal.choice(trim_m, pal.plastic(), pal.metal())
    w = rng.uniform(0.16, 0.3)
    d = rng.uniform(0.2, 0.32)
    h = rng.uniform(0.28, 0.4)
    # body: a back tower, a top head overhanging the front, a base with a drip tray / hot plate
    bd = d * rng.uniform(0.4, 0.55)
    asm.add(slab(w, h, bd, 0.01, (0, h / 2, -d / 2 + bd / 2)), body_m)
    hh = h * rng.uniform(0.2, 0.3)
    asm.add(slab(w, hh, d, 0.01, (0, h - hh / 2, 0)), body_m)
    bh = h * rng.uniform(0.05, 0.1)
    asm.add(slab(w, bh, d, 0.01, (0, bh / 2, 0)), trim_m)
    zf = d / 2
    gap_y0, gap_y1 = bh, h - hh
    if style == "drip":
        cr = min(w * 0.35, d * 0.3)
        ch = (gap_y1 - gap_y0) * rng.uniform(0.7, 0.9)
        r, y = _smooth_profile([0, ch * 0.6, ch * 0.85, ch], [cr, cr * 1.05, cr * 0.7, cr * 0.75], n=16)
        jar = [lathe(np.concatenate([[0.0], r]), np.concatenate([[0.0], y]), segments=28),
               torus(cr * 0.45, 0.008, start_deg=-80, end_deg=80, plane="xy", segments=6, n=12).scaled((1.2, 1, 1))
               .moved(rot_y(90), (0, ch * 0.5, -cr * 1.0))]
        ins = asm.instance("container")
        cz = zf - cr - 0.01
        asm.add(jar[0].moved(None, (0, gap_y0, cz)), pal.glass(), ins)
        asm.add(jar[1].moved(rot_y(180), (0, gap_y0, cz)), pal.plastic(dark=True), ins)
        lid = slab(w * 0.7, 0.012, d * 0.5, 0.02, (0, h + 0.006, -d * 0.15))
        open_deg = rng.uniform(30, 80) if rng.random() < 0.3 else 0.0
        asm.part("lid", lid.moved(None, (0, -h - 0.006, d * 0.1)).moved(rot_x(-open_deg), (0, h + 0.006, -d * 0.25)),
                 trim_m)
    else:
        # a water tank at the back (-1) with its lid, and a cup / portafilter as the container
        tw = w * 0.7
        asm.add(slab(tw, h * 0.1, bd * 0.6, 0.01, (0, h + h * 0.05, -d / 2 + bd * 0.35)), shade(body_m, 0.9))
        asm.part("lid", slab(tw * 1.02, 0.012, bd * 0.62, 0.01, (0, h + h * 0.1 + 0.006, -d / 2 + bd * 0.35)), trim_m)
        cr = rng.uniform(0.03, 0.045)
        cup_h = rng.uniform(0.06, 0.1)
        ins = asm.instance("container")
        cz = zf - cr - 0.02
        asm.add(lathe(np.array([0.0, cr * 0.8, cr, cr]), np.array([0.0, 0.0, cup_h * 0.5, cup_h]), segments=24)
                .moved(None, (0, gap_y0, cz)), pal.painted(), ins)
        asm.add(torus(cup_h * 0.3, 0.005, start_deg=-90, end_deg=90, plane="xy", segments=6, n=12)
                .moved(None, (cr, gap_y0 + cup_h * 0.5, cz)), pal.painted(), ins)
        if style == "espresso":  # group head (-1)
            asm.add(cylinder(0.035, 0.03, y0=gap_y1 - 0.029, segments=20).moved(None, (0, 0, cz)), pal.metal())
    # buttons on the head's front (or top), knobs on the side/front
    nb = int(rng.integers(1, 5))
    for k in range(nb):
        x = -w * 0.35 + k * w * 0.7 / max(nb - 1, 1) if nb > 1 else -w * 0.25
        asm.part("button", push_button(str(rng.choice(["round", "square", "pill"])), min(0.014, w * 0.12), 0.004,
                                       (x * 0.8, h - hh / 2, zf), facing="z"), btn_m)
    if style == "espresso" or rng.random() < 0.4:
        for sx in ([1] if rng.random() < 0.6 else [-1, 1]):
            asm.part("knob", _knob(rng.uniform(0.012, 0.02), 0.015, (sx * w * 0.35, (gap_y0 + gap_y1) / 2 + 0.02,
                                                                     -d / 2 + bd + 0.001)), pal.choice(btn_m, pal.metal()))


def dispenser(asm: Assembly, rng: np.random.Generator) -> None:
    """A pump bottle (collar lid screwed on the neck, pump head with a nozzle) or a wall-mounted
    soap dispenser (hinged front cover = lid, push pad = head)."""
    pal = Palette(rng)
    body_m = pal.choice(pal.plastic(), pal.glass(), pal.painted(), pal.striped())
    head_m = pal.choice(pal.plastic(), pal.plastic(dark=True), pal.metal(), body_m)
    if rng.random() < 0.75:
        h = rng.uniform(0.12, 0.22)
        R = rng.uniform(0.03, 0.05)
        rn = R * rng.uniform(0.3, 0.45)
        square = rng.random() < 0.3
        if square:
            asm.add(slab(2 * R, h * 0.85, 2 * R * rng.uniform(0.6, 1.0), R * 0.4, (0, h * 0.425, 0)), body_m)
            asm.add(cylinder(rn, h * 0.15 + 0.002, y0=h * 0.85 - 0.002, segments=16), body_m)
        else:
            r, y = _smooth_profile([0, h * 0.7, h * 0.9, h], [R, R * rng.uniform(0.9, 1.05), rn, rn], n=20)
            asm.add(lathe(np.concatenate([[0.0], r]), np.concatenate([[0.0], y]), segments=28, cap_end=True), body_m)
        lr = rn * rng.uniform(1.2, 1.5)
        lh = rng.uniform(0.012, 0.025)
        asm.part("lid", cylinder(lr, lh, y0=h - lh * 0.6, segments=20), head_m)
        sh = rng.uniform(0.01, 0.03)
        top = h + lh * 0.4 + sh
        nl = rng.uniform(0.025, 0.045)
        ang = rng.uniform(0, 360)
        head = [cylinder(rn * 0.35, sh + 0.002, y0=h + lh * 0.4 - 0.002, segments=10),
                slab(rn * 2.2, 0.015, rn * 2.0, rn * 0.8, (0, top + 0.0075, 0)),
                rod([0, top + 0.008, 0], [0, top + 0.006, nl], 0.004, r1=0.003)]
        asm.part("head", move(head, rot_y(ang)), head_m)
        return
    # wall-mounted: back plate + reservoir (-1), front cover (lid), push pad under it (head)
    w, h, d = rng.uniform(0.1, 0.15), rng.uniform(0.18, 0.28), rng.uniform(0.08, 0.12)
    y0 = 0.0
    asm.add(slab(w, h, d * 0.6, 0.01, (0, y0 + h / 2, -d * 0.2)), body_m)
    ins = asm.instance("lid")
    asm.add(slab(w * 1.02, h * 0.75, d * 0.45, 0.015, (0, y0 + h * 0.625, d * 0.22)), head_m, ins)
    if rng.random() < 0.5:  # a window on the cover
        asm.add(box((w * 0.3, h * 0.2, 0.002), (0, y0 + h * 0.7, d * 0.445)), pal.glass(), ins)
    asm.part("head", slab(w * 0.6, h * 0.15, d * 0.35, 0.01, (0, y0 + h * 0.15, d * 0.2)), shade(head_m, 0.8))


def toaster(asm: Assembly, rng: np.random.Generator) -> None:
    """A 2-slot, 4-slot or long-slot toaster: rounded body (-1) with dark slots, one or two lever
    sliders on the front, 1-4 buttons (cancel, defrost, a browning dial counts as a button)."""
    pal = Palette(rng)
    body_m = pal.choice(pal.metal(), pal.painted(), pal.plastic(), pal.plastic(dark=True))
    trim_m = pal.choice(pal.plastic(dark=True), shade(body_m, 0.7), body_m)
    btn_m = pal.choice(trim_m, pal.metal(), pal.plastic())
    style = str(rng.choice(["two", "two", "four", "long"]))
    w = rng.uniform(0.25, 0.3) if style != "four" else rng.uniform(0.28, 0.34)
    d = rng.uniform(0.14, 0.2) if style != "four" else rng.uniform(0.24, 0.3)
    h = rng.uniform(0.17, 0.22)
    asm.add(slab(w, h, d, rng.uniform(0.01, 0.06), (0, h / 2, 0)), body_m)
    asm.add(slab(w * 1.02, 0.015, d * 1.02, 0.01, (0, 0.0075, 0)), trim_m)
    slot = Material("plain", (0.05, 0.05, 0.05), (0.05, 0.05, 0.05), grain=0.0)
    n_rows = 2 if style == "four" else 1
    n_slots = 1 if style == "long" else 2
    for rr in range(n_rows):
        for k in range(n_slots):
            sx = 0.0 if n_slots == 1 else (k - 0.5) * w * 0.4
            sz = 0.0 if n_rows == 1 else (rr - 0.5) * d * 0.45
            asm.add(box((w * (0.75 if n_slots == 1 else 0.33), 0.002, 0.03), (sx, h + 0.0005, sz)), slot)
    for rr in range(n_rows):
        x = -w / 2 - 0.004 if rr == 0 else w / 2 + 0.004
        # the slider: a lever through a slot on the side wall's front half
        asm.add(box((0.003, h * 0.6, 0.012), (x - np.sign(x) * 0.001, h * 0.5, d * 0.3)), slot)
        y = h * rng.uniform(0.3, 0.8)
        asm.part("slider", slab(0.035, 0.015, 0.03, 0.006, (x + np.sign(x) * 0.012, y, d * 0.3)), trim_m)
    nb = int(rng.integers(1, 5))
    for k in range(nb):
        y = h * (0.7 - 0.15 * k)
        if k == 0 and rng.random() < 0.5:
            asm.part("button", _knob(0.015, 0.012, (0, 0, 0))[0].moved(None, (w * 0.3, y, d / 2 + 0.001)), btn_m)
        else:
            asm.part("button", push_button(str(rng.choice(["round", "square", "pill"])), 0.014, 0.004,
                                           (w * 0.3, y, d / 2), facing="z"), btn_m)


def toilet(asm: Assembly, rng: np.random.Generator) -> None:
    """A close-coupled toilet (tank with a push button on top or a lever), or a wall-hung bowl
    with a flush plate; ring seat and lid, closed, or raised."""
    pal = Palette(rng)
    ceramic = pal.choice(Material("plain", (0.93, 0.93, 0.92), (0.93, 0.93, 0.92), grain=0.02), pal.painted())
    q = rng.random()
    seat_m = ceramic if q < 0.6 else pal.choice(pal.plastic(), pal.wood(), pal.painted())
    lid_m = seat_m if rng.random() < 0.85 else pal.plastic()
    btn_m = pal.choice(pal.metal(), ceramic, pal.plastic())
    wall_hung = rng.random() < 0.3
    bw, bl = rng.uniform(0.34, 0.4), rng.uniform(0.45, 0.55)
    h = rng.uniform(0.38, 0.43)
    y_low = rng.uniform(0.25, 0.32) if wall_hung else 0.0
    zc = rng.uniform(0.05, 0.1)
    # bowl: an elliptic pedestal (or hung shell) widening into the rim
    ys = np.array([y_low, y_low + (h - y_low) * 0.5, h - 0.03, h])
    sc = np.array([0.55, 0.7, 1.0, 1.0]) if not wall_hung else np.array([0.6, 0.85, 1.0, 1.0])
    ring = ellipse(bw / 2, bl / 2, 28)
    rings = [np.stack([ring[:, 0] * s, np.full(len(ring), yy), ring[:, 1] * s + zc], 1) for s, yy in zip(sc, ys, strict=True)]
    pts = np.stack(rings, 1)  # (n, 4, 3)
    asm.add(grid(pts, wrap_u=True), ceramic)
    asm.add(extrude(ring * np.array([0.55, 0.55]) + np.array([0, zc]), y_low, y_low + 0.002), ceramic)
    inner = extrude(ellipse(bw * 0.33, bl * 0.33, 24) + np.array([0, zc + 0.02]), h - 0.12, h - 0.001)
    asm.add(inner, shade(ceramic, 0.8))
    # seat ring and lid, hinged at the back (z = zc - bl/2 + 0.03)
    hz = zc - bl / 2 + 0.04
    st = rng.uniform(0.015, 0.03)
    seat = torus(1.0, 0.2, plane="xz", segments=8, n=32).scaled((bw * 0.4, st * 2.5, bl * 0.38))
    seat_up = rng.uniform(70, 100) if rng.random() < 0.15 else 0.0
    lid_up = max(seat_up, rng.uniform(70, 105) if rng.random() < 0.5 else 0.0)

    def hinge(p, deg):
        return p.moved(None, (0, 0, zc - hz)).moved(rot_x(-deg), (0, h + st * 0.5, hz))

    asm.part("seat", hinge(seat, seat_up), seat_m)
    lid = extrude(ellipse(bw * 0.47, bl * 0.45, 32), 0.0, st * 0.8).moved(None, (0, st * 0.5, 0))
    asm.part("lid", hinge(lid, lid_up), lid_m)
    if wall_hung:
        pw, ph = 0.22, 0.15
        asm.add(box((bw * 1.1, 0.9, 0.03), (0, 0.45, zc - bl / 2 - 0.015)), shade(ceramic, 0.95))
        asm.add(front_panel(pw, ph, 0.01, 0.01, (0, 0.9 + 0.08, zc - bl / 2 + 0.005)).moved(None, (0, -0.08, 0)), btn_m)
        for sx in ([-1, 1] if rng.random() < 0.7 else [0]):
            asm.part("button", push_button("square", pw * 0.35 if sx else pw * 0.5, 0.005,
                                           (sx * pw * 0.22, 0.9, zc - bl / 2 + 0.01), facing="z"), shade(btn_m, 0.9))
        return
    # tank at the back
    tw, td, th = bw * rng.uniform(0.9, 1.1), rng.uniform(0.15, 0.22), rng.uniform(0.3, 0.42)
    tz = zc - bl / 2 - td / 2 + 0.06
    asm.add(slab(tw, th, td, 0.02, (0, h + th / 2 - 0.02, tz)), ceramic)
    asm.add(slab(tw * 1.03, 0.025, td * 1.05, 0.02, (0, h + th - 0.02 + 0.0125, tz)), ceramic)
    top = h + th - 0.02 + 0.025
    if rng.random() < 0.7:
        dual = rng.random() < 0.5
        for k in range(2 if dual else 1):
            asm.part("button", cylinder(0.02 if not dual else 0.015, 0.008, y0=top - 0.002, segments=16)
                     .moved(None, ((k - 0.5) * 0.035 if dual else 0.0, 0, tz)), btn_m)
    else:  # lever on the front-left of the tank
        asm.part("button", [cylinder(0.018, 0.01, segments=14).moved(rot_x(90), (-tw * 0.35, top - 0.05, tz + td / 2 - 0.002)),
                            box((0.06, 0.012, 0.008), (-tw * 0.35 + 0.03, top - 0.05, tz + td / 2 + 0.01))], btn_m)


def safe(asm: Assembly, rng: np.random.Generator) -> None:
    """A safe: a thick-walled box, a front door (closed or ajar) with a keypad (buttons) and a
    handle or spoked wheel (switch), or a combination dial (switch) and handle."""
    pal = Palette(rng)
    body_m = pal.choice(pal.painted(), pal.metal(), pal.plastic(dark=True))
    door_m = body_m if rng.random() < 0.7 else shade(body_m, 0.85)
    hw_m = pal.choice(pal.metal(), pal.plastic(dark=True))
    w = rng.uniform(0.3, 0.6)
    h = w * rng.uniform(0.7, 1.5)
    d = rng.uniform(0.3, 0.5)
    t = rng.uniform(0.02, 0.05)
    for p in (box((t, h, d), (-w / 2 + t / 2, h / 2, 0)), box((t, h, d), (w / 2 - t / 2, h / 2, 0)),
              box((w - 2 * t, t, d), (0, h - t / 2, 0)), box((w - 2 * t, t, d), (0, t / 2, 0)),
              box((w - 2 * t, h - 2 * t, t), (0, h / 2, -d / 2 + t / 2))):
        asm.add(p, body_m)
    if rng.random() < 0.5:  # a shelf inside
        asm.add(box((w - 2 * t, 0.01, d - t), (0, h * 0.5, t / 2)), body_m)
    dw, dh, dt = w - 0.006, h - 0.006, rng.uniform(0.03, 0.06)
    style = str(rng.choice(["keypad", "keypad", "dial"]))
    parts: list[tuple[str, object, Material]] = []
    # door-local frame: hinge at the left edge x = 0, outer face at z = dt
    cx = dw * rng.uniform(0.55, 0.7)
    cy = rng.uniform(0.0, 0.15) * dh
    if style == "keypad":
        kx = cx
        for r in range(4):
            for c in range(3):
                parts.append(("button", push_button("square", 0.012, 0.004, (kx + (c - 1) * 0.018, cy + dh * 0.15 - r * 0.018, dt),
                                                    facing="z"), pal.choice(hw_m, pal.plastic())))
        sw_y = cy - dh * 0.1
    else:
        dial = [cylinder(0.035, 0.018, y0=-0.001, segments=28).moved(rot_x(90), (cx, cy + dh * 0.12, dt)),
                box((0.006, 0.03, 0.01), (cx, cy + dh * 0.12, dt + 0.02))]
        parts.append(("switch", dial, hw_m))
        for k in range(int(rng.integers(1, 3))):  # reset / light buttons
            parts.append(("button", push_button("round", 0.01, 0.004, (cx + 0.05, cy + dh * 0.2 - k * 0.02, dt), facing="z"),
                          pal.plastic()))
        sw_y = cy - dh * 0.12
    if rng.random() < 0.5:  # handle lever
        lev = [cylinder(0.02, 0.02, y0=-0.001, segments=16).moved(rot_x(90), (cx, sw_y, dt)),
               rod([cx, sw_y, dt + 0.018], [cx - 0.08, sw_y - 0.02, dt + 0.018], 0.008)]
    else:  # spoked wheel
        lev = [cylinder(0.015, 0.03, y0=-0.001, segments=12).moved(rot_x(90), (cx, sw_y, dt))]
        for k in range(3):
            a = np.deg2rad(90 + 120 * k)
            lev.append(rod([cx, sw_y, dt + 0.025], [cx + 0.06 * np.cos(a), sw_y + 0.06 * np.sin(a), dt + 0.025], 0.006))
    parts.append(("switch", lev, hw_m))
    open_deg = rng.uniform(20, 100) if rng.random() < 0.3 else 0.0
    rot, at = rot_y(-open_deg), np.array([-w / 2 + 0.003, h / 2, d / 2])
    asm.part("door", box((dw, dh, dt), (dw / 2, 0, dt / 2)).moved(rot, at), door_m)
    for name, ps, m in parts:
        asm.part(name, move(ps if isinstance(ps, list) else [ps], rot, at), m)
    for sy in (-1, 1):  # hinges (-1)
        asm.add(cylinder(0.012, dh * 0.15, segments=10).moved(None, (-w / 2 - 0.004, h / 2 + sy * dh * 0.3 - dh * 0.075, d / 2)),
                hw_m)


def switch(asm: Assembly, rng: np.random.Generator) -> None:
    """A wall switch: plate and back box (-1) with 1-3 toggles (flip levers), rockers, push
    buttons or a dimmer knob (each a "switch"); or a switch module (narrow plate on a deep body,
    like the real dev Switch); the plate faces +Z."""
    pal = Palette(rng)
    plate_m = pal.choice(Material("plain", (0.93, 0.92, 0.88), (0.93, 0.92, 0.88), grain=0.02), pal.painted(), pal.metal(),
                         pal.plastic(dark=True))
    q = rng.random()
    sw_m = plate_m if q < 0.5 else pal.choice(shade(plate_m, 0.85), pal.plastic(dark=True), pal.metal())
    style = str(rng.choice(["toggle", "rocker", "rocker", "push", "dimmer"]))
    n = 1 if style == "dimmer" else int(rng.choice([1, 1, 2, 3]))
    pw = rng.uniform(0.07, 0.09) * (1 if n == 1 or style == "toggle" else 1 + 0.6 * (n - 1))
    ph = rng.uniform(0.07, 0.12)
    pt = rng.uniform(0.005, 0.01)
    boxed = rng.random() < 0.4  # a switch module: a narrow plate on a body deeper than it is tall
    if boxed:
        pw *= rng.uniform(0.45, 0.65)
    y0 = ph / 2 + 0.002
    asm.add(front_panel(pw, ph, pt, rng.uniform(0.002, 0.01), (0, y0, pt / 2)), plate_m)
    bd = ph * rng.uniform(0.8, 1.3) if boxed else rng.uniform(0.0, 0.06)
    if bd > 0.01:
        bw, bh = (pw * 0.95, ph * 0.95) if boxed else (pw * 0.7, ph * 0.8)
        asm.add(box((bw, bh, bd), (0, y0, -bd / 2)), plate_m if boxed and rng.random() < 0.6 else
                pal.plastic(dark=rng.random() < 0.3))
    for k in range(n):
        x = (k - (n - 1) / 2) * pw / n
        if style == "toggle":
            ang = float(rng.choice([-25.0, 25.0]))
            sw = [front_panel(0.012, 0.02, 0.006, 0.002, (x, y0, pt + 0.002)),
                  rod([x, y0, pt + 0.004], [x, y0 + 0.018 * np.sin(np.deg2rad(ang)), pt + 0.02], 0.0025, r1=0.003)]
        elif style == "rocker":
            rw, rh = pw / n * 0.7, ph * rng.uniform(0.45, 0.7)
            tilt = float(rng.choice([-6.0, 6.0]))
            sw = [front_panel(rw, rh, 0.008, 0.003, (0, 0, 0)).moved(rot_x(tilt), (x, y0, pt + 0.004))]
        elif style == "push":
            sw = [push_button(str(rng.choice(["round", "square"])), min(pw / n * 0.6, 0.03), 0.006, (x, y0, pt), facing="z")]
        else:
            sw = _knob(0.016, 0.018, (x, y0, pt))
        asm.part("switch", sw, sw_m)
    if rng.random() < 0.5:  # plate screws (-1)
        for sy in (-1, 1):
            asm.add(cylinder(0.003, 0.002, segments=8).moved(rot_x(90), (0, y0 + sy * ph * 0.4, pt)), shade(plate_m, 0.7))


def window(asm: Assembly, rng: np.random.Generator) -> None:
    """A window in its frame (-1): 1-4 casement sashes (closed or open), two sliding sashes or
    a double-hung pair; each sash (frame bars + glass, maybe muntins) is a "window"."""
    pal = Palette(rng)
    frame_m = pal.choice(pal.painted(), pal.wood(), pal.metal(), Material("plain", (0.95, 0.95, 0.95), (0.95, 0.95, 0.95), grain=0.01))
    sash_m = frame_m if rng.random() < 0.75 else shade(frame_m, 0.85)
    glass_m = pal.choice(pal.glass(), Material("plain", (0.7, 0.8, 0.85), (0.7, 0.8, 0.85), grain=0.03))
    W, H = rng.uniform(0.6, 1.6), rng.uniform(0.6, 1.6)
    fw, fd = rng.uniform(0.04, 0.08), rng.uniform(0.08, 0.15)
    for p in (box((fw, H, fd), (-W / 2 + fw / 2, H / 2, 0)), box((fw, H, fd), (W / 2 - fw / 2, H / 2, 0)),
              box((W - 2 * fw, fw, fd), (0, H - fw / 2, 0)), box((W - 2 * fw, fw * 1.2, fd * 1.2), (0, fw * 0.6, fd * 0.1))):
        asm.add(p, frame_m)
    iw, ih = W - 2 * fw, H - 2 * fw - fw * 0.2
    yb = fw * 1.2
    style = str(rng.choice(["casement", "casement", "sliding", "hung"]))
    sb = rng.uniform(0.03, 0.06)
    st = rng.uniform(0.03, 0.05)

    def sash(w: float, h: float, muntins: int) -> list:
        out = [box((sb, h, st), (sb / 2, h / 2, 0)), box((sb, h, st), (w - sb / 2, h / 2, 0)),
               box((w - 2 * sb, sb, st), (w / 2, sb / 2, 0)), box((w - 2 * sb, sb, st), (w / 2, h - sb / 2, 0))]
        for k in range(muntins):
            out.append(box((w - 2 * sb, 0.015, st * 0.6), (w / 2, sb + (h - 2 * sb) * (k + 1) / (muntins + 1), 0)))
        return out

    mun = int(rng.choice([0, 0, 0, 1, 2]))
    if style == "casement":
        n = int(rng.choice([1, 2, 2, 3, 4]))
        sw = iw / n
        for k in range(n):
            left = k < n / 2
            ang = rng.uniform(10, 70) if rng.random() < 0.3 else 0.0
            fr = sash(sw - 0.004, ih - 0.004, mun)
            gl = box((sw - 2 * sb, ih - 2 * sb, 0.006), ((sw - 0.004) / 2, (ih - 0.004) / 2, 0))
            if not left:
                fr = move(fr, None, (-(sw - 0.004), 0, 0))
                gl = gl.moved(None, (-(sw - 0.004), 0, 0))
            x_h = -iw / 2 + k * sw + 0.002 if left else -iw / 2 + (k + 1) * sw - 0.002
            rot, at = rot_y(-ang if left else ang), np.array([x_h, yb + 0.002, fd / 2 - st / 2])
            ins = asm.instance("window")
            for p in fr:
                asm.add(p.moved(rot, at), sash_m, ins)
            asm.add(gl.moved(rot, at), glass_m, ins)
            if rng.random() < 0.6:
                hx = (sw - 0.004) - sb / 2 if left else -(sw - 0.004) + sb / 2
                asm.add(box((0.012, 0.1, 0.03), (hx, ih / 2, st / 2 + 0.015)).moved(rot, at), pal.metal())
        return
    two = [0, 1]
    for k in two:
        if style == "sliding":
            sw, sh = iw / 2 + sb / 2, ih - 0.004
            x0 = -iw / 2 + k * (iw / 2 - sb / 2) + (rng.uniform(0, 0.4) * iw / 2 if k == 0 else 0.0)
            y = yb + 0.002
        else:
            sw, sh = iw - 0.004, ih / 2 + sb / 2
            x0 = -iw / 2 + 0.002
            y = yb + k * (ih / 2 - sb / 2) + (rng.uniform(0, 0.3) * ih / 2 if k == 0 else 0.0)
        z = (k - 0.5) * (st + 0.004)
        ins = asm.instance("window")
        for p in sash(sw, sh, mun):
            asm.add(p.moved(None, (x0, y, z)), sash_m, ins)
        asm.add(box((sw - 2 * sb, sh - 2 * sb, 0.006), (x0 + sw / 2, y + sh / 2, z)), glass_m, ins)


def cart(asm: Assembly, rng: np.random.Generator) -> None:
    """A utility cart (2-3 shelves on posts), a platform trolley with a push handle, a
    shopping-basket cart, or a two-wheel hand truck; 2, 3 or 4 wheels (casters have forks, -1)."""
    pal = Palette(rng)
    style = str(rng.choice(["utility", "platform", "basket", "handtruck"]))
    frame_m = pal.choice(pal.metal(), pal.plastic(), pal.painted(), pal.plastic(dark=True))
    wheel_m = pal.plastic(dark=True) if rng.random() < 0.8 else pal.plastic()
    fork_m = pal.choice(pal.metal(), frame_m)
    if style == "handtruck":
        H = rng.uniform(1.0, 1.3)
        w = rng.uniform(0.35, 0.5)
        wr = rng.uniform(0.08, 0.13)
        rails = [rod([sx * w / 2, wr, 0], [sx * w / 2, H, 0], 0.012) for sx in (-1, 1)]
        rails += [rod([-w / 2, y, 0], [w / 2, y, 0], 0.008) for y in np.linspace(wr + 0.1, H - 0.1, int(rng.integers(2, 5)))]
        rails.append(torus(w / 2, 0.012, start_deg=0, end_deg=180, plane="xy", segments=8, n=16).moved(None, (0, H, 0)))
        rails.append(box((w * 0.9, 0.01, 0.2), (0, 0.005, 0.1)))
        rails.append(rod([-w / 2 - 0.06, wr, -0.04], [w / 2 + 0.06, wr, -0.04], 0.01))
        for p in rails:
            asm.add(p, frame_m)
        for sx in (-1, 1):
            asm.part("wheel", wheel(wr, rng.uniform(0.04, 0.07)).moved(None, (sx * (w / 2 + 0.06), wr, -0.04)), wheel_m)
        return
    L = rng.uniform(0.6, 1.0)
    w = L * rng.uniform(0.5, 0.7)
    wr = rng.uniform(0.04, 0.08)
    top = wr * 2 + rng.uniform(0.02, 0.1)
    if style == "utility":
        n = int(rng.integers(2, 4))
        Ht = rng.uniform(0.7, 1.0)
        for k in range(n):
            y = top + (Ht - top) * k / (n - 1)
            asm.add(box((L, 0.025, w), (0, y, 0)), frame_m)
            asm.add(box((L, 0.04, 0.01), (0, y + 0.02, w / 2)), frame_m)
        for sx in (-1, 1):
            for sz in (-1, 1):
                asm.add(rod([sx * (L / 2 - 0.02), top - 0.01, sz * (w / 2 - 0.02)], [sx * (L / 2 - 0.02), Ht + 0.02, sz * (w / 2 - 0.02)], 0.012), frame_m)
        if rng.random() < 0.6:
            asm.add(rod([-L / 2 - 0.05, Ht, -w / 3], [-L / 2 - 0.05, Ht, w / 3], 0.012), frame_m)
            for sz in (-1, 1):
                asm.add(rod([-L / 2, Ht, sz * w / 3], [-L / 2 - 0.05, Ht, sz * w / 3], 0.01), frame_m)
    elif style == "platform":
        asm.add(box((L, 0.03, w), (0, top, 0)), frame_m)
        Hh = rng.uniform(0.7, 1.0)
        for sz in (-1, 1):
            asm.add(rod([-L / 2 + 0.02, top, sz * (w / 2 - 0.03)], [-L / 2 + 0.02 - rng.uniform(0, 0.05), Hh, sz * (w / 2 - 0.03)], 0.013),
                    frame_m)
        asm.add(rod([-L / 2 + 0.02, Hh, -w / 2 + 0.03], [-L / 2 + 0.02, Hh, w / 2 - 0.03], 0.013), frame_m)
    else:  # basket: a walled box on a frame, handle at the back
        bh = rng.uniform(0.3, 0.45)
        yb = rng.uniform(0.45, 0.6)
        t = 0.01
        for p in (box((L, t, w), (0, yb, 0)), box((L, bh, t), (0, yb + bh / 2, w / 2)), box((L, bh, t), (0, yb + bh / 2, -w / 2)),
                  box((t, bh, w), (L / 2, yb + bh / 2, 0)), box((t, bh, w), (-L / 2, yb + bh / 2, 0))):
            asm.add(p, frame_m)
        for sx in (-1, 1):
            for sz in (-1, 1):
                asm.add(rod([sx * (L / 2 - 0.03), top, sz * (w / 2 - 0.03)], [sx * (L / 2 - 0.03), yb, sz * (w / 2 - 0.03)], 0.01), frame_m)
        asm.add(box((L, 0.02, w), (0, top, 0)), frame_m)
        asm.add(rod([-L / 2 - 0.1, yb + bh + 0.05, -w / 2], [-L / 2 - 0.1, yb + bh + 0.05, w / 2], 0.014), pal.plastic())
        for sz in (-1, 1):
            asm.add(rod([-L / 2, yb + bh, sz * w / 2], [-L / 2 - 0.1, yb + bh + 0.05, sz * w / 2], 0.01), frame_m)
    n_w = 4 if rng.random() < 0.8 else 3
    corners = [(1, 1), (1, -1), (-1, 1), (-1, -1)] if n_w == 4 else [(1, 0), (-1, 1), (-1, -1)]
    fixed = rng.random() < 0.4
    for sx, sz in corners:
        base = np.array([sx * (L / 2 - 0.06), 0.0, sz * (w / 2 - 0.06)])
        sw = 0.0 if (fixed and sx < 0) else rng.uniform(0, 360)
        ww = wr * 0.7
        asm.part("wheel", caster_wheel(wr, ww, sw + 90).moved(None, base), wheel_m)
        for p in caster_fork(wr, ww, sw + 90, top - 0.012):
            asm.add(p.moved(None, base), fork_m)


def folding_chair(asm: Assembly, rng: np.random.Generator) -> None:
    """A folding chair (open): X-frame or A-frame tubular legs (-1), a back (-1) and the seat;
    metal, wooden slat or plastic; rarely folded flat (seat up)."""
    pal = Palette(rng)
    frame_m = pal.choice(pal.metal(), pal.metal(), pal.wood(), pal.plastic(dark=True))
    seat_m = pal.choice(frame_m, pal.fabric(), pal.plastic(), pal.wood(), pal.painted())
    back_m = seat_m if rng.random() < 0.8 else frame_m
    w = rng.uniform(0.38, 0.46)
    d = rng.uniform(0.36, 0.44)
    sh = rng.uniform(0.42, 0.48)
    bh = rng.uniform(0.35, 0.45)
    r = rng.uniform(0.008, 0.014)
    folded = rng.random() < 0.15
    style = str(rng.choice(["a_frame", "x_frame"]))
    if folded:  # everything in one plane, seat hanging vertical between the posts
        for sx in (-1, 1):
            asm.add(rod([sx * w / 2, 0, 0.02], [sx * w / 2, sh + bh, 0.0], r), frame_m)
            asm.add(rod([sx * (w / 2 - 0.03), 0, -0.02], [sx * (w / 2 - 0.03), sh, 0.0], r), frame_m)
        asm.add(box((w - 0.02, bh * 0.5, 0.015), (0, sh + bh * 0.65, 0.0)), back_m)
        asm.part("seat", box((w - 0.08, d, 0.02), (0, sh - d / 2 + 0.05, 0.02)), seat_m)
        return
    back_z = -d / 2
    if style == "a_frame":
        # back posts: from the floor behind up through the back; front legs: floor in front up to the seat's back
        for sx in (-1, 1):
            x = sx * w / 2
            asm.add(rod([x, 0, back_z - 0.08], [x, sh + bh, back_z + 0.02], r), frame_m)
            asm.add(rod([x * 0.95, 0, d / 2 + 0.02], [x * 0.95, sh, back_z + 0.05], r), frame_m)
            asm.add(rod([x, 0.12, back_z - 0.06], [x * 0.95, 0.12, d / 2 - 0.05], r * 0.8), frame_m)
    else:
        for sx in (-1, 1):
            x = sx * w / 2
            asm.add(rod([x, 0, back_z - 0.05], [x, sh, d / 2], r), frame_m)
            asm.add(rod([x * 0.95, 0, d / 2], [x * 0.95, sh, back_z], r), frame_m)
            asm.add(rod([x, sh, back_z], [x, sh + bh, back_z - 0.05], r), frame_m)
        asm.add(rod([-w / 2, 0.02, d / 2], [w / 2, 0.02, d / 2], r * 0.8), frame_m)
    if rng.random() < 0.5:  # slats or a panel back
        asm.add(box((w, bh * 0.4, 0.015), (0, sh + bh * 0.7, back_z - 0.02)).moved(None, (0, 0, 0)), back_m)
    else:
        for k in range(3):
            asm.add(box((w, 0.05, 0.012), (0, sh + bh * (0.45 + 0.2 * k), back_z - 0.02 - 0.01 * k)), back_m)
    seat_t = rng.uniform(0.015, 0.04)
    if rng.random() < 0.5:
        seat = slab(w - 0.01, seat_t, d, 0.03, (0, sh + seat_t / 2, 0.0))
        asm.part("seat", seat, seat_m)
    else:  # slatted seat
        n = int(rng.integers(3, 7))
        ins = asm.instance("seat")
        for k in range(n):
            z = -d / 2 + (k + 0.5) * d / n
            asm.add(box((w - 0.01, seat_t, d / n * 0.8), (0, sh + seat_t / 2, z)), seat_m, ins)
        asm.add(box((0.03, seat_t * 0.8, d), (-w / 2 + 0.04, sh - seat_t * 0.3, 0)), seat_m, ins)
        asm.add(box((0.03, seat_t * 0.8, d), (w / 2 - 0.04, sh - seat_t * 0.3, 0)), seat_m, ins)
