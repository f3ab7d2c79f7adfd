"""Table and StorageFurniture, built around a shared cabinet (body, drawers, doors, handles).

PartNet-E parts: StorageFurniture (door, drawer, handle); Table (door, drawer, leg, tabletop,
wheel, handle). A cabinet's carcass, aprons, plinths and shelves are no named part (label -1),
as in PartNet-E. Frame: +Y up, fronts face +Z, standing on y = 0, metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from partlift.data.synthetic.assembly import Assembly
from partlift.data.synthetic.components import caster_fork, caster_wheel, handle, move
from partlift.data.synthetic.materials import Material, Palette, shade
from partlift.data.synthetic.primitives import (
    beam,
    box,
    cylinder,
    ellipse,
    extrude,
    frustum,
    rod,
    rot_y,
    rounded_rect,
)

__all__ = ["CabinetStyle", "cabinet", "storage_furniture", "table"]

_GAP = 0.003  # gap between neighbouring fronts (m)


@dataclass(frozen=True)
class CabinetStyle:
    """Materials and handle style shared by all fronts of one piece of furniture."""

    body: Material
    front: Material
    handle: Material
    handle_style: str | None  # None: no handles
    open_prob: float = 0.2


def _style(rng: np.random.Generator, pal: Palette, *, handle_prob: float = 0.92) -> CabinetStyle:
    body = pal.wood() if rng.random() < 0.55 else pal.painted()
    r = rng.random()
    front = body if r < 0.55 else (shade(body, rng.uniform(0.75, 0.92)) if r < 0.75 else
                                    (pal.wood() if rng.random() < 0.5 else pal.painted()))
    r = rng.random()
    hm = pal.metal() if r < 0.6 else (front if r < 0.8 else pal.plastic(dark=True))
    hs = str(rng.choice(["bar", "bar", "arch", "knob", "pull", "cup"])) if rng.random() < handle_prob else None
    return CabinetStyle(body, front, hm, hs)


def _door(
    asm: Assembly,
    rng: np.random.Generator,
    st: CabinetStyle,
    x0: float,
    x1: float,
    y0: float,
    y1: float,
    z: float,
    hinge_left: bool,
) -> None:
    """A door panel over [x0, x1] x [y0, y1] whose back is at ``z``, with its handle."""
    ft = rng.uniform(0.015, 0.025)
    w, h = x1 - x0, y1 - y0
    pieces = [box((w, h, ft), (0, 0, ft / 2))]
    if rng.random() < 0.35 and min(w, h) > 0.2:  # raised panel
        m = min(w, h) * rng.uniform(0.1, 0.18)
        pieces.append(box((w - 2 * m, h - 2 * m, 0.006), (0, 0, ft + 0.003)))
    hpieces: list = []
    if st.handle_style is not None:
        hl = float(np.clip(h * rng.uniform(0.15, 0.35), 0.06, 0.5))
        edge = (w / 2 - max(0.035, w * 0.08)) * (1 if hinge_left else -1)
        hy = float(np.clip(rng.uniform(-0.1, 0.3) * h, -h / 2 + hl, h / 2 - hl)) if h > 0.5 else 0.0
        style = st.handle_style if st.handle_style != "cup" else "bar"
        hpieces = move(handle(rng, hl, style=style, vertical=True), None, (edge, hy, ft))
    angle = rng.uniform(10, 100) if rng.random() < st.open_prob else 0.0
    hx = -w / 2 if hinge_left else w / 2
    rot = rot_y(-angle if hinge_left else angle)
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2, z])
    hinge = np.array([hx, 0.0, 0.0])

    def place(ps: list) -> list:
        return move(move(ps, None, -hinge), rot, centre + hinge)

    asm.part("door", place(pieces), st.front)
    if hpieces:
        asm.part("handle", place(hpieces), st.handle)


def _drawer(
    asm: Assembly,
    rng: np.random.Generator,
    st: CabinetStyle,
    x0: float,
    x1: float,
    y0: float,
    y1: float,
    z: float,
    depth: float,
) -> None:
    """A drawer (front + box reaching ``depth`` back) over [x0, x1] x [y0, y1], front back at ``z``."""
    ft = rng.uniform(0.015, 0.025)
    w, h = x1 - x0, y1 - y0
    pull = rng.uniform(0.05, 0.7) * depth if rng.random() < st.open_prob else 0.0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    zf = z + pull
    bt = 0.01
    bw, bh, bd = w - 0.04, h * 0.7, depth * 0.85
    by = cy - h / 2 + 0.01 + bh / 2
    pieces = [
        box((w, h, ft), (cx, cy, zf + ft / 2)),
        box((bt, bh, bd), (cx - bw / 2 + bt / 2, by, zf - bd / 2)),
        box((bt, bh, bd), (cx + bw / 2 - bt / 2, by, zf - bd / 2)),
        box((bw, bt, bd), (cx, by - bh / 2 + bt / 2, zf - bd / 2)),
        box((bw, bh, bt), (cx, by, zf - bd + bt / 2)),
    ]
    asm.part("drawer", pieces, st.front)
    if st.handle_style is None:
        return
    style = st.handle_style
    hy = cy + (h * rng.uniform(0.0, 0.25) if h > 0.25 else 0.0)
    if style == "knob" and w > 0.5 and rng.random() < 0.7:
        for fx in (-0.25, 0.25):
            asm.part("handle", move(handle(rng, 0.0, style="knob"), None, (cx + fx * w, hy, zf + ft)), st.handle)
        return
    hl = float(np.clip(w * rng.uniform(0.2, 0.45), 0.06, 0.35))
    asm.part("handle", move(handle(rng, hl, style=style), None, (cx, hy, zf + ft)), st.handle)


def _layout(rng: np.random.Generator, max_drawers: int = 4, max_doors: int = 2) -> list[tuple[str, int]]:
    """Rows of fronts from top to bottom: ("drawer" | "door" | "open", columns)."""
    kind = rng.choice(["chest", "doors", "mixed", "mixed"])
    if kind == "chest":
        if rng.random() < 0.25 and max_drawers >= 4:
            return [("drawer", 2), ("drawer", 2)]
        n = int(rng.integers(1, max_drawers + 1))
        return [("drawer", 1)] * n
    if kind == "doors":
        rows: list[tuple[str, int]] = [("door", int(rng.integers(1, max_doors + 1)))]
        if rng.random() < 0.3:
            rows.insert(0, ("open", 1))
        return rows
    n_dr = int(rng.integers(1, 3))
    cols = 2 if (rng.random() < 0.3 and n_dr * 2 <= max_drawers) else 1
    rows = [("drawer", cols)] * n_dr + [("door", int(rng.integers(1, max_doors + 1)))]
    if rng.random() < 0.1:  # doors above the drawers
        rows.reverse()
    return rows


def cabinet(
    asm: Assembly,
    rng: np.random.Generator,
    st: CabinetStyle,
    w: float,
    h: float,
    d: float,
    centre_x: float,
    y0: float,
    rows: list[tuple[str, int]],
    *,
    centre_z: float = 0.0,
    top: bool = True,
) -> None:
    """A carcass (label -1) of ``w`` x ``h`` x ``d`` from ``y0`` up, with overlay fronts by ``rows``."""
    t = rng.uniform(0.015, 0.025)
    zb, zf = centre_z - d / 2, centre_z + d / 2
    x0, x1 = centre_x - w / 2, centre_x + w / 2
    body = [
        box((t, h, d), (x0 + t / 2, y0 + h / 2, centre_z)),
        box((t, h, d), (x1 - t / 2, y0 + h / 2, centre_z)),
        box((w - 2 * t, t, d), (centre_x, y0 + t / 2, centre_z)),
        box((w - 2 * t, h - 2 * t, t), (centre_x, y0 + h / 2, zb + t / 2)),
    ]
    if top:
        body.append(box((w - 2 * t, t, d), (centre_x, y0 + h - t / 2, centre_z)))
    for p in body:
        asm.add(p, st.body)
    # row heights: drawers short, doors / open rows share what is left; a stack of drawers
    # that would make drawers taller than 0.35 m gets an open shelf at the bottom
    if all(kind == "drawer" for kind, _ in rows) and h / len(rows) > 0.35:
        rows = [*rows, ("open", 1)]
    dh = [rng.uniform(0.12, 0.22) if kind == "drawer" else 0.0 for kind, _ in rows]
    fixed = sum(dh)
    n_flex = sum(1 for kind, _ in rows if kind != "drawer")
    if n_flex == 0:
        dh = [x * h / fixed for x in dh]
    else:
        fixed = min(fixed, 0.6 * h)
        scale = fixed / max(sum(dh), 1e-9)
        dh = [x * scale for x in dh]
        weights = rng.uniform(0.7, 1.3, size=n_flex)
        rest = (h - fixed) * weights / weights.sum()
        it = iter(rest)
        dh = [x if kind == "drawer" else float(next(it)) for x, (kind, _) in zip(dh, rows, strict=True)]
    y = y0 + h
    for r, ((kind, cols), rh) in enumerate(zip(rows, dh, strict=True)):
        ya, yb = y - rh, y
        y = ya
        if kind == "open":  # shelf boards: one dividing it from the fronts, one inside if tall
            ys = [ya + t / 2 if r == 0 else yb - t / 2]
            if rh > 0.5:
                ys.append((ya + yb) / 2)
            for ysh in ys:
                asm.add(box((w - 2 * t, t, d - t), (centre_x, ysh, centre_z + t / 2)), st.body)
            continue
        edges = np.linspace(x0, x1, cols + 1)
        for c in range(cols):
            xa, xb = edges[c] + _GAP, edges[c + 1] - _GAP
            if kind == "drawer":
                _drawer(asm, rng, st, xa, xb, ya + _GAP, yb - _GAP, zf, d - t)
            else:
                hinge_left = (c == 0) if cols > 1 else bool(rng.random() < 0.5)
                _door(asm, rng, st, xa, xb, ya + _GAP, yb - _GAP, zf, hinge_left)


def _feet(asm: Assembly, rng: np.random.Generator, m: Material, w: float, d: float, hb: float, cx: float = 0.0) -> None:
    """What a carcass stands on (label -1): a plinth or four short legs, ``hb`` high."""
    if hb <= 0:
        return
    if rng.random() < 0.5:
        asm.add(box((w - 0.04, hb, d - 0.04), (cx, hb / 2, -0.01)), m)
        return
    lw = rng.uniform(0.025, 0.05)
    for sx in (-1, 1):
        for sz in (-1, 1):
            p = [cx + sx * (w / 2 - lw), 0.0, sz * (d / 2 - lw)]
            asm.add(rod(p, [p[0], hb + 0.002, p[2]], lw / 2, r1=lw / 2 * 1.3, segments=10), m)


def storage_furniture(asm: Assembly, rng: np.random.Generator) -> None:
    """A cabinet, chest of drawers, wardrobe, sideboard or nightstand."""
    pal = Palette(rng)
    st = _style(rng, pal)
    kind = rng.choice(["low", "tall", "wide", "small"])
    w = {"low": rng.uniform(0.6, 1.0), "tall": rng.uniform(0.5, 1.0), "wide": rng.uniform(1.0, 1.6),
         "small": rng.uniform(0.35, 0.55)}[kind]
    h = {"low": rng.uniform(0.6, 1.1), "tall": rng.uniform(1.3, 2.0), "wide": rng.uniform(0.6, 1.0),
         "small": rng.uniform(0.4, 0.65)}[kind]
    d = rng.uniform(0.35, 0.6)
    hb = 0.0 if rng.random() < 0.3 else rng.uniform(0.04, 0.15)
    rows = _layout(rng)
    if kind == "small":
        rows = [r for r in rows if r[0] != "open"] or [("drawer", 1)]
    cabinet(asm, rng, st, w, h, d, 0.0, hb, rows)
    _feet(asm, rng, st.body if rng.random() < 0.6 else pal.metal(), w, d, hb)
    if rng.random() < 0.4:  # overhanging top
        ov = rng.uniform(0.005, 0.03)
        tt = rng.uniform(0.02, 0.04)
        asm.add(box((w + 2 * ov, tt, d + ov), (0, hb + h + tt / 2, ov / 2)), st.body)


# ---------------------------------------------------------------------------------------------
# tables


def _top(rng: np.random.Generator, w: float, d: float, y: float, t: float, shape: str):
    if shape == "round":
        return extrude(ellipse(w / 2, d / 2, 48), y - t, y)
    if shape == "rounded":
        return extrude(rounded_rect(w, d, rng.uniform(0.02, min(w, d) * 0.3)), y - t, y)
    return box((w, t, d), (0, y - t / 2, 0))


def _caster(
    asm: Assembly,
    rng: np.random.Generator,
    at: np.ndarray,
    radius: float,
    top: float,
    wheel_m: Material,
    fork_m: Material,
) -> None:
    """A caster standing on the floor at ``at`` whose fork reaches up to ``top``: a wheel
    instance and its fork (label -1)."""
    sw = rng.uniform(0, 360)
    asm.part("wheel", caster_wheel(radius, radius * 0.7, sw).moved(None, at), wheel_m)
    for p in caster_fork(radius, radius * 0.7, sw, top):
        asm.add(p.moved(None, at), fork_m)


def table(asm: Assembly, rng: np.random.Generator) -> None:
    """A four-leg table (optionally on casters), a pedestal table, a desk with drawer pedestals,
    or a low table with a cabinet."""
    pal = Palette(rng)
    top_m = pal.wood() if rng.random() < 0.6 else pal.choice(pal.painted(), pal.noisy(), pal.glass())
    r = rng.random()
    leg_m = top_m if r < 0.5 else (pal.metal() if r < 0.8 else shade(top_m, rng.uniform(0.7, 0.9)))
    variant = rng.choice(["legs", "pedestal", "desk", "cabinet"], p=[0.35, 0.15, 0.25, 0.25])
    if variant == "legs":
        _leg_table(asm, rng, pal, top_m, leg_m)
    elif variant == "pedestal":
        _pedestal_table(asm, rng, top_m, leg_m)
    elif variant == "desk":
        _desk(asm, rng, pal, top_m, leg_m)
    else:
        _cabinet_table(asm, rng, pal, top_m, leg_m)


def _leg_table(asm: Assembly, rng: np.random.Generator, pal: Palette, top_m: Material, leg_m: Material) -> None:
    coffee = rng.random() < 0.3
    h = rng.uniform(0.38, 0.5) if coffee else rng.uniform(0.68, 0.78)
    w = rng.uniform(0.7, 1.8)
    d = rng.uniform(0.5, min(1.0, w))
    t = rng.uniform(0.02, 0.05)
    shape = str(rng.choice(["rect", "rect", "rounded", "round"]))
    asm.part("tabletop", _top(rng, w, d, h, t, shape), top_m)
    wheels = rng.random() < 0.3
    wr = rng.uniform(0.025, 0.04)
    y_foot = 2 * wr + 0.01 if wheels else 0.0
    wheel_m = pal.plastic(dark=True)
    lw = rng.uniform(0.03, 0.07)
    inset = rng.uniform(0.03, 0.1) + lw / 2
    if shape == "round":
        ix, iz = w / 2 / np.sqrt(2) - lw / 2, d / 2 / np.sqrt(2) - lw / 2
    else:
        ix, iz = w / 2 - inset, d / 2 - inset
    apron = rng.random() < 0.5 and shape != "round"
    if apron:
        ah = rng.uniform(0.05, 0.1)
        at = 0.02
        for sz in (-1, 1):
            asm.add(box((2 * ix, ah, at), (0, h - t - ah / 2, sz * (iz - lw / 2 + at / 2))), leg_m)
        for sx in (-1, 1):
            asm.add(box((at, ah, 2 * iz), (sx * (ix - lw / 2 + at / 2), h - t - ah / 2, 0)), leg_m)
    round_legs = rng.random() < 0.4
    splay = rng.uniform(0, 0.06) if rng.random() < 0.3 else 0.0
    for sx in (-1, 1):
        for sz in (-1, 1):
            top = np.array([sx * ix, h - t + 0.002, sz * iz])
            foot = np.array([sx * (ix + splay), y_foot, sz * (iz + splay)])
            piece = rod(foot, top, lw / 2 * rng.uniform(0.6, 1.0), r1=lw / 2) if round_legs else beam(foot, top, lw)
            asm.part("leg", piece, leg_m)
            if wheels:
                _caster(asm, rng, foot - [0, y_foot, 0], wr, y_foot, wheel_m, leg_m)
    if rng.random() < 0.25:  # lower shelf
        sy = y_foot + rng.uniform(0.08, 0.2) * h
        asm.add(box((2 * ix, 0.02, 2 * iz), (0, sy, 0)), top_m)


def _pedestal_table(asm: Assembly, rng: np.random.Generator, top_m: Material, leg_m: Material) -> None:
    h = rng.uniform(0.65, 0.78) if rng.random() < 0.8 else rng.uniform(0.95, 1.1)
    rad = rng.uniform(0.3, 0.6)
    t = rng.uniform(0.02, 0.05)
    shape = "round" if rng.random() < 0.75 else "rounded"
    asm.part("tabletop", _top(rng, 2 * rad, 2 * rad, h, t, shape), top_m)
    cr = rng.uniform(0.03, 0.07)
    col = cylinder(cr, h - t + 0.002, segments=20)
    if rng.random() < 0.5:  # disc foot, one leg with the column
        fr = rng.uniform(0.55, 0.8) * rad
        asm.part("leg", [col, frustum(fr, fr * rng.uniform(0.3, 0.9), rng.uniform(0.02, 0.06), segments=32)], leg_m)
        return
    asm.part("leg", col, leg_m)
    n = int(rng.choice([3, 4]))
    reach = rng.uniform(0.5, 0.8) * rad
    ph = rng.uniform(0, 360)
    for k in range(n):
        a = np.deg2rad(ph + 360 * k / n)
        tip = np.array([np.sin(a) * reach, 0.02, np.cos(a) * reach])
        asm.part("leg", beam([np.sin(a) * cr * 0.5, 0.12, np.cos(a) * cr * 0.5], tip, 0.04, 0.04), leg_m)


def _desk(asm: Assembly, rng: np.random.Generator, pal: Palette, top_m: Material, leg_m: Material) -> None:
    h = rng.uniform(0.7, 0.78)
    w = rng.uniform(1.0, 1.7)
    d = rng.uniform(0.55, 0.8)
    t = rng.uniform(0.025, 0.04)
    asm.part("tabletop", _top(rng, w, d, h, t, "rect"), top_m)
    st = _style(rng, pal)
    st = CabinetStyle(top_m if rng.random() < 0.5 else st.body, top_m if rng.random() < 0.5 else st.front,
                      st.handle, st.handle_style, 0.2)
    pw = rng.uniform(0.35, 0.48)
    both = rng.random() < 0.3
    sides = [-1, 1] if both else [int(rng.choice([-1, 1]))]
    ph = h - t
    for s in sides:
        cx = s * (w / 2 - pw / 2 - 0.01)
        if rng.random() < 0.6:
            rows = [("drawer", 1)] * int(rng.integers(2, 5))
        else:
            rows = [("drawer", 1), ("door", 1)] if rng.random() < 0.7 else [("door", 1)]
        lift = 0.0
        if not both and rng.random() < 0.35:  # a mobile pedestal on casters, under the top
            wr = rng.uniform(0.02, 0.03)
            lift = 2 * wr + 0.01
            wheel_m = pal.plastic(dark=True)
            for sxw in (-1, 1):
                for szw in (-1, 1):
                    at = np.array([cx + sxw * (pw / 2 - 0.04), 0.0, szw * ((d - 0.04) / 2 - 0.05)])
                    _caster(asm, rng, at, wr, lift, wheel_m, st.body)
            ph_c = ph - lift - rng.uniform(0.02, 0.08)
        else:
            ph_c = ph
        cabinet(asm, rng, st, pw, ph_c, d - 0.04, cx, lift, rows, top=True)
    if not both:
        s = -sides[0]
        lw = rng.uniform(0.03, 0.06)
        x = s * (w / 2 - lw / 2 - 0.03)
        if rng.random() < 0.8:
            for sz in (-1, 1):
                z = sz * (d / 2 - lw / 2 - 0.03)
                asm.part("leg", beam([x, 0, z], [x, h - t + 0.002, z], lw), leg_m)
        else:  # a panel side
            asm.add(box((0.03, h - t, d - 0.06), (x, (h - t) / 2, 0)), st.body)
    if rng.random() < 0.4:  # centre drawer under the top
        span = w - (2 if both else 1) * (pw + 0.02) - 0.1
        if span > 0.3:
            cx = 0.0 if both else -sides[0] * (pw + 0.02) / 2
            dw = min(span, 0.6)
            _drawer(asm, rng, st, cx - dw / 2, cx + dw / 2, h - t - 0.1, h - t - 0.005, d / 2 - 0.02, d * 0.7)


def _cabinet_table(asm: Assembly, rng: np.random.Generator, pal: Palette, top_m: Material, leg_m: Material) -> None:
    h = rng.uniform(0.45, 0.75)
    w = rng.uniform(0.45, 1.2)
    d = rng.uniform(0.4, 0.7)
    t = rng.uniform(0.02, 0.04)
    asm.part("tabletop", _top(rng, w + 0.04, d + 0.04, h, t, "rect"), top_m)
    st = _style(rng, pal)
    st = CabinetStyle(top_m if rng.random() < 0.5 else st.body, st.front, st.handle, st.handle_style, 0.2)
    lw = rng.uniform(0.025, 0.05)
    if rng.random() < 0.3:  # on casters
        wr = rng.uniform(0.02, 0.035)
        lh = 2 * wr + 0.01
        wheel_m = pal.plastic(dark=True)
        for sx in (-1, 1):
            for sz in (-1, 1):
                at = np.array([sx * (w / 2 - 0.05), 0.0, sz * (d / 2 - 0.05)])
                _caster(asm, rng, at, wr, lh, wheel_m, leg_m)
    else:
        lh = rng.uniform(0.08, 0.3) * h
        for sx in (-1, 1):
            for sz in (-1, 1):
                p = [sx * (w / 2 - lw / 2), 0.0, sz * (d / 2 - lw / 2)]
                asm.part("leg", beam(p, [p[0], lh + 0.002, p[2]], lw), leg_m)
    if rng.random() < 0.5:
        rows = [("drawer", 1)] * int(rng.integers(1, 3))
    else:
        rows = [("door", int(rng.integers(1, 3)))]
        if rng.random() < 0.5:
            rows.insert(0, ("drawer", 1))
    cabinet(asm, rng, st, w, h - t - lh, d, 0.0, lh, rows)
