"""Gadgets: Camera, Keyboard, Mouse, Phone, Remote, Printer, Clock, Globe.

PartNet-E parts: Camera (button, lens); Keyboard (cord, key); Mouse (button, cord, wheel); Phone
(lid, button); Remote (button); Printer (button); Clock (hand); Globe (sphere). Casings, decks,
screens, stands, clock faces and meridian rings are no named part (label -1). Frame: +Y up,
fronts face +Z, standing or lying on y = 0, metres; a keyboard's, mouse's and remote's far end
(cord end) points to -Z.
"""

from __future__ import annotations

import numpy as np

from partlift.data.synthetic.assembly import Assembly
from partlift.data.synthetic.components import move, wheel
from partlift.data.synthetic.kit import (
    button_grid,
    disc_front,
    ellipsoid_patch,
    front_panel,
    needle,
    push_button,
    slab,
)
from partlift.data.synthetic.materials import Material, Palette, shade
from partlift.data.synthetic.primitives import (
    box,
    cylinder,
    frustum,
    grid,
    lathe,
    rod,
    rot_x,
    rot_y,
    rot_z,
    sphere,
    torus,
    tube,
)

__all__ = ["camera", "keyboard", "mouse", "phone", "remote", "printer", "clock", "globe"]


def _cord(rng: np.random.Generator, start: np.ndarray, direction: np.ndarray, length: float, r: float):
    """A cord leaving ``start`` along the horizontal ``direction`` and wandering on the floor."""
    n = 24
    s = np.linspace(0, 1, n)
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    side = np.array([-d[2], 0.0, d[0]])
    wig = rng.uniform(0.05, 0.25) * length
    ph = rng.uniform(0, 2 * np.pi)
    pts = start[None] + length * s[:, None] * d[None] + (wig * np.sin(ph + 3 * s) * s)[:, None] * side[None]
    pts[:, 1] = start[1] * (1 - np.clip(s * 4, 0, 1)) + r
    return tube(pts, r, segments=6)


def camera(asm: Assembly, rng: np.random.Generator) -> None:
    """A compact camera (one lens), a DSLR-like body with a grip and a long lens, or a
    twin-lens / multi-lens body; several buttons (shutter, dials, back buttons)."""
    pal = Palette(rng)
    style = str(rng.choice(["compact", "dslr", "multi"]))
    body_m = pal.choice(pal.plastic(dark=True), pal.plastic(dark=True), pal.metal(), pal.painted())
    lens_m = pal.plastic(dark=True) if rng.random() < 0.7 else pal.metal()
    btn_m = pal.choice(pal.metal(), pal.plastic(dark=True), shade(body_m, 0.8))
    if style == "dslr":
        w, h, d = rng.uniform(0.12, 0.15), rng.uniform(0.08, 0.1), rng.uniform(0.045, 0.06)
    else:
        w, h, d = rng.uniform(0.09, 0.12), rng.uniform(0.055, 0.07), rng.uniform(0.02, 0.035)
    asm.add(slab(w, h, d, d * 0.25, (0, h / 2, 0)).moved(None, (0, 0, 0)), body_m)
    if style == "dslr":
        asm.add(slab(w * 0.22, h * 0.95, d * 1.5, d * 0.4, (-w / 2 + w * 0.11, h * 0.475, d * 0.25)), shade(body_m, 0.8))
        asm.add(box((w * 0.3, h * 0.22, d * 0.8), (0, h + h * 0.1, -d * 0.05)), body_m)  # prism hump
    n_lens = 1 if style != "multi" else int(rng.integers(1, 4))
    lr = (h * rng.uniform(0.3, 0.42)) if style != "multi" else h * rng.uniform(0.15, 0.25)
    ll = (rng.uniform(0.05, 0.12) if style == "dslr" else rng.uniform(0.006, 0.03))
    for k in range(n_lens):
        if n_lens == 1:
            cx, cy = (w * rng.uniform(-0.05, 0.15), h * 0.5) if style != "compact" else (w * rng.uniform(0.0, 0.2), h * 0.5)
        else:
            cx, cy = w * (-0.25 + 0.5 * k / (n_lens - 1)) if n_lens > 1 else 0.0, h * rng.uniform(0.4, 0.55)
        steps = int(rng.integers(1, 4))
        rs, ys = [lr * 1.05], [0.0]
        for j in range(steps):
            rs += [lr * (1.05 - 0.08 * j)] * 2
            ys += [ll * j / steps, ll * (j + 1) / steps]
        rs.append(lr * 0.85)
        ys.append(ll)
        barrel = lathe(np.array(rs), np.array(ys), segments=28, cap_end=True)
        glass = cylinder(lr * 0.7, 0.002, y0=ll - 0.001, segments=24)
        ins = asm.instance("lens")
        for p, m in ((barrel, lens_m), (glass, pal.glass())):
            asm.add(p.moved(rot_x(90), (cx, cy, d / 2 - 0.002)), m, ins)
    # buttons: shutter on top right, 0-2 dials, 0-4 on the back, 0-2 on the front
    top = h + (h * 0.0)
    asm.part("button", push_button("round", rng.uniform(0.008, 0.013), rng.uniform(0.003, 0.006),
                                   (w * 0.35, top, d * 0.1), facing="y"), btn_m)
    for k in range(int(rng.integers(0, 3))):
        asm.part("button", cylinder(rng.uniform(0.008, 0.013), rng.uniform(0.004, 0.008), y0=top - 0.001, segments=16)
                 .moved(None, (w * (0.15 - 0.2 * k) - 0.01, 0, -d * 0.1)), btn_m)
    nb = int(rng.integers(0, 5))
    for k in range(nb):
        asm.part("button", push_button(str(rng.choice(["round", "square"])), rng.uniform(0.005, 0.009), 0.002,
                                       (w * 0.35, h * (0.75 - 0.15 * k), 0), facing="z").moved(rot_y(180), (0, 0, -d / 2)), btn_m)
    if rng.random() < 0.5:  # flash window (-1)
        asm.add(box((w * 0.18, h * 0.12, 0.002), (-w * 0.3, h * 0.82, d / 2 + 0.0005)), Material("plain", (0.9, 0.9, 0.85), (0.9, 0.9, 0.85), grain=0.02))
    if rng.random() < 0.5 and style != "dslr":
        asm.add(box((w * 0.6, h * 0.6, 0.002), (-w * 0.1, h * 0.5, -d / 2 - 0.0005)), pal.screen())


def keyboard(asm: Assembly, rng: np.random.Generator) -> None:
    """A desktop keyboard: deck (-1) with rows of keys (each its own instance), optional number
    pad and cord; full, compact or low-profile keys."""
    pal = Palette(rng)
    deck_m = pal.choice(pal.plastic(dark=True), pal.plastic(dark=True), pal.plastic(), pal.metal())
    q = rng.random()
    key_m = shade(deck_m, rng.uniform(0.8, 1.2)) if q < 0.5 else pal.choice(pal.plastic(dark=True), pal.plastic())
    pitch = rng.uniform(0.0175, 0.0195)
    numpad = rng.random() < 0.5
    cols = 15 + (5 if numpad else 0)
    rows = int(rng.choice([5, 6, 6]))
    margin = rng.uniform(0.008, 0.02)
    w = cols * pitch + 2 * margin
    dd = rows * pitch + 2 * margin + rng.uniform(0.0, 0.03)
    th = rng.uniform(0.012, 0.025)
    tilt = rng.uniform(0, 6)
    asm.add(slab(w, th, dd, rng.uniform(0.003, 0.012), (0, th / 2, 0)), deck_m)
    low = rng.random() < 0.35
    kh = rng.uniform(0.002, 0.004) if low else rng.uniform(0.006, 0.01)
    cap = pitch * rng.uniform(0.78, 0.9)
    z0 = dd / 2 - margin - pitch / 2
    for r in range(rows):
        z = z0 - r * pitch
        c = 0.0
        # the bottom row has a space bar; other rows have a wider key at each end
        widths: list[float]
        if r == 0:
            widths = [1.25, 1.25, 1.25, 6.25, 1.25, 1.25, 1.25, 1.5]
        elif r == rows - 1 and rows == 6:
            widths = [1.0] * 13 + [2.0]
        else:
            widths = [1.5] + [1.0] * 12 + [1.5]
        main_w = 15.0
        scale = main_w / sum(widths)
        for kw in widths:
            kw_m = kw * scale * pitch
            x = -w / 2 + margin + c + kw_m / 2
            c += kw_m
            p = slab(kw_m - (pitch - cap), kh, cap, cap * 0.12, (x, th + kh / 2 - 0.001, z), n_corner=2)
            asm.part("key", p, key_m)
        if numpad and r < rows - 1:
            for k in range(4):
                x = -w / 2 + margin + (15.6 + k) * pitch + pitch / 2 - 0.6 * pitch * 0
                if x + pitch / 2 > w / 2 - margin + 1e-6:
                    continue
                asm.part("key", slab(cap, kh, cap, cap * 0.12, (x, th + kh / 2 - 0.001, z), n_corner=2), key_m)
    if rng.random() < 0.7:
        start = np.array([rng.uniform(-0.2, 0.2) * w, th * 0.5, -dd / 2])
        asm.part("cord", _cord(rng, start, np.array([rng.uniform(-0.3, 0.3), 0, -1.0]), rng.uniform(0.15, 0.4),
                               rng.uniform(0.0015, 0.003)), pal.plastic(dark=True))
    if tilt > 3:  # feet at the back (-1)
        for sx in (-1, 1):
            asm.add(box((0.03, 0.006, 0.01), (sx * w * 0.4, -0.001, -dd / 2 + 0.01)), pal.plastic(dark=True))


def mouse(asm: Assembly, rng: np.random.Generator) -> None:
    """A computer mouse: shell (-1), two (or more) top buttons, a scroll wheel, optional side
    buttons and cord (the buttons' end and the cord point to -Z)."""
    pal = Palette(rng)
    shell_m = pal.choice(pal.plastic(dark=True), pal.plastic(), pal.painted(), pal.metal())
    q = rng.random()
    btn_m = shell_m if q < 0.5 else pal.choice(shade(shell_m, 0.8), pal.plastic(dark=True), pal.plastic())
    a = rng.uniform(0.028, 0.036)  # half width
    c = rng.uniform(0.05, 0.065)  # half length
    b = rng.uniform(0.03, 0.042)  # height
    # shell: upper half ellipsoid (back part) + a flat bottom; buttons cover the front (-Z) top
    body = [ellipsoid_patch(a, b, c, 0, 88, 0, 360, n=20).moved(None, (0, 0.002, 0)),
            cylinder(1.0, 0.002, segments=24).scaled((a, 1, c))]
    for p in body:
        asm.add(p, shell_m)
    gap = rng.uniform(0.0008, 0.002)  # half the slit between the two buttons
    reach = rng.uniform(0.35, 0.55)  # how far back from the front tip the buttons reach (share of the length)
    zs = np.linspace(-c * 0.97, -c * 0.97 + 2 * c * reach, 10)
    for sx in (-1.0, 1.0):
        pts = []
        for z in zs:
            xm = a * 0.9 * np.sqrt(max(1 - (z / c) ** 2, 0.0))
            xs = sx * np.linspace(gap, max(xm, gap + 1e-4), 8)
            ys = 0.002 + 1.03 * b * np.sqrt(np.clip(1 - (xs / a) ** 2 - (z / c) ** 2, 0.0, None))
            pts.append(np.stack([xs, ys, np.full_like(xs, z)], 1))
        patch = grid(np.stack(pts, 0) if sx > 0 else np.stack(pts, 0)[:, ::-1])
        asm.part("button", patch, btn_m)
    wr = rng.uniform(0.008, 0.011)
    ww = rng.uniform(0.005, 0.008)
    zc = -c * 0.45
    ytop = 0.002 + b * np.sqrt(max(1 - (zc / c) ** 2, 0.0))
    asm.part("wheel", wheel(wr, ww).moved(None, (0, ytop - wr * 0.35, zc)), pal.plastic(dark=True))
    for k in range(int(rng.integers(0, 3))):  # thumb buttons on the left side
        asm.part("button", push_button("pill", 0.008, 0.002, (0, 0, 0), facing="z").moved(
            rot_y(-90), (-a * 0.98, b * 0.45, -c * 0.1 + k * 0.018)), btn_m)
    if rng.random() < 0.6:
        start = np.array([0.0, 0.004, -c])
        asm.part("cord", _cord(rng, start, np.array([0, 0, -1.0]), rng.uniform(0.08, 0.25), 0.0015), pal.plastic(dark=True))


def phone(asm: Assembly, rng: np.random.Generator) -> None:
    """A mobile phone lying on its back: a clamshell (keypad base + lid with screen, opened), a
    bar phone with a keypad, a smartphone (side buttons), or a desk phone (handset as lid)."""
    pal = Palette(rng)
    style = str(rng.choice(["clamshell", "clamshell", "bar", "smart", "desk"]))
    shell_m = pal.choice(pal.plastic(dark=True), pal.metal(), pal.plastic(), pal.painted())
    q = rng.random()
    key_m = shade(shell_m, 0.8) if q < 0.4 else pal.choice(pal.plastic(), pal.metal(), pal.plastic(dark=True))
    if style == "desk":
        w, d, h = rng.uniform(0.16, 0.22), rng.uniform(0.18, 0.24), rng.uniform(0.05, 0.08)
        asm.add(slab(w, h, d, 0.02, (0, h / 2, 0)), shell_m)
        button_grid(asm, "button", key_m, -w * 0.3, w * 0.15, -d * 0.05, d * 0.4, h, 4, 3,
                    kind=str(rng.choice(["square", "round"])))
        hl = d * rng.uniform(0.9, 1.05)
        ins = asm.instance("lid")
        x = w * 0.3
        asm.add(slab(0.04, 0.025, hl * 0.7, 0.012, (x, h + 0.02, 0)), shell_m, ins)
        for sz in (-1, 1):
            asm.add(slab(0.05, 0.035, 0.06, 0.015, (x, h + 0.022, sz * hl * 0.38)), shell_m, ins)
        return
    w = rng.uniform(0.045, 0.058) if style != "smart" else rng.uniform(0.065, 0.078)
    L = rng.uniform(0.09, 0.11) if style == "clamshell" else (rng.uniform(0.11, 0.13) if style == "bar" else rng.uniform(0.13, 0.16))
    t = rng.uniform(0.009, 0.014) if style != "smart" else rng.uniform(0.007, 0.01)
    if style == "clamshell":
        asm.add(slab(w, t, L, w * 0.15, (0, t / 2, 0)), shell_m)
        rows, cols = 5, 3
        button_grid(asm, "button", key_m, -w * 0.38, w * 0.38, -L * 0.1, L * 0.45, t, rows, cols,
                    kind=str(rng.choice(["square", "round", "pill"])), depth=0.0015)
        asm.part("button", push_button("round", w * 0.28, 0.0015, (0, t, -L * 0.3), facing="y"), key_m)  # d-pad
        open_deg = rng.uniform(120, 165) if rng.random() < 0.75 else rng.uniform(0, 2)
        lt = t * rng.uniform(0.6, 0.9)
        lid = [slab(w, lt, L, w * 0.15, (0, lt / 2, L / 2)),
               box((w * 0.8, 0.001, L * 0.55), (0, -0.0003, L * 0.55))]
        hinge = np.array([0.0, t, -L / 2])
        # built closed (screen down) reaching from the hinge towards +Z, then opened about X
        lid = move(lid, rot_x(-open_deg), hinge)
        ins = asm.instance("lid")
        asm.add(lid[0], shell_m, ins)
        asm.add(lid[1], pal.screen(), ins)
        return
    asm.add(slab(w, t, L, w * 0.18, (0, t / 2, 0)), shell_m)
    if style == "bar":
        asm.add(box((w * 0.8, 0.001, L * 0.35), (0, t, -L * 0.22)), pal.screen())
        button_grid(asm, "button", key_m, -w * 0.38, w * 0.38, L * 0.08, L * 0.45, t, 4, 3,
                    kind=str(rng.choice(["square", "round", "pill"])), depth=0.0015)
        asm.part("button", push_button("round", w * 0.25, 0.0015, (0, t, L * 0.0), facing="y"), key_m)
        return
    # smartphone: big screen, 1-3 side buttons, maybe a home button
    asm.add(box((w * 0.92, 0.001, L * 0.85), (0, t, 0)), pal.screen())
    for k in range(int(rng.integers(1, 4))):
        asm.part("button", box((0.002, t * 0.5, rng.uniform(0.008, 0.02)), (w / 2 + 0.0005, t / 2, -L * 0.25 + k * 0.025)),
                 key_m)
    if rng.random() < 0.4:
        asm.part("button", push_button("round", 0.01, 0.0008, (0, t, L * 0.45), facing="y"), key_m)


def remote(asm: Assembly, rng: np.random.Generator) -> None:
    """A TV remote (long, many buttons, a d-pad), an air-conditioner remote (display + few
    buttons) or a key fob (2-4 buttons); lying on its back, far end to -Z."""
    pal = Palette(rng)
    style = str(rng.choice(["tv", "tv", "ac", "fob"]))
    shell_m = pal.choice(pal.plastic(dark=True), pal.plastic(dark=True), pal.plastic(), pal.metal())
    q = rng.random()
    key_m = shell_m if q < 0.25 else pal.choice(shade(shell_m, 0.7), pal.plastic(), pal.plastic(dark=True), pal.painted())
    if style == "fob":
        w, L, t = rng.uniform(0.03, 0.04), rng.uniform(0.05, 0.07), rng.uniform(0.01, 0.016)
        asm.add(slab(w, t, L, w * 0.45, (0, t / 2, 0)), shell_m)
        n = int(rng.integers(2, 5))
        for k in range(n):
            asm.part("button", push_button("round", w * 0.4, 0.002, (0, t, -L * 0.3 + k * L * 0.6 / max(n - 1, 1)),
                                           facing="y"), key_m)
        return
    w = rng.uniform(0.04, 0.06)
    L = rng.uniform(0.14, 0.22) if style == "tv" else rng.uniform(0.12, 0.16)
    t = rng.uniform(0.015, 0.025)
    asm.add(slab(w, t, L, w * rng.uniform(0.1, 0.45), (0, t / 2, 0)), shell_m)
    # power button at the far end
    asm.part("button", push_button("round", w * 0.22, 0.002, (w * 0.25, t, -L * 0.42), facing="y"),
             pal.plastic() if rng.random() < 0.5 else key_m)
    if style == "ac":
        asm.add(box((w * 0.8, 0.001, L * 0.25), (0, t, -L * 0.22)), pal.screen())
        button_grid(asm, "button", key_m, -w * 0.35, w * 0.35, L * 0.0, L * 0.4, t, int(rng.integers(2, 4)), 2, kind="pill")
        return
    rows = int(rng.integers(3, 7))
    button_grid(asm, "button", key_m, -w * 0.35, w * 0.35, -L * 0.33, -L * 0.33 + rows * w * 0.22, t, rows, 3,
                kind=str(rng.choice(["round", "square", "pill"])))
    # d-pad ring with an OK button
    zc = -L * 0.33 + rows * w * 0.22 + w * 0.3
    if zc < L * 0.4:
        asm.part("button", torus(w * 0.25, w * 0.06, plane="xz", segments=8, n=24).moved(None, (0, t + 0.001, zc)), key_m)
        asm.part("button", push_button("round", w * 0.2, 0.003, (0, t, zc), facing="y"), key_m)
        if zc + w * 0.45 < L * 0.45:
            button_grid(asm, "button", key_m, -w * 0.3, w * 0.3, zc + w * 0.35, min(zc + w * 0.8, L * 0.45), t, 1, 2,
                        kind="pill")


def printer(asm: Assembly, rng: np.random.Generator) -> None:
    """An inkjet (paper input at the back, output tray at the front), a laser printer (taller
    box) or an all-in-one (scanner lid on top, -1); a control panel with 1-8 buttons."""
    pal = Palette(rng)
    style = str(rng.choice(["inkjet", "laser", "aio"]))
    body_m = pal.choice(pal.painted(), pal.plastic(dark=True), pal.plastic())
    trim_m = pal.choice(shade(body_m, 0.7), pal.plastic(dark=True), body_m)
    btn_m = pal.choice(trim_m, pal.plastic(), shade(body_m, 0.85))
    w = rng.uniform(0.38, 0.5)
    d = rng.uniform(0.28, 0.4)
    h = rng.uniform(0.12, 0.18) if style == "inkjet" else rng.uniform(0.22, 0.35)
    asm.add(slab(w, h, d, rng.uniform(0.005, 0.03), (0, h / 2, 0)), body_m)
    if style == "aio":
        asm.add(slab(w * 0.98, 0.03, d * 0.95, 0.01, (0, h + 0.015, -d * 0.02)), trim_m)  # scanner lid
    if style == "inkjet" or rng.random() < 0.3:  # paper support at the back, tilted
        asm.add(box((w * 0.6, 0.16, 0.004), (0, h + 0.06, -d / 2 + 0.03)).moved(None, (0, 0, 0)), trim_m)
    # output slot (-1) and tray
    asm.add(box((w * 0.7, 0.012, 0.004), (0, h * 0.35, d / 2 + 0.001)), shade(trim_m, 0.4))
    if rng.random() < 0.7:
        asm.add(box((w * 0.55, 0.004, d * rng.uniform(0.2, 0.5)), (0, h * 0.3, d / 2 + d * 0.1)), trim_m)
    # control panel on the front top (right or left)
    side = 1 if rng.random() < 0.7 else -1
    px = side * w * 0.3
    pz = d / 2 - 0.035
    ptop = h + (0.03 if style == "aio" else 0.0)
    asm.add(box((w * 0.3, 0.004, 0.05), (px, ptop + 0.001, pz)), trim_m)
    if rng.random() < 0.5:
        asm.add(box((w * 0.1, 0.002, 0.03), (px - side * w * 0.07, ptop + 0.004, pz)), pal.screen())
    n = int(rng.integers(1, 9))
    cols = min(n, 4)
    rows = int(np.ceil(n / cols))
    k = 0
    for r in range(rows):
        for c in range(cols):
            if k >= n:
                break
            x = px + side * (w * 0.02 + c * 0.03)
            z = pz - 0.014 + r * 0.028
            asm.part("button", push_button(str(rng.choice(["round", "square"])), 0.024, 0.005, (x, ptop + 0.003, z),
                                           facing="y"), btn_m)
            k += 1


def clock(asm: Assembly, rng: np.random.Generator) -> None:
    """A wall clock (round or square face), an alarm clock (bells, feet) or a mantel clock on a
    base; 2 or 3 hands on the face (facing +Z)."""
    pal = Palette(rng)
    style = str(rng.choice(["wall", "wall", "alarm", "mantel"]))
    case_m = pal.choice(pal.wood(), pal.metal(), pal.plastic(), pal.painted(), pal.plastic(dark=True))
    face_m = pal.choice(Material("plain", (0.95, 0.95, 0.92), (0.95, 0.95, 0.92), grain=0.02), pal.painted(), pal.noisy())
    hand_m = pal.choice(pal.plastic(dark=True), pal.metal(), Material("plain", (0.05, 0.05, 0.05), (0.05, 0.05, 0.05), grain=0.0))
    if style == "wall":
        R = rng.uniform(0.12, 0.2)
        square = rng.random() < 0.25
        t = rng.uniform(0.02, 0.05)
        cy = R
        if square:
            asm.add(front_panel(2 * R, 2 * R, t, R * 0.1, (0, cy, -t / 2)), case_m)
        else:
            asm.add(disc_front(R, t, (0, cy, -t / 2), segments=40), case_m)
            if rng.random() < 0.6:
                asm.add(torus(R, rng.uniform(0.006, 0.015), plane="xy", segments=8, n=40).moved(None, (0, cy, 0)), shade(case_m, 0.8))
        fr = R * 0.9
        asm.add(disc_front(fr, 0.002, (0, cy, 0.0005), segments=40), face_m)
        zc = 0.002
    elif style == "alarm":
        R = rng.uniform(0.045, 0.07)
        cy = R + rng.uniform(0.01, 0.02)
        t = rng.uniform(0.03, 0.05)
        asm.add(disc_front(R, t, (0, cy, -t / 2), segments=36), case_m)
        for sx in (-1, 1):
            asm.add(sphere(R * 0.35, segments=14, rings=8).scaled((1, 0.8, 1)).moved(None, (sx * R * 0.6, cy + R * 0.9, -t / 2)), case_m)
            asm.add(rod([sx * R * 0.5, cy - R * 0.7, -t / 2], [sx * R * 0.75, 0.0, -t / 2], 0.004), case_m)
        fr = R * 0.85
        asm.add(disc_front(fr, 0.002, (0, cy, 0.0005), segments=36), face_m)
        zc = 0.002
    else:
        W = rng.uniform(0.18, 0.3)
        H = W * rng.uniform(0.7, 1.2)
        t = rng.uniform(0.07, 0.12)
        asm.add(slab(W, H, t, 0.01, (0, H / 2, 0)), case_m)
        asm.add(box((W * 1.1, 0.02, t * 1.15), (0, 0.01, 0)), shade(case_m, 0.8))
        fr = min(W, H) * rng.uniform(0.3, 0.4)
        cy = H * 0.6
        asm.add(disc_front(fr, 0.003, (0, cy, t / 2 + 0.001), segments=36), face_m)
        zc = t / 2 + 0.003
    n = 3 if rng.random() < 0.5 else 2
    lens = [fr * rng.uniform(0.45, 0.6), fr * rng.uniform(0.7, 0.85), fr * rng.uniform(0.8, 0.92)][:n]
    wid = [fr * 0.09, fr * 0.065, fr * 0.025][:n]
    for k in range(n):
        asm.part("hand", needle(lens[k], wid[k], 0.0015, rng.uniform(0, 360), (0, cy, zc + 0.001 + 0.0016 * k)), hand_m)
    asm.add(cylinder(fr * 0.05, 0.006, segments=12).moved(rot_x(90), (0, cy, zc)), hand_m)


def globe(asm: Assembly, rng: np.random.Generator) -> None:
    """A desk globe: the sphere on a tilted axis, a meridian half or full ring (-1), and a
    pedestal base (-1), or a floor stand with legs."""
    pal = Palette(rng)
    sphere_m = pal.choice(pal.noisy(Material("plain", (0.35, 0.55, 0.8))), pal.noisy(Material("plain", (0.75, 0.65, 0.45))),
                          pal.noisy())
    stand_m = pal.choice(pal.wood(), pal.metal(), pal.plastic(dark=True))
    R = rng.uniform(0.1, 0.2)
    floor = rng.random() < 0.25
    stem = rng.uniform(0.05, 0.12) if not floor else rng.uniform(0.45, 0.7)
    cy = stem + R + 0.02
    tilt = 23.4 if rng.random() < 0.8 else 0.0
    ins = asm.instance("sphere")
    asm.add(sphere(R, segments=32, rings=16).moved(rot_z(tilt), (0, cy, 0)), sphere_m, ins)
    mr = R + rng.uniform(0.01, 0.02)
    full = rng.random() < 0.4
    ring = torus(mr, rng.uniform(0.003, 0.007), start_deg=-90 if not full else 0, end_deg=90 if not full else 360,
                 plane="xy", segments=8, n=40)
    asm.add(ring.moved(rot_z(tilt), (0, cy, 0)), stand_m)
    axis = rot_z(tilt) @ np.array([0.0, 1.0, 0.0])
    asm.add(rod(np.array([0, cy, 0]) - axis * (mr + 0.005), np.array([0, cy, 0]) + axis * (mr + 0.005), 0.003), stand_m)
    bottom = np.array([0, cy, 0]) - axis * mr
    asm.add(rod([bottom[0], 0.01, 0], bottom, rng.uniform(0.006, 0.012)), stand_m)
    if floor:
        for k in range(3):
            a = np.deg2rad(120 * k)
            asm.add(rod([bottom[0], stem * 0.4, 0], [0.25 * np.cos(a), 0.0, 0.25 * np.sin(a)], 0.01), stand_m)
    else:
        br = rng.uniform(0.07, 0.12)
        asm.add(frustum(br, br * rng.uniform(0.3, 0.7), rng.uniform(0.02, 0.05), segments=28), stand_m)
