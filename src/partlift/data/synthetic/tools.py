"""Hand tools and small objects: Knife, Pliers, Scissors, Pen, Stapler, Lighter, USB.

PartNet-E parts: Knife (blade); Pliers (leg); Scissors (blade, handle, screw); Pen (cap,
button); Stapler (body, lid); Lighter (lid, wheel, button); USB (cap, rotation). Handles of
knives, pen barrels, lighter and USB bodies, pivots and connectors are no named part (label -1).
Frame: +Y up, metres; flat tools lie on y = 0 with their long axis along X (tip / jaws to +X),
upright objects stand on y = 0 with their front to +Z.
"""

from __future__ import annotations

import numpy as np

from partlift.data.synthetic.assembly import Assembly
from partlift.data.synthetic.components import move
from partlift.data.synthetic.kit import flat_prism, push_button, slab
from partlift.data.synthetic.materials import Material, Palette, shade
from partlift.data.synthetic.primitives import (
    box,
    cylinder,
    lathe,
    rod,
    rot_x,
    rot_y,
    rot_z,
    torus,
    tube,
)

__all__ = ["knife", "pliers", "scissors", "pen", "stapler", "lighter", "usb"]


def _steel(pal: Palette) -> Material:
    m = pal.metal()
    return shade(m, 1.15) if pal.rng.random() < 0.5 else m


def knife(asm: Assembly, rng: np.random.Generator) -> None:
    """A kitchen knife, a folding pocket knife (blade open or half open) or a utility knife."""
    pal = Palette(rng)
    style = str(rng.choice(["kitchen", "kitchen", "pocket", "utility"]))
    blade_m = _steel(pal)
    handle_m = pal.choice(pal.wood(), pal.plastic(dark=True), pal.plastic(), pal.metal())
    if style == "kitchen":
        L = rng.uniform(0.1, 0.24)
        Hb = L * rng.uniform(0.12, 0.25)
        hl = rng.uniform(0.09, 0.13)
        hw, ht = rng.uniform(0.018, 0.026), rng.uniform(0.012, 0.02)
        t = rng.uniform(0.0015, 0.003)
        tip = rng.uniform(0.0, 0.5)  # 0: chef's knife (tip at the spine's height) .. cleaver-like
        outline = np.array([[0, -Hb * 0.5], [L * 0.75, -Hb * 0.5], [L, Hb * (0.5 - tip)],
                            [L * 0.98, Hb * 0.5], [0, Hb * 0.5]])
        y = ht / 2
        asm.part("blade", flat_prism(outline, y - t / 2, y + t / 2).moved(None, (0.0, 0, 0)), blade_m)
        asm.add(slab(hl, ht, hw, hw * 0.45, (-hl / 2 + 0.005, ht / 2, 0)), handle_m)
        if rng.random() < 0.6:  # bolster
            asm.add(slab(0.012, ht * 1.1, Hb * 0.9, 0.003, (0.004, ht / 2, 0)), blade_m)
        if rng.random() < 0.5:  # rivets
            for k in range(int(rng.integers(2, 4))):
                asm.add(cylinder(0.0025, ht + 0.001, y0=-0.0005, segments=8).moved(None, (-hl * (0.25 + 0.25 * k), 0, 0)),
                        pal.metal())
        return
    if style == "pocket":
        hl = rng.uniform(0.07, 0.11)
        hw, ht = rng.uniform(0.014, 0.022), rng.uniform(0.01, 0.016)
        L = hl * rng.uniform(0.75, 0.95)
        Hb = hw * rng.uniform(0.7, 1.0)
        t = 0.002
        asm.add(slab(hl, ht, hw, hw * 0.48, (-hl / 2, ht / 2, 0)), handle_m)
        asm.add(cylinder(0.004, ht + 0.002, y0=-0.001, segments=10).moved(None, (-0.008, 0, 0)), pal.metal())
        outline = np.array([[-0.004, -Hb * 0.45], [L * 0.8, -Hb * 0.45], [L, Hb * 0.3], [-0.004, Hb * 0.45]])
        open_deg = rng.uniform(0, 40) if rng.random() < 0.4 else 0.0
        blade = flat_prism(outline, -t / 2, t / 2).moved(rot_y(open_deg), (-0.008, ht / 2 + t, 0))
        asm.part("blade", blade, blade_m)
        return
    # utility knife: chunky body with a short trapezoid blade
    hl = rng.uniform(0.12, 0.16)
    hw, ht = rng.uniform(0.022, 0.03), rng.uniform(0.014, 0.02)
    asm.add(slab(hl, ht, hw, hw * 0.3, (-hl / 2, ht / 2, 0)), handle_m)
    asm.add(box((0.012, 0.006, hw * 0.4), (-hl * 0.6, ht + 0.002, 0)), pal.plastic(dark=True))  # slider
    L = rng.uniform(0.015, 0.035)
    bh = hw * 0.6
    outline = np.array([[-0.01, -bh / 2], [L, -bh / 2], [L * 0.6, bh / 2], [-0.01, bh / 2]])
    asm.part("blade", flat_prism(outline, ht / 2 - 0.0006, ht / 2 + 0.0006), blade_m)


def pliers(asm: Assembly, rng: np.random.Generator) -> None:
    """Combination, needle-nose or slip-joint pliers: two legs (jaw + handle, often with grips)
    crossing at a pivot (unlabelled), handles more or less open."""
    pal = Palette(rng)
    style = str(rng.choice(["combination", "needle", "slip"]))
    steel = _steel(pal)
    grip_m = pal.plastic() if rng.random() < 0.7 else pal.plastic(dark=True)
    grips = rng.random() < 0.8
    jaw_l = rng.uniform(0.04, 0.06) if style != "needle" else rng.uniform(0.06, 0.09)
    jaw_w = rng.uniform(0.008, 0.012) if style != "needle" else rng.uniform(0.004, 0.007)
    hand_l = rng.uniform(0.1, 0.15)
    spread = rng.uniform(6, 22)  # degrees each handle turns away from the axis
    th = rng.uniform(0.006, 0.009)
    for k, s in enumerate((-1, 1)):
        y = th / 2 + k * th * 0.9
        # jaw: from the pivot towards +X, closing on the axis; handle: from the pivot to -X, bowed
        jaw_open = rng.uniform(0, 6)
        jt = np.linspace(0, 1, 8)
        jaw = np.stack([jt * jaw_l, np.full_like(jt, y), -s * (jt * np.sin(np.deg2rad(jaw_open)) * jaw_l) * 0.5
                        + s * jaw_w * 0.5 * (1 - jt)], 1)
        jr = jaw_w * (1.0 - 0.6 * jt) * 0.55 + 0.0015
        ht = np.linspace(0, 1, 14)
        ang = np.deg2rad(spread) * ht ** 0.7
        hand = np.stack([-hand_l * ht, np.full_like(ht, y), s * hand_l * np.sin(ang) * 0.9 + s * 0.004], 1)
        pieces = [tube(jaw, jr, segments=8),
                  tube(hand, np.full(len(ht), rng.uniform(0.004, 0.006)), segments=8),
                  cylinder(jaw_w * 0.9, th * 0.9, y0=y - th * 0.45, segments=14)]
        ins = asm.instance("leg")
        for p in pieces:
            asm.add(p, steel, ins)
        if grips:
            g = hand[3:]
            asm.add(tube(g, np.full(len(g), rng.uniform(0.007, 0.009)), segments=10), grip_m, ins)
    asm.add(cylinder(jaw_w * 0.35, 2 * th + 0.002, y0=-0.001, segments=10), shade(steel, 0.8))  # rivet


def scissors(asm: Assembly, rng: np.random.Generator) -> None:
    """Scissors: two blades, two finger-loop handles (equal or one big loop), one pivot screw;
    open by a random angle."""
    pal = Palette(rng)
    steel = _steel(pal)
    handle_m = pal.choice(pal.plastic(), pal.plastic(dark=True), steel, pal.painted())
    bl = rng.uniform(0.05, 0.12)
    bw = bl * rng.uniform(0.12, 0.2)
    open_deg = rng.uniform(0, 35)
    big_loop = rng.random() < 0.5
    t = 0.0018
    for k, s in enumerate((-1, 1)):
        y = 0.006 + k * (t + 0.0004)
        rot = rot_y(s * open_deg / 2)
        tipw = bw * rng.uniform(0.05, 0.3)
        outline = np.array([[-0.006, -bw / 2], [bl, -tipw / 2], [bl, tipw / 2], [-0.006, bw / 2]])
        outline[:, 1] += s * bw * 0.2
        asm.part("blade", flat_prism(outline, y - t / 2, y + t / 2).moved(rot), steel)
        lr = rng.uniform(0.011, 0.016) * (1.5 if (big_loop and k == 1) else 1.0)
        sh = rng.uniform(0.02, 0.035)
        cz = s * (lr * 0.9 + 0.004)
        ring = torus(lr, rng.uniform(0.0025, 0.0045), plane="xz", segments=8, n=28).scaled((1.15, 1, 1))
        loop = ring.moved(None, (-sh - lr, y, cz))
        shank = rod([0.002, y, s * bw * 0.2], [-sh - lr * 0.2, y, cz * 0.6], 0.0035, segments=8)
        asm.part("handle", [move([loop], rot)[0], shank.moved(rot)], handle_m)
    asm.part("screw", cylinder(rng.uniform(0.0025, 0.004), 3 * t + 0.003, y0=0.006 - t - 0.0015, segments=12),
             shade(steel, 0.75))


def pen(asm: Assembly, rng: np.random.Generator) -> None:
    """A capped pen (cap on the tip or posted on the back), a click pen (button at the back),
    or a capped pen with a button; lying along X, tip to +X."""
    pal = Palette(rng)
    L = rng.uniform(0.12, 0.15)
    r = rng.uniform(0.004, 0.0065)
    body_m = pal.choice(pal.plastic(), pal.plastic(dark=True), pal.metal(), pal.painted(), pal.striped())
    q = rng.random()
    cap_m = body_m if q < 0.4 else (shade(body_m, 0.8) if q < 0.6 else pal.choice(pal.metal(), pal.plastic()))
    style = str(rng.choice(["cap", "cap", "click", "click", "both"]))
    tip_l = L * rng.uniform(0.08, 0.14)
    # barrel along +X (lathe about Y, then turned): radius profile, tapering to the tip
    xs = np.array([0.0, 0.0, L - tip_l, L - tip_l * 0.15, L])
    rs = np.array([0.0, r, r * rng.uniform(0.85, 1.0), r * 0.3, 0.0])
    barrel = lathe(rs, xs, segments=16)
    place = rot_z(-90)  # +Y -> +X

    def lay(p):
        return p.moved(place, (-L / 2, r, 0))

    asm.add(lay(barrel), body_m)
    if rng.random() < 0.5:  # grip section
        asm.add(lay(cylinder(r * 1.06, L * 0.18, y0=L - tip_l - L * 0.2, segments=16)), pal.plastic(dark=True))
    asm.add(lay(lathe(np.array([r * 0.3, 0.0]), np.array([L - tip_l * 0.15, L + 0.002]), segments=8)), pal.metal())
    if style in ("click", "both"):
        bl = rng.uniform(0.006, 0.012)
        asm.part("button", lay(cylinder(r * rng.uniform(0.45, 0.7), bl + 0.002, y0=-bl, segments=12)),
                 pal.choice(cap_m, pal.metal(), pal.plastic()))
    if style in ("cap", "both"):
        cl = L * rng.uniform(0.35, 0.45)
        posted = style == "cap" and rng.random() < 0.35
        cap = [lathe(np.array([r * 1.12, r * 1.12, r * 0.6, 0.0]), np.array([0.0, cl * 0.9, cl, cl]), segments=16)]
        cap.append(box((r * 0.5, cl * 0.7, r * 0.35), (-r * 1.3, cl * 0.55, 0)))  # clip (on top once laid)
        if posted:  # pushed onto the back end, closed end to -X
            cap = move(cap, rot_x(180), (0, cl * 0.6, 0))
        else:
            cap = move(cap, None, (0, L - cl + tip_l * 0.3, 0))
        asm.part("cap", [lay(p) for p in cap], cap_m)
    elif rng.random() < 0.8:  # clip on the barrel of a click pen
        asm.add(lay(box((r * 0.5, L * 0.3, r * 0.35), (-r * 1.15, L * 0.18, 0))), pal.metal())


def stapler(asm: Assembly, rng: np.random.Generator) -> None:
    """A desktop or mini stapler: the base (body) and the top arm (lid) hinged at the back,
    closed or opened by a random angle."""
    pal = Palette(rng)
    mini = rng.random() < 0.3
    L = rng.uniform(0.06, 0.09) if mini else rng.uniform(0.13, 0.2)
    w = L * rng.uniform(0.25, 0.35)
    base_m = pal.choice(pal.plastic(dark=True), pal.metal(), pal.plastic())
    q = rng.random()
    lid_m = base_m if q < 0.35 else pal.choice(pal.plastic(), pal.painted(), pal.metal())
    bt = L * rng.uniform(0.06, 0.1)
    # body: base plate + anvil + hinge block at the back (-X)
    body = [slab(L, bt, w, w * 0.45, (0, bt / 2, 0)),
            box((L * 0.2, bt * 1.6, w * 0.7), (-L / 2 + L * 0.1, bt * 0.8, 0))]
    asm.part("body", body, base_m)
    if rng.random() < 0.6:  # rubber foot pad
        asm.add(slab(L * 0.9, 0.002, w * 0.9, w * 0.4, (0, 0.001, 0)), pal.plastic(dark=True))
    lt = bt * rng.uniform(1.2, 2.0)
    ll = L * rng.uniform(0.9, 1.0)
    open_deg = rng.uniform(10, 60) if rng.random() < 0.4 else rng.uniform(0, 4)
    hinge = np.array([-L / 2 + L * 0.1, bt * 1.6, 0.0])
    arm = [slab(ll, lt, w * 0.85, w * 0.4, (ll / 2, lt / 2, 0)),
           cylinder(lt * 0.5, w * 0.8, y0=-w * 0.4, segments=12).moved(rot_x(90), (0, lt * 0.5, 0))]
    if rng.random() < 0.5:  # a raised press pad at the front
        arm.append(slab(ll * 0.3, lt * 0.3, w * 0.8, w * 0.35, (ll * 0.8, lt * 1.1, 0)))
    asm.part("lid", move(arm, rot_z(open_deg), hinge - np.array([L * 0.05, 0, 0])), lid_m)


def lighter(asm: Assembly, rng: np.random.Generator) -> None:
    """A flip-top petrol lighter (lid, flint wheel), a disposable lighter (wheel + press button)
    or a piezo lighter (button, a hinged cover lid or none)."""
    pal = Palette(rng)
    style = str(rng.choice(["flip", "disposable", "disposable", "piezo"]))
    body_m = pal.choice(pal.plastic(), pal.metal(), pal.painted(), pal.striped())
    metal = pal.metal()
    if style == "flip":
        w, d, h = rng.uniform(0.035, 0.04), rng.uniform(0.011, 0.014), rng.uniform(0.035, 0.042)
        asm.add(slab(w, h, d, 0.003, (0, h / 2, 0)), body_m)
        # chimney (-1) with the flint wheel beside it
        ch = h * 0.4
        asm.add(slab(w * 0.55, ch, d * 0.8, 0.001, (w * 0.1, h + ch / 2, 0)), metal)
        wr = d * 0.3
        asm.part("wheel", cylinder(wr, d * 0.5, y0=-d * 0.25, segments=14).moved(rot_x(90), (-w * 0.25, h + ch * 0.75, 0)),
                 shade(metal, 0.7))
        lh = h * rng.uniform(0.35, 0.45)
        open_deg = rng.uniform(0, 130) if rng.random() < 0.6 else 0.0
        lid = slab(w, lh, d, 0.003, (-w / 2, lh / 2, 0))
        asm.part("lid", lid.moved(rot_z(-open_deg), (w / 2, h + 0.0005, 0)), body_m)
        return
    w, d, h = rng.uniform(0.022, 0.028), rng.uniform(0.01, 0.013), rng.uniform(0.065, 0.08)
    asm.add(slab(w, h, d, d * 0.45, (0, h / 2, 0)), body_m)
    if style == "disposable":
        hood = [box((w * 0.9, h * 0.12, d * 0.9), (0, h + h * 0.06, 0))]
        asm.add(hood[0], metal)
        wr = d * 0.35
        asm.part("wheel", cylinder(wr, d * 0.6, y0=-d * 0.3, segments=14).moved(rot_x(90), (-w * 0.15, h + h * 0.12 + wr * 0.6, 0)),
                 shade(metal, 0.6))
        asm.part("button", box((w * 0.45, h * 0.1, d * 0.8), (w * 0.22, h + 0.004, 0)),
                 pal.plastic(dark=rng.random() < 0.5))
        return
    # piezo: push button on the top front, an optional snap-on cover lid
    asm.part("button", push_button("pill", w * 0.4, 0.004, (0, h * 0.85, d / 2), facing="z"), pal.plastic())
    asm.add(box((w * 0.7, h * 0.12, d * 0.6), (0, h + h * 0.06, 0)), metal)
    if rng.random() < 0.7:
        lh = h * 0.25
        open_deg = rng.uniform(0, 100) if rng.random() < 0.5 else 0.0
        lid = slab(w * 1.02, lh, d * 1.02, d * 0.45, (-w / 2, lh / 2, 0))
        asm.part("lid", lid.moved(rot_z(-open_deg), (w / 2, h + 0.001, 0)), body_m)


def usb(asm: Assembly, rng: np.random.Generator) -> None:
    """A USB stick: capped (cap on or off), swivel (a metal cover rotating about a pin:
    "rotation"), or both; connector to +X, lying on y = 0."""
    pal = Palette(rng)
    style = str(rng.choice(["cap", "cap", "swivel", "swivel", "both"]))
    body_m = pal.choice(pal.plastic(), pal.plastic(dark=True), pal.painted(), pal.metal())
    L, w, t = rng.uniform(0.035, 0.055), rng.uniform(0.016, 0.022), rng.uniform(0.006, 0.01)
    asm.add(slab(L, t, w, min(w, t) * 0.4, (0, t / 2, 0)), body_m)
    # connector (-1)
    cl, cw, ct = 0.012, 0.012, 0.0045
    asm.add(box((cl, ct, cw), (L / 2 + cl / 2 - 0.001, t / 2, 0)), pal.metal())
    if rng.random() < 0.6:  # lanyard loop
        asm.add(torus(0.003, 0.001, plane="xz", segments=6, n=12).moved(None, (-L / 2 - 0.002, t / 2, 0)), body_m)
    if style in ("cap", "both"):
        on = rng.random() < 0.6
        cap_l = cl + 0.006
        cap = slab(cap_l, t * 1.08, w * 1.05, min(w, t) * 0.4, (0, t / 2, 0))
        x = L / 2 + cap_l / 2 - 0.004 if on else -L / 2 - cap_l / 2 - 0.002
        asm.part("cap", cap.moved(None, (x, 0, 0)), shade(body_m, 0.85) if rng.random() < 0.5 else pal.plastic())
    if style in ("swivel", "both"):
        ang = float(rng.choice([0.0, 0.0, rng.uniform(20, 180)]))
        pin = np.array([-L / 2 + 0.005, t / 2, 0.0])
        sl = L + cl + 0.002
        wall = 0.0008
        cover = [box((sl, wall, w + 0.002), (sl / 2 - 0.003, t / 2 + wall / 2 + 0.0002, 0)),
                 box((sl, wall, w + 0.002), (sl / 2 - 0.003, -t / 2 - wall / 2 - 0.0002, 0)),
                 box((0.003, t + 2 * wall + 0.0004, w + 0.002), (sl - 0.0045, 0, 0))]
        asm.part("rotation", move(cover, rot_y(ang), pin), pal.metal())
