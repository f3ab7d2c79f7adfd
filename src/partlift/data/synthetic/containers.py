"""Containers: Bottle, Bucket, Kettle, KitchenPot (lathe profiles), Box and TrashCan.

PartNet-E parts: Bottle (lid); Bucket (handle); Kettle (lid, handle, spout); KitchenPot (lid,
handle); Box (lid); TrashCan (footpedal, lid, door). Vessel bodies, rims and lugs are no named
part (label -1). Frame: +Y up, the vessel's
axis is the Y axis, standing on y = 0, metres; spouts point to +X.
"""

from __future__ import annotations

import numpy as np

from partlift.data.synthetic.assembly import Assembly
from partlift.data.synthetic.materials import Palette, shade
from partlift.data.synthetic.primitives import (
    Piece,
    beam,
    box,
    cylinder,
    lathe,
    rod,
    rot_x,
    rot_y,
    sphere,
    torus,
    tube,
)

__all__ = ["bottle", "bucket", "kettle", "kitchen_pot", "storage_box", "trash_can"]


def _smooth_profile(ys: list[float], rs: list[float], n: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """A smooth (r, y) profile through control points (cosine easing between them)."""
    ys_a, rs_a = np.asarray(ys, float), np.asarray(rs, float)
    out_r, out_y = [], []
    per = max(n // (len(ys_a) - 1), 2)
    for k in range(len(ys_a) - 1):
        t = np.linspace(0, 1, per, endpoint=False)
        e = (1 - np.cos(np.pi * t)) / 2
        out_y.append(ys_a[k] + (ys_a[k + 1] - ys_a[k]) * t)
        out_r.append(rs_a[k] + (rs_a[k + 1] - rs_a[k]) * e)
    out_y.append(ys_a[-1:])
    out_r.append(rs_a[-1:])
    return np.concatenate(out_r), np.concatenate(out_y)


def _radius_at(r: np.ndarray, y: np.ndarray, yq: float) -> float:
    """Radius of a profile (monotone in y) at height ``yq``."""
    return float(np.interp(yq, y, r))


def _split_lathe(r: np.ndarray, y: np.ndarray, cuts: list[float], segments: int) -> list[Piece]:
    """The closed-bottom lathe of (r, y) cut at heights ``cuts`` into stacked pieces."""
    pieces = []
    bounds = [y[0], *cuts, y[-1]]
    for k in range(len(bounds) - 1):
        lo, hi = bounds[k], bounds[k + 1]
        inside = (y > lo) & (y < hi)
        ys = np.concatenate([[lo], y[inside], [hi]])
        rs = np.concatenate([[np.interp(lo, y, r)], r[inside], [np.interp(hi, y, r)]])
        if k == 0:
            ys, rs = np.concatenate([[lo], ys]), np.concatenate([[0.0], rs])
        pieces.append(lathe(rs, ys, segments=segments, cap_end=(k == len(bounds) - 2)))
    return pieces


# ---------------------------------------------------------------------------------------------


def bottle(asm: Assembly, rng: np.random.Generator) -> None:
    """A wine, water, sauce or jar-like bottle with a cap, cork or sport lid."""
    pal = Palette(rng)
    kind = rng.choice(["wine", "water", "water", "jar", "sauce"])
    h = rng.uniform(0.18, 0.34)
    if kind == "wine":
        R = h * rng.uniform(0.11, 0.14)
        rn = R * rng.uniform(0.28, 0.36)
        ysh = h * rng.uniform(0.5, 0.62)
        yneck = ysh + h * rng.uniform(0.12, 0.18)
        ys, rs = [0, ysh, yneck, h], [R, R, rn, rn * 1.05]
    elif kind == "water":
        R = h * rng.uniform(0.12, 0.18)
        rn = R * rng.uniform(0.35, 0.55)
        ysh = h * rng.uniform(0.6, 0.78)
        waist = R * rng.uniform(0.85, 1.0)
        ys, rs = [0, h * 0.35, ysh, h * 0.92, h], [R, waist, R, rn, rn]
    elif kind == "jar":
        R = h * rng.uniform(0.22, 0.32)
        rn = R * rng.uniform(0.7, 0.85)
        ysh = h * rng.uniform(0.75, 0.85)
        ys, rs = [0, ysh, h * 0.93, h], [R, R, rn, rn]
    else:  # sauce: tapering body
        R = h * rng.uniform(0.14, 0.2)
        rn = R * rng.uniform(0.3, 0.45)
        ys, rs = [0, h * 0.1, h * 0.75, h * 0.9, h], [R * 0.95, R, R * rng.uniform(0.7, 0.9), rn, rn]
    r, y = _smooth_profile(ys, rs, n=30)
    body_m = pal.glass() if (kind == "wine" or rng.random() < 0.4) else pal.plastic()
    band = rng.random() < 0.65
    label_m = pal.choice(pal.striped(), pal.noisy(), pal.painted(), pal.fabric())
    if band:
        y_lo = h * rng.uniform(0.12, 0.3)
        y_hi = min(y_lo + h * rng.uniform(0.2, 0.4), float(ys[1] if kind != "water" else ys[2]) * 0.98)
        y_hi = max(y_hi, y_lo + 0.02)
        pieces = _split_lathe(r, y, [y_lo, y_hi], 32)
        asm.add(pieces[0], body_m)
        asm.add(pieces[1], label_m)
        asm.add(pieces[2], body_m)
    else:
        asm.add(_split_lathe(r, y, [], 32)[0], body_m)
    # lid
    q = rng.random()
    lid_m = label_m if q < 0.3 else (body_m if q < 0.45 else pal.choice(pal.metal(), pal.plastic(), pal.striped()))
    rn_top = float(r[-1])
    if kind == "wine":  # foil capsule over the neck
        lh = h * rng.uniform(0.08, 0.14)
        lr = rn_top * 1.08
        asm.part("lid", lathe(np.array([lr, lr, lr * 0.92]), np.array([h - lh, h, h + 0.003]), segments=24,
                              cap_start=True, cap_end=True), lid_m)
        return
    lh = h * rng.uniform(0.04, 0.09)
    lr = rn_top * rng.uniform(1.08, 1.2)
    if kind == "sauce" or rng.random() < 0.2:  # sport / flip lid: cap + nozzle
        nh = lh * rng.uniform(0.6, 1.2)
        asm.part("lid", [cylinder(lr, lh, y0=h - lh * 0.6, segments=24),
                         lathe(np.array([lr * 0.55, lr * 0.2]), np.array([h + lh * 0.4, h + lh * 0.4 + nh]),
                               segments=16, cap_end=True)], lid_m)
        return
    asm.part("lid", lathe(np.array([lr, lr, lr * 0.96]), np.array([h - lh * 0.7, h + lh * 0.3, h + lh * 0.35]),
                          segments=28, cap_start=True, cap_end=True), lid_m)


# ---------------------------------------------------------------------------------------------


def _vessel(rb: float, rt: float, h: float, th: float, *, corner: float = 0.0, segments: int = 36) -> Piece:
    """An open, walled vessel: outer wall up from a closed bottom, rim, inner wall down."""
    c = min(corner, rb * 0.5, h * 0.3)
    if c > 0:
        a = np.linspace(np.pi / 2, 0, 5)[1:-1]
        r_out = np.concatenate([[0.0, rb - c], rb - c + c * np.cos(a), [rb, rt]])
        y_out = np.concatenate([[0.0, 0.0], c - c * np.sin(a), [c, h]])
    else:
        r_out, y_out = np.array([0.0, rb, rt]), np.array([0.0, 0.0, h])
    r = np.concatenate([r_out, [rt - th, rb - th, 0.0]])
    y = np.concatenate([y_out, [h, th, th]])
    return lathe(r, y, segments=segments)


def bucket(asm: Assembly, rng: np.random.Generator) -> None:
    """A tapered pail with a rim and a wire bail handle (upright or tipped to one side)."""
    pal = Palette(rng)
    rt = rng.uniform(0.11, 0.17)
    rb = rt * rng.uniform(0.7, 0.95)
    h = rng.uniform(0.18, 0.32)
    body_m = pal.choice(pal.metal(), pal.plastic(dark=False), pal.painted(), pal.noisy())
    asm.add(_vessel(rb, rt, h, 0.004, corner=rng.uniform(0.0, 0.02)), body_m)
    asm.add(torus(rt + 0.002, rng.uniform(0.003, 0.007), plane="xz", segments=8, n=48).moved(None, (0, h, 0)),
            shade(body_m, 0.9))
    q = rng.random()
    handle_m = body_m if q < 0.35 else (shade(body_m, 0.8) if q < 0.55 else pal.choice(pal.metal(), pal.plastic()))
    pivot_y = h - rng.uniform(0.015, 0.04)
    pivot_r = _radius_at(np.array([rb, rt]), np.array([0.0, h]), pivot_y)
    ear_m = body_m if rng.random() < 0.6 else handle_m
    for sx in (-1, 1):
        asm.add(box((0.01, 0.03, 0.03), (sx * (pivot_r + 0.004), pivot_y, 0)), ear_m)
    span = pivot_r + 0.012
    rise = span * rng.uniform(0.85, 1.3)
    t = np.linspace(0, np.pi, 40)
    path = np.stack([span * np.cos(t), rise * np.sin(t), np.zeros_like(t)], 1)
    wire = rng.uniform(0.0025, 0.005)
    pieces = [tube(path, wire, segments=8)]
    if rng.random() < 0.6:  # grip
        gl = rng.uniform(0.06, 0.11)
        pieces.append(rod([-gl / 2, rise, 0], [gl / 2, rise, 0], rng.uniform(0.01, 0.015), segments=12))
    tip = rng.uniform(-85, 85) if rng.random() < 0.55 else 0.0
    asm.part("handle", [p.moved(rot_x(tip), (0, pivot_y, 0)) for p in pieces], handle_m)


# ---------------------------------------------------------------------------------------------


def kettle(asm: Assembly, rng: np.random.Generator) -> None:
    """A stovetop kettle (round body, top or side handle, long spout) or an electric jug kettle."""
    pal = Palette(rng)
    electric = rng.random() < 0.4
    body_m = pal.choice(pal.metal(), pal.painted(), pal.plastic()) if not electric else pal.choice(
        pal.plastic(), pal.metal(), pal.painted())
    if electric:
        h = rng.uniform(0.18, 0.26)
        rb = rng.uniform(0.075, 0.1)
        ro = rb * rng.uniform(0.75, 1.0)
        ys, rs = [0.0, h * 0.5, h], [rb, (rb + ro) / 2 * rng.uniform(1.0, 1.06), ro]
    else:
        h = rng.uniform(0.13, 0.2)
        rm = rng.uniform(0.09, 0.13)
        rb = rm * rng.uniform(0.8, 1.0)
        ro = rm * rng.uniform(0.4, 0.65)
        ym = h * rng.uniform(0.25, 0.45)
        ys, rs = [0.0, ym, h], [rb, rm, ro]
    r, y = _smooth_profile(ys, rs, n=24)
    asm.add(lathe(np.concatenate([[0.0], r]), np.concatenate([[0.0], y]), segments=36, cap_end=True), body_m)
    if electric:
        asm.add(cylinder(rb * 1.08, 0.02, y0=-0.02, segments=32), pal.plastic(dark=True))

    # lid: flat or domed, with a knob
    q = rng.random()
    lid_m = body_m if q < 0.5 else (shade(body_m, rng.uniform(0.75, 0.9)) if q < 0.7 else pal.any())
    lr = float(r[-1]) * rng.uniform(1.0, 1.06)
    dome = lr * rng.uniform(0.1, 0.5)
    t = np.linspace(0, np.pi / 2, 8)
    lid = [lathe(np.concatenate([[lr * 0.9, lr], lr * np.cos(t)]), np.concatenate([[h - 0.005, h], h + dome * np.sin(t)]),
                 segments=32, cap_start=True)]
    kr = rng.uniform(0.01, 0.02)
    if rng.random() < 0.6:
        lid.append(sphere(kr, segments=16, rings=8).moved(None, (0, h + dome + kr * 0.7, 0)))
    else:
        lid.append(cylinder(kr, rng.uniform(0.01, 0.025), y0=h + dome - 0.003, segments=16))
    asm.part("lid", lid, lid_m)

    # spout on +X
    q = rng.random()
    spout_m = body_m if q < 0.7 else (shade(body_m, 0.85) if q < 0.85 else lid_m)
    if electric:
        ys0 = h * rng.uniform(0.82, 0.9)
        x0 = _radius_at(r, y, ys0) - 0.01
        path = np.array([[x0, ys0, 0], [x0 + 0.03, ys0 + 0.015, 0], [x0 + 0.045, ys0 + 0.03, 0]])
        asm.part("spout", tube(path, np.array([0.022, 0.016, 0.012]), segments=14), spout_m)
    else:
        ys0 = h * rng.uniform(0.2, 0.4)
        x0 = _radius_at(r, y, ys0) - 0.012
        reach = rng.uniform(0.07, 0.13)
        ye = h * rng.uniform(0.75, 1.0)
        tt = np.linspace(0, 1, 12)
        bend = rng.uniform(0.0, 1.0)
        px = x0 + reach * (tt * (1 - bend) + bend * np.sin(tt * np.pi / 2))
        py = ys0 + (ye - ys0) * (tt * bend + (1 - bend) * (1 - np.cos(tt * np.pi / 2)))
        rad = np.linspace(rng.uniform(0.018, 0.028), rng.uniform(0.006, 0.01), 12)
        asm.part("spout", tube(np.stack([px, py, np.zeros_like(tt)], 1), rad, segments=14), spout_m)

    # handle: over the top (stovetop only) or on the side (-X)
    q = rng.random()
    handle_m = body_m if q < 0.35 else (pal.plastic(dark=True) if q < 0.75 else pal.wood())
    hr = rng.uniform(0.007, 0.013)
    if not electric and rng.random() < 0.5:
        ya = h * rng.uniform(0.75, 0.95)
        xa = _radius_at(r, y, ya) - hr
        peak = h + dome + rng.uniform(0.05, 0.1)
        t = np.linspace(0, np.pi, 30)
        path = np.stack([-xa * np.cos(t), ya + (peak - ya) * np.sin(t), np.zeros_like(t)], 1)
        asm.part("handle", tube(path, hr, segments=10), handle_m)
        return
    y_top = h * rng.uniform(0.75, 0.92)
    y_bot = h * rng.uniform(0.15, 0.35)
    out = rng.uniform(0.05, 0.08)
    t = np.linspace(-np.pi / 2, np.pi / 2, 24)
    yc, b = (y_top + y_bot) / 2, (y_top - y_bot) / 2
    ry = yc + b * np.sin(t)
    px = -(np.interp(ry, y, r) - hr * 1.5) - out * np.cos(t) ** 0.7
    path = np.stack([px, ry, np.zeros_like(t)], 1)
    asm.part("handle", tube(path, hr, segments=10), handle_m)


# ---------------------------------------------------------------------------------------------


def kitchen_pot(asm: Assembly, rng: np.random.Generator) -> None:
    """A cooking pot with a lid and two side handles, or a saucepan with one long handle."""
    pal = Palette(rng)
    R = rng.uniform(0.09, 0.16)
    h = R * rng.uniform(0.55, 1.2)
    body_m = pal.choice(pal.metal(), pal.metal(), pal.painted(), pal.noisy())
    asm.add(_vessel(R * rng.uniform(0.9, 1.0), R, h, 0.004, corner=rng.uniform(0.005, 0.03), segments=40), body_m)

    if rng.random() < 0.92:
        q = rng.random()
        lid_m = body_m if q < 0.45 else (pal.glass() if q < 0.75 else shade(body_m, rng.uniform(0.7, 0.9)))
        lr = R * rng.uniform(1.0, 1.04)
        dome = R * rng.uniform(0.08, 0.3)
        t = np.linspace(0, np.pi / 2, 10)
        lid = [lathe(np.concatenate([[lr * 0.96, lr], lr * np.cos(t)]),
                     np.concatenate([[h - 0.004, h], h + dome * np.sin(t)]), segments=40, cap_start=True)]
        knob_m = lid_m if rng.random() < 0.5 else pal.plastic(dark=True)
        ky = h + dome
        if rng.random() < 0.5:
            kr = rng.uniform(0.012, 0.022)
            knob = [cylinder(kr * 0.5, 0.015, y0=ky - 0.004, segments=12),
                    sphere(kr, segments=16, rings=8).scaled((1, 0.7, 1)).moved(None, (0, ky + 0.015 + kr * 0.4, 0))]
        else:  # loop
            lw = rng.uniform(0.03, 0.05)
            knob = [torus(lw / 2, 0.005, start_deg=0, end_deg=180, plane="xy", n=16).moved(None, (0, ky - 0.003, 0))]
        ins = asm.instance("lid")
        for p in lid:
            asm.add(p, lid_m, ins)
        for p in knob:
            asm.add(p, knob_m, ins)

    q = rng.random()
    handle_m = body_m if q < 0.4 else (pal.plastic(dark=True) if q < 0.8 else pal.wood())
    if rng.random() < 0.3:  # saucepan: one long handle on -X, tilted up
        length = R * rng.uniform(1.2, 1.8)
        tilt = rng.uniform(5, 25)
        yh = h * rng.uniform(0.6, 0.85)
        d = np.array([-np.cos(np.deg2rad(tilt)), np.sin(np.deg2rad(tilt)), 0.0])
        p0 = np.array([-R + 0.01, yh, 0])
        if rng.random() < 0.5:
            piece = rod(p0, p0 + d * length, rng.uniform(0.01, 0.014), r1=rng.uniform(0.012, 0.018))
        else:
            piece = beam(p0, p0 + d * length, rng.uniform(0.02, 0.03), rng.uniform(0.008, 0.012))
        asm.part("handle", piece, handle_m)
        return
    style = rng.choice(["loop", "bar", "ear"])
    yh = h * rng.uniform(0.65, 0.9)
    if style == "loop":
        a, out = R * rng.uniform(0.25, 0.4), rng.uniform(0.025, 0.045)
        t = np.linspace(-np.pi / 2, np.pi / 2, 16)
        path = np.stack([R - 0.004 + out * np.cos(t), np.full_like(t, yh), a * np.sin(t)], 1)
        piece = tube(path, 0.006, segments=8)
    elif style == "bar":
        out = rng.uniform(0.03, 0.05)
        piece = box((out + 0.01, 0.012, R * 0.5), (R + out / 2 - 0.005, yh, 0))
    else:
        out = rng.uniform(0.02, 0.035)
        piece = box((out + 0.01, 0.02, R * 0.35), (R + out / 2 - 0.005, yh, 0))
    for angle in (0.0, 180.0):
        asm.part("handle", piece.moved(rot_y(angle)), handle_m)


# ---------------------------------------------------------------------------------------------


def _open_box(w: float, h: float, d: float, t: float, y0: float = 0.0) -> list[Piece]:
    """An open-topped box of outer size w x h x d with walls ``t`` thick, bottom at ``y0``."""
    return [
        box((w, t, d), (0, y0 + t / 2, 0)),
        box((t, h, d), (-w / 2 + t / 2, y0 + h / 2, 0)),
        box((t, h, d), (w / 2 - t / 2, y0 + h / 2, 0)),
        box((w - 2 * t, h, t), (0, y0 + h / 2, -d / 2 + t / 2)),
        box((w - 2 * t, h, t), (0, y0 + h / 2, d / 2 - t / 2)),
    ]


def storage_box(asm: Assembly, rng: np.random.Generator) -> None:
    """A box (cardboard, wooden, plastic) with a lid: on it, hinged open, or a shoe-box cap."""
    pal = Palette(rng)
    body_m = pal.choice(pal.wood(), pal.painted(), pal.noisy(), pal.striped(), pal.plastic())
    q = rng.random()
    lid_m = body_m if q < 0.55 else (shade(body_m, rng.uniform(0.7, 0.9)) if q < 0.8 else pal.any())
    w, d = rng.uniform(0.15, 0.6), rng.uniform(0.12, 0.45)
    h = rng.uniform(0.08, 0.4)
    t = rng.uniform(0.004, 0.015)
    for p in _open_box(w, h, d, t):
        asm.add(p, body_m)
    style = rng.choice(["cap", "hinged", "flat"])
    if style == "cap":  # shoe-box lid with a skirt
        s = rng.uniform(0.02, 0.3) * h
        lw, ld = w + 2 * t, d + 2 * t
        pieces = [box((lw, t, ld), (0, t / 2 + s - t, 0))] + [
            p.moved(rot_x(180), (0, s, 0)) for p in _open_box(lw, s, ld, t)[1:]]
        lift = rng.uniform(0.0, 0.15) if rng.random() < 0.3 else 0.0
        asm.part("lid", [p.moved(None, (0, h - s + lift + s * 0.7, 0)) for p in pieces], lid_m)
        return
    angle = rng.uniform(0, 110) if style == "hinged" else 0.0
    lid = box((w, t, d), (0, t / 2, d / 2)).moved(rot_x(-angle), (0, h, -d / 2))
    ins = asm.instance("lid")
    asm.add(lid, lid_m, ins)
    if style == "hinged" and rng.random() < 0.5:  # a knob on the lid's front edge
        knob = sphere(0.008, segments=10, rings=6).moved(None, (0, t + 0.004, d - 0.02)).moved(
            rot_x(-angle), (0, h, -d / 2))
        asm.add(knob, pal.metal(), ins)


def trash_can(asm: Assembly, rng: np.random.Generator) -> None:
    """A pedal bin, a bin with a rim and a swing lid, or a cabinet bin with a front door."""
    pal = Palette(rng)
    body_m = pal.choice(pal.metal(), pal.plastic(), pal.painted(), pal.noisy())
    q = rng.random()
    lid_m = body_m if q < 0.5 else (shade(body_m, rng.uniform(0.7, 0.9)) if q < 0.75 else pal.plastic(dark=True))
    kind = rng.choice(["pedal", "pedal", "swing", "cabinet"])
    if kind == "cabinet":
        w, h, d = rng.uniform(0.3, 0.45), rng.uniform(0.5, 0.8), rng.uniform(0.3, 0.4)
        t = 0.015
        for p in _open_box(w, h, d, t)[:4]:  # no front wall: the door closes it
            asm.add(p, body_m)
        asm.add(box((w, t, d), (0, h - t / 2, 0)), body_m)
        angle = rng.uniform(10, 80) if rng.random() < 0.3 else 0.0
        dw, dh = w - 0.004, h - 0.006
        door = [box((dw, dh, 0.018), (dw / 2, dh / 2, 0.009))]
        if rng.random() < 0.7:
            door.append(box((0.08, 0.015, 0.02), (dw / 2, dh - 0.06, 0.028)))
        asm.part("door", [p.moved(rot_y(-angle), (-w / 2, 0.003, d / 2)) for p in door], lid_m)
        if rng.random() < 0.4:
            asm.part("lid", box((w * 0.6, 0.01, d * 0.5), (0, h + 0.005, 0)), lid_m)
        return
    round_bin = rng.random() < 0.6
    h = rng.uniform(0.3, 0.75)
    if round_bin:
        rt = rng.uniform(0.11, 0.2)
        asm.add(_vessel(rt * rng.uniform(0.8, 1.0), rt, h, 0.004, corner=0.01), body_m)
        lid_w = lid_d = 2 * rt
    else:
        w, d = rng.uniform(0.22, 0.4), rng.uniform(0.2, 0.32)
        for p in _open_box(w, h, d, 0.006):
            asm.add(p, body_m)
        lid_w, lid_d = w, d
    if kind == "swing":  # a rim ring (-1) under the lid
        asm.add(torus(lid_w / 2 + 0.002, 0.006, plane="xz", segments=8, n=40).moved(None, (0, h, 0)) if round_bin
                else box((lid_w + 0.01, 0.012, lid_d + 0.01), (0, h - 0.006, 0)), lid_m)
    lt = rng.uniform(0.01, 0.03)
    angle = rng.uniform(5, 80) if rng.random() < 0.35 else 0.0
    if round_bin:
        dome = lid_w / 2 * rng.uniform(0.0, 0.3)
        tt = np.linspace(0, np.pi / 2, 8)
        lid = lathe(np.concatenate([[lid_w / 2 + 0.004, lid_w / 2 + 0.004], (lid_w / 2 + 0.004) * np.cos(tt)]),
                    np.concatenate([[0.0, lt], lt + dome * np.sin(tt)]), segments=36, cap_start=True)
        lid = lid.moved(None, (0, 0, lid_d / 2))
    else:
        lid = box((lid_w + 0.008, lt, lid_d + 0.008), (0, lt / 2, lid_d / 2))
    asm.part("lid", lid.moved(rot_x(-angle), (0, h, -lid_d / 2)), lid_m)
    if kind == "pedal":
        pw = rng.uniform(0.06, 0.12)
        pl = rng.uniform(0.04, 0.08)
        zf = lid_d / 2 if not round_bin else _radius_at(np.array([lid_w / 2 * 0.9, lid_w / 2]), np.array([0.0, h]), 0.03)
        pedal = [box((pw, 0.012, pl), (0, 0.03, zf + pl / 2 - 0.005)),
                 box((0.01, 0.03, 0.02), (-pw / 2 + 0.005, 0.03, zf)),
                 box((0.01, 0.03, 0.02), (pw / 2 - 0.005, 0.03, zf))]
        asm.part("footpedal", pedal, pal.choice(pal.plastic(dark=True), pal.metal(), lid_m))
