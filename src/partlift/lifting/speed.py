"""``partlift speed vote``: PartSLIP voting + instance grouping, vectorised vs the loop reference.

The input is a seeded, chair-like scene (:func:`make_vote_case`): points on the surfaces of
seat, back, legs, arms and wheels, spatial superpoints that never straddle two primitives, the
10 PartSLIP cameras with a small z-buffer for visibility, and per-view boxes around the visible
primitives with jitter, misses, wrong labels, one box over all legs in some views and
whole-object boxes in others. Both implementations run on the same inputs.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import numpy as np
from scipy.spatial import cKDTree

from partlift.config import PARTSLIP_VIEWS
from partlift.types import Camera, Predictions, Views

__all__ = ["VoteCase", "make_vote_case", "speed_vote"]

CHAIR_PARTS: tuple[str, ...] = ("arm", "back", "leg", "seat", "wheel")

# (part index into CHAIR_PARTS, centre, half extents) of the chair's box primitives.
_PRIMITIVES: tuple[tuple[int, tuple[float, float, float], tuple[float, float, float]], ...] = (
    (3, (0.0, 0.0, 0.0), (0.5, 0.05, 0.5)),
    (1, (0.0, 0.55, -0.45), (0.5, 0.5, 0.05)),
    *((2, (sx * 0.42, -0.5, sz * 0.42), (0.04, 0.45, 0.04)) for sx in (-1, 1) for sz in (-1, 1)),
    *((0, (sx * 0.5, 0.3, 0.0), (0.04, 0.04, 0.45)) for sx in (-1, 1)),
    *((4, (sx * 0.42, -0.98, sz * 0.42), (0.07, 0.03, 0.07)) for sx in (-1, 1) for sz in (-1, 1)),
)


class VoteCase(NamedTuple):
    """Inputs of PartSLIP voting: views, box predictions, superpoints (N,) and xyz (N, 3)."""

    views: Views
    preds: Predictions
    superpoints: np.ndarray
    xyz: np.ndarray
    primitive: np.ndarray  # (N,) int64 index into the chair's primitives


def _sample_boxes(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n points uniformly on the surfaces of the primitives, and each point's primitive."""
    faces = []  # (primitive, centre of face, two half-axes)
    for i, (_, c, h) in enumerate(_PRIMITIVES):
        for axis in range(3):
            u, w = [a for a in range(3) if a != axis]
            for sign in (-1.0, 1.0):
                centre = np.array(c, float)
                centre[axis] += sign * h[axis]
                eu = np.zeros(3)
                eu[u] = h[u]
                ew = np.zeros(3)
                ew[w] = h[w]
                faces.append((i, centre, eu, ew))
    area = np.array([4 * np.linalg.norm(eu) * np.linalg.norm(ew) for _, _, eu, ew in faces])
    which = rng.choice(len(faces), size=n, p=area / area.sum())
    st = rng.uniform(-1.0, 1.0, size=(n, 2))
    centres = np.stack([f[1] for f in faces])[which]
    eus = np.stack([f[2] for f in faces])[which]
    ews = np.stack([f[3] for f in faces])[which]
    xyz = centres + st[:, :1] * eus + st[:, 1:] * ews
    prim = np.array([f[0] for f in faces], np.int64)[which]
    return xyz, prim


def _project(xyz: np.ndarray, cam: Camera, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pinhole projection: (N, 2) screen xy (x = column, y = row) and (N,) depth."""
    eye = cam.eye
    fwd = -eye / np.linalg.norm(eye)
    right = np.cross(fwd, np.array([0.0, 1.0, 0.0]))
    right /= np.linalg.norm(right)
    up = np.cross(right, fwd)
    rel = xyz - eye
    z = rel @ fwd
    f = (size / 2) / np.tan(np.deg2rad(cam.fov) / 2)
    sx = (size - 1) / 2 + f * (rel @ right) / z
    sy = (size - 1) / 2 - f * (rel @ up) / z
    return np.stack([sx, sy], axis=1), z


def _zbuffer(xy: np.ndarray, depth: np.ndarray, size: int) -> np.ndarray:
    """(size, size) index of the nearest point per pixel (3x3-pixel splats), -1 = empty."""
    base = np.rint(xy).astype(np.int64)
    keys, pts = [], []
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            px, py = base[:, 0] + dx, base[:, 1] + dy
            ok = (px >= 0) & (px < size) & (py >= 0) & (py < size)
            keys.append(py[ok] * size + px[ok])
            pts.append(np.flatnonzero(ok))
    key = np.concatenate(keys)
    pt = np.concatenate(pts)
    order = np.lexsort((depth[pt], key))
    key, pt = key[order], pt[order]
    first = np.r_[True, key[1:] != key[:-1]]
    out = np.full(size * size, -1, np.int64)
    out[key[first]] = pt[first]
    return out.reshape(size, size)


def make_vote_case(
    n_points: int = 100_000,
    n_superpoints: int = 1000,
    *,
    image_size: int = 800,
    seed: int = 0,
) -> VoteCase:
    """A seeded chair-like scene for voting (see the module docstring)."""
    rng = np.random.default_rng(seed)
    xyz, prim = _sample_boxes(rng, n_points)
    xyz = xyz - xyz.mean(axis=0)
    xyz = (xyz / np.linalg.norm(xyz, axis=1).max()).astype(np.float32)

    superpoints = np.zeros(n_points, np.int64)
    next_id = 0
    for i in range(len(_PRIMITIVES)):
        idx = np.flatnonzero(prim == i)
        k = int(min(idx.size, max(1, round(n_superpoints * idx.size / n_points))))
        seeds = xyz[rng.choice(idx, size=k, replace=False)]
        _, near = cKDTree(seeds).query(xyz[idx])
        _, near = np.unique(near, return_inverse=True)
        superpoints[idx] = next_id + near
        next_id += int(near.max()) + 1

    cams = tuple(Camera(e, a, 2.2, 60.0) for e, a in PARTSLIP_VIEWS)
    n_views = len(cams)
    screen = np.zeros((n_views, n_points, 2), np.float32)
    depth = np.zeros((n_views, n_points), np.float32)
    pix2point = np.zeros((n_views, image_size, image_size), np.int64)
    visible = np.zeros((n_views, n_points), bool)
    for v, cam in enumerate(cams):
        s, z = _project(xyz.astype(np.float64), cam, image_size)
        screen[v], depth[v] = s, z
        pix2point[v] = _zbuffer(s, z, image_size)
        won = pix2point[v][pix2point[v] >= 0]
        visible[v, won] = True
    views = Views(
        rgb=np.broadcast_to(np.uint8(255), (n_views, image_size, image_size, 3)),
        pix2point=pix2point,
        screen_xy=screen,
        visible=visible,
        depth=depth,
        cameras=cams,
    )

    n_parts = len(CHAIR_PARTS)
    view_l, label_l, box_l = [], [], []
    for v in range(n_views):
        legs_together = rng.random() < 0.5
        leg_pts = []
        for i, (part, _, _) in enumerate(_PRIMITIVES):
            pts = np.flatnonzero(visible[v] & (prim == i))
            if pts.size < 15:
                continue
            if part == CHAIR_PARTS.index("leg") and legs_together:
                leg_pts.append(pts)
                continue
            if rng.random() < 0.15:
                continue
            label = part if rng.random() < 0.85 else int(rng.integers(n_parts))
            view_l.append(v)
            label_l.append(label)
            box_l.append(_box_around(screen[v, pts], rng))
        if leg_pts:
            view_l.append(v)
            label_l.append(CHAIR_PARTS.index("leg"))
            box_l.append(_box_around(screen[v, np.concatenate(leg_pts)], rng))
        if rng.random() < 0.3:
            view_l.append(v)
            label_l.append(int(rng.integers(n_parts)))
            xy = screen[v]
            box_l.append([xy[:, 0].min() - 3, xy[:, 1].min() - 3, xy[:, 0].max() + 3, xy[:, 1].max() + 3])
    d = len(view_l)
    preds = Predictions(
        view=np.array(view_l, np.int64),
        label=np.array(label_l, np.int64),
        score=rng.uniform(0.5, 1.0, d).astype(np.float32),
        boxes=np.array(box_l, np.float32).reshape(d, 4),
        features=np.zeros((d, 1), np.float32),
        part_names=CHAIR_PARTS,
        image_size=(image_size, image_size),
        teacher="speed:chair",
    )
    return VoteCase(views, preds, superpoints, xyz, prim)


def _box_around(xy: np.ndarray, rng: np.random.Generator) -> list[float]:
    """The bounding box of ``xy``, each side moved by N(0, 2 px), kept non-inverted."""
    x1, y1 = xy.min(axis=0) + rng.normal(0.0, 2.0, 2)
    x2, y2 = xy.max(axis=0) + rng.normal(0.0, 2.0, 2)
    return [float(x1), float(y1), float(max(x1, x2)), float(max(y1, y2))]


def speed_vote(points: int | None, device: str) -> dict[str, Any]:  # noqa: ARG001 - numpy only
    """Time :func:`partslip_labels` and its loop reference on the same seeded chair scene."""
    from partlift.lifting.reference import partslip_labels_reference
    from partlift.lifting.voting import partslip_labels

    n = 100_000 if points is None else int(points)
    case = make_vote_case(n, max(1, n // 100))
    args = (case.views, case.preds, case.superpoints, case.xyz)

    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        fast = partslip_labels(*args)
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    ref = partslip_labels_reference(*args)
    ref_seconds = time.perf_counter() - t0
    seconds = float(np.median(times))
    identical = bool(
        np.array_equal(fast.semantic, ref.semantic)
        and np.array_equal(fast.instance, ref.instance)
        and np.array_equal(fast.scores, ref.scores)
    )
    return {
        "stage": "vote",
        "points": n,
        "superpoints": int(case.superpoints.max()) + 1,
        "views": case.views.n_views,
        "boxes": len(case.preds),
        "labelled_points": int((fast.semantic >= 0).sum()),
        "instances": int(fast.instance.max()) + 1,
        "seconds": round(seconds, 5),
        "reference_seconds": round(ref_seconds, 4),
        "speedup": round(ref_seconds / seconds, 1),
        "identical": identical,
    }
