"""Kitchen and laundry appliances: Microwave, Dishwasher, Oven, WashingMachine.

PartNet-E parts: Microwave (display, door, handle, button); Dishwasher (door, handle); Oven
(door, knob); WashingMachine (door, button). Casings, control panels, cooktops and burners are no
named part (label -1); an oven's door handle has no PartNet-E name of its own and belongs to the
door. Frame: +Y up, fronts face +Z, standing on y = 0, metres.
"""

from __future__ import annotations

import numpy as np

from partlift.data.synthetic.assembly import Assembly
from partlift.data.synthetic.components import handle, move
from partlift.data.synthetic.materials import Material, Palette, shade
from partlift.data.synthetic.primitives import (
    Piece,
    box,
    cylinder,
    rod,
    rot_x,
    rot_y,
    torus,
)

__all__ = ["dishwasher", "microwave", "oven", "washing_machine"]


def _hollow_body(asm: Assembly, w: float, h: float, d: float, y0: float, t: float, m: Material) -> None:
    """An open-fronted casing (label -1): sides, top, bottom and back panels."""
    for p in (
        box((t, h, d), (-w / 2 + t / 2, y0 + h / 2, 0)),
        box((t, h, d), (w / 2 - t / 2, y0 + h / 2, 0)),
        box((w - 2 * t, t, d), (0, y0 + h - t / 2, 0)),
        box((w - 2 * t, t, d), (0, y0 + t / 2, 0)),
        box((w - 2 * t, h - 2 * t, t), (0, y0 + h / 2, -d / 2 + t / 2)),
    ):
        asm.add(p, m)


def _buttons(
    asm: Assembly, rng: np.random.Generator, part: str, x0: float, x1: float, y0: float, y1: float, z: float,
    m: Material, *, max_n: int = 8,
) -> None:
    """A column or grid of push buttons (each its own instance) on a panel facing +Z at ``z``."""
    cols = int(rng.integers(1, 3)) if x1 - x0 > 0.05 else 1
    rows = int(rng.integers(1, max(2, max_n // cols) + 1))
    bw = min((x1 - x0) / cols * 0.7, 0.03)
    bh = min((y1 - y0) / rows * 0.6, 0.02)
    round_b = rng.random() < 0.4
    for r in range(rows):
        for c in range(cols):
            x = x0 + (c + 0.5) * (x1 - x0) / cols
            y = y1 - (r + 0.5) * (y1 - y0) / rows
            if round_b:
                p = cylinder(min(bw, bh) / 2, 0.006, y0=-0.001, segments=12).moved(rot_x(90), (x, y, z))
            else:
                p = box((bw, bh, 0.006), (x, y, z + 0.002))
            asm.part(part, p, m)


def microwave(asm: Assembly, rng: np.random.Generator) -> None:
    """A countertop microwave: door with window on the left, control panel with a display and
    buttons (or dials) on the right."""
    pal = Palette(rng)
    body_m = pal.choice(pal.painted(), pal.metal(), pal.plastic(dark=True))
    q = rng.random()
    door_m = body_m if q < 0.5 else (shade(body_m, rng.uniform(0.7, 0.9)) if q < 0.8 else pal.plastic(dark=True))
    panel_m = door_m if rng.random() < 0.6 else shade(body_m, 0.8)
    w, h, d = rng.uniform(0.45, 0.6), rng.uniform(0.26, 0.35), rng.uniform(0.33, 0.45)
    foot = 0.01
    t = 0.012
    _hollow_body(asm, w, h, d, foot, t, body_m)
    for sx in (-1, 1):
        for sz in (-1, 1):
            asm.add(cylinder(0.012, foot + 0.002, segments=10).moved(None, (sx * (w / 2 - 0.04), 0, sz * (d / 2 - 0.04))),
                    pal.plastic(dark=True))
    pw = w * rng.uniform(0.22, 0.3)
    zf = d / 2
    dw = w - pw - 0.004
    # control panel (-1) with display and buttons
    asm.add(box((pw, h, 0.02), (w / 2 - pw / 2, foot + h / 2, zf + 0.01)), panel_m)
    px0, px1 = w / 2 - pw + 0.015, w / 2 - 0.015
    disp_h = rng.uniform(0.025, 0.045)
    disp_y = foot + h - rng.uniform(0.03, 0.06)
    asm.part("display", box((px1 - px0, disp_h, 0.004), ((px0 + px1) / 2, disp_y - disp_h / 2, zf + 0.021)), pal.screen())
    bm = panel_m if rng.random() < 0.5 else pal.plastic()
    if rng.random() < 0.7:
        _buttons(asm, rng, "button", px0, px1, foot + 0.04, disp_y - disp_h - 0.015, zf + 0.02, shade(bm, 0.85))
    else:  # two dials
        for k in range(2):
            y = foot + h * (0.25 + 0.3 * k)
            asm.part("button", cylinder(min(pw * 0.3, 0.025), 0.02, segments=20).moved(rot_x(90), (w / 2 - pw / 2, y, zf + 0.02)),
                     bm)
    # door (hinged on the left) with a window and a handle on its free edge
    dt = rng.uniform(0.02, 0.035)
    door = [box((dw, h - 0.004, dt), (dw / 2, 0, dt / 2))]
    win = [box((dw * rng.uniform(0.6, 0.75), h * rng.uniform(0.5, 0.7), 0.004), (dw * 0.45, 0, dt + 0.001))]
    hp: list[Piece] = []
    if rng.random() < 0.75:
        hp = move(handle(rng, h * rng.uniform(0.5, 0.8), style=str(rng.choice(["bar", "pull"])), vertical=True),
                  None, (dw - 0.03, 0, dt))
    angle = rng.uniform(20, 100) if rng.random() < 0.3 else 0.0
    rot, at = rot_y(-angle), np.array([-w / 2, foot + h / 2, zf])
    ins = asm.instance("door")
    for p in door:
        asm.add(p.moved(rot, at), door_m, ins)
    for p in win:
        asm.add(p.moved(rot, at), pal.screen(), ins)
    if hp:
        asm.part("handle", move(hp, rot, at), door_m if rng.random() < 0.5 else pal.metal())


def dishwasher(asm: Assembly, rng: np.random.Generator) -> None:
    """A dishwasher: casing, full-width door hinged at the bottom (closed or open), bar handle."""
    pal = Palette(rng)
    body_m = pal.choice(pal.metal(), pal.painted(), pal.painted())
    q = rng.random()
    door_m = body_m if q < 0.6 else shade(body_m, rng.uniform(0.8, 1.1))
    handle_m = pal.metal() if rng.random() < 0.6 else door_m
    w, h, d = rng.uniform(0.45, 0.62), rng.uniform(0.8, 0.88), rng.uniform(0.55, 0.62)
    toe = rng.uniform(0.06, 0.1)
    t = 0.015
    _hollow_body(asm, w, h - toe, d, toe, t, body_m)
    asm.add(box((w - 0.04, toe, d - 0.06), (0, toe / 2, -0.03)), shade(body_m, 0.5))
    for k in range(int(rng.integers(1, 3))):  # racks (-1)
        y = toe + (h - toe) * (0.3 + 0.35 * k)
        asm.add(box((w - 2 * t - 0.04, 0.01, d * 0.8), (0, y, 0)), pal.metal())
    dt = rng.uniform(0.03, 0.05)
    dh = h - toe - 0.004
    door = [box((w - 0.004, dh, dt), (0, dh / 2, dt / 2))]
    if rng.random() < 0.5:  # control strip along the door's top
        door.append(box((w - 0.004, 0.08, dt + 0.004), (0, dh - 0.04, dt / 2)))
    hl = w * rng.uniform(0.4, 0.8)
    hp = move(handle(rng, hl, style=str(rng.choice(["bar", "pull", "arch"])), scale=1.4), None,
              (0, dh - rng.uniform(0.06, 0.12), dt))
    angle = rng.uniform(20, 90) if rng.random() < 0.3 else 0.0
    rot, at = rot_x(angle), np.array([0.0, toe, d / 2])
    asm.part("door", move(door, rot, at), door_m)
    asm.part("handle", move(hp, rot, at), handle_m)


def oven(asm: Assembly, rng: np.random.Generator) -> None:
    """A free-standing cooker (cooktop, knobs on the front or on a back panel, oven door with a
    window and handle) or a wall oven."""
    pal = Palette(rng)
    body_m = pal.choice(pal.metal(), pal.painted(), pal.plastic(dark=True))
    q = rng.random()
    door_m = body_m if q < 0.5 else (shade(body_m, 0.8) if q < 0.75 else pal.plastic(dark=True))
    knob_m = pal.plastic(dark=True) if rng.random() < 0.5 else pal.metal()
    w, d = rng.uniform(0.5, 0.76), rng.uniform(0.55, 0.65)
    wall = rng.random() < 0.25
    h = rng.uniform(0.55, 0.65) if wall else rng.uniform(0.85, 0.92)
    t = 0.015
    _hollow_body(asm, w, h, d, 0.0, t, body_m)
    zf = d / 2
    strip = rng.uniform(0.08, 0.14)
    back_panel = (not wall) and rng.random() < 0.4
    if not wall:  # cooktop with burners
        asm.add(box((w, 0.01, d), (0, h + 0.005, 0)), shade(body_m, 0.6))
        for sx in (-1, 1):
            for sz in (-1, 1):
                asm.add(cylinder(rng.uniform(0.05, 0.09), 0.012, y0=h + 0.008, segments=24).moved(
                    None, (sx * w / 4, 0, sz * d / 4)), pal.metal())
    # knobs: on a front strip above the door, or on a back panel
    n = int(rng.integers(2, 7))
    kr = rng.uniform(0.015, 0.025)
    if back_panel:
        ph = rng.uniform(0.08, 0.15)
        asm.add(box((w, ph, 0.04), (0, h + 0.01 + ph / 2, -d / 2 + 0.02)), body_m)
        for k in range(n):
            x = -w / 2 + (k + 0.5) * w / n
            asm.part("knob", cylinder(kr, 0.022, segments=18).moved(rot_x(90), (x, h + 0.01 + ph / 2, -d / 2 + 0.04)),
                     knob_m)
        door_top = h - 0.02
    else:
        asm.add(box((w, strip, 0.012), (0, h - strip / 2, zf + 0.006)), body_m)
        for k in range(n):
            x = -w / 2 + (k + 0.5) * w / n
            asm.part("knob", cylinder(kr, 0.022, segments=18).moved(rot_x(90), (x, h - strip / 2, zf + 0.012)), knob_m)
        door_top = h - strip - 0.004
    door_bot = 0.004 if wall else rng.uniform(0.1, 0.18)
    if not wall:  # drawer / kick plate below the door (-1)
        asm.add(box((w - 0.004, door_bot - 0.008, 0.02), (0, door_bot / 2, zf + 0.01)), door_m)
    dt = rng.uniform(0.03, 0.05)
    dh = door_top - door_bot
    door = [box((w - 0.004, dh, dt), (0, dh / 2, dt / 2))]
    window = box((w * rng.uniform(0.55, 0.75), dh * rng.uniform(0.35, 0.55), 0.004), (0, dh * 0.45, dt + 0.001))
    hl = w * rng.uniform(0.6, 0.85)
    grip = [rod([-hl / 2, dh - 0.05, dt + 0.035], [hl / 2, dh - 0.05, dt + 0.035], 0.01, segments=12),
            rod([-hl / 2 + 0.02, dh - 0.05, dt - 0.002], [-hl / 2 + 0.02, dh - 0.05, dt + 0.035], 0.008),
            rod([hl / 2 - 0.02, dh - 0.05, dt - 0.002], [hl / 2 - 0.02, dh - 0.05, dt + 0.035], 0.008)]
    angle = rng.uniform(20, 90) if rng.random() < 0.3 else 0.0
    rot, at = rot_x(angle), np.array([0.0, door_bot, zf])
    ins = asm.instance("door")
    for p in door:
        asm.add(p.moved(rot, at), door_m, ins)
    asm.add(window.moved(rot, at), pal.screen(), ins)
    for p in grip:
        asm.add(p.moved(rot, at), pal.metal() if rng.random() < 0.7 else door_m, ins)


def washing_machine(asm: Assembly, rng: np.random.Generator) -> None:
    """A front loader (round door, panel with buttons and a dial) or a top loader (lid)."""
    pal = Palette(rng)
    body_m = pal.choice(pal.painted(), pal.painted(), pal.metal())
    trim_m = pal.choice(pal.plastic(dark=True), pal.metal(), shade(body_m, 0.8))
    btn_m = pal.choice(pal.plastic(), trim_m, body_m)
    w, h, d = rng.uniform(0.55, 0.62), rng.uniform(0.82, 0.9), rng.uniform(0.5, 0.62)
    asm.add(box((w, h, d), (0, h / 2, 0)), body_m)
    zf = d / 2
    top_loader = rng.random() < 0.3
    ph = rng.uniform(0.08, 0.13)
    if top_loader:  # panel at the back of the top, lid on the top
        asm.add(box((w, ph, 0.06), (0, h + ph / 2, -d / 2 + 0.03)), trim_m)
        _buttons(asm, rng, "button", -w / 2 + 0.05, w / 2 - 0.2, h + 0.015, h + ph - 0.015, -d / 2 + 0.06, btn_m, max_n=6)
        asm.part("button", cylinder(0.03, 0.025, segments=20).moved(rot_x(90), (w / 2 - 0.1, h + ph / 2, -d / 2 + 0.06)),
                 btn_m)
        lw, ld = w - 0.06, d - 0.12
        angle = rng.uniform(20, 95) if rng.random() < 0.4 else 0.0
        lid = box((lw, 0.02, ld), (0, 0.01, ld / 2)).moved(rot_x(-angle), (0, h, -d / 2 + 0.08))
        asm.part("door", lid, body_m if rng.random() < 0.6 else trim_m)
        return
    asm.add(box((w, ph, 0.01), (0, h - ph / 2, zf + 0.005)), trim_m)
    _buttons(asm, rng, "button", -w / 2 + 0.04, w * 0.05, h - ph + 0.015, h - 0.015, zf + 0.01, btn_m, max_n=6)
    asm.part("button", cylinder(min(0.03, ph * 0.35), 0.025, segments=20).moved(rot_x(90), (w * 0.3, h - ph / 2, zf + 0.01)),
             btn_m)
    r = min(w, h - ph) * rng.uniform(0.3, 0.38)
    cy = (h - ph) * rng.uniform(0.48, 0.55)
    ring_r = rng.uniform(0.02, 0.035)
    door = [torus(r, ring_r, plane="xy", segments=10, n=40).moved(None, (0, 0, ring_r)),
            cylinder(r - ring_r * 0.5, 0.01, segments=40).moved(rot_x(90), (0, 0, ring_r * 1.2))]
    angle = rng.uniform(20, 100) if rng.random() < 0.3 else 0.0
    hinge = np.array([-r - ring_r, 0.0, 0.0])
    door = move(move(door, None, -hinge), rot_y(-angle), np.array([0.0, cy, zf]) + hinge)
    ins = asm.instance("door")
    asm.add(door[0], trim_m, ins)
    asm.add(door[1], pal.glass(), ins)
