"""Mesh building blocks for the procedural shapes: boxes, lathe surfaces, tubes, slabs.

Every builder returns a :class:`Piece`: a small triangle mesh with a texture coordinate per
vertex and the physical length its ``u`` and ``v`` ranges span (so that a material's pattern
keeps its real size on big and small pieces). Frames: object frame, +Y up, metres; faces are
wound counter-clockwise seen from outside, so face normals point out of closed pieces.

Surfaces of revolution and sweeps are built as parameter grids (:func:`grid`): ``u`` runs around
(angle), ``v`` along the profile or path; the seam column is duplicated so that ``u`` goes from 0
to 1 without wrapping. Poles and flat caps are triangle fans around a centre vertex, so no face
is degenerate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Piece",
    "grid",
    "box",
    "lathe",
    "cylinder",
    "frustum",
    "sphere",
    "tube",
    "torus",
    "arc_path",
    "extrude",
    "bent_slab",
    "frame_along",
    "beam",
    "rod",
    "rounded_rect",
    "ellipse",
    "rot_x",
    "rot_y",
    "rot_z",
]


@dataclass(frozen=True, eq=False)
class Piece:
    """A textured triangle mesh fragment.

    Attributes:
        vertices: (V, 3) float64 positions, object frame (+Y up, metres).
        faces: (F, 3) int64 vertex indices, counter-clockwise seen from outside.
        uv: (V, 2) float64 texture coordinates in [0, 1] over the piece.
        size_uv: physical lengths (metres) spanned by ``u`` in [0, 1] and ``v`` in [0, 1].
    """

    vertices: np.ndarray
    faces: np.ndarray
    uv: np.ndarray
    size_uv: tuple[float, float]

    def moved(
        self,
        rotation: np.ndarray | None = None,
        translation: tuple[float, float, float] | np.ndarray | None = None,
    ) -> Piece:
        """The piece rotated by (3, 3) ``rotation`` about the origin, then translated."""
        v = self.vertices
        if rotation is not None:
            v = v @ np.asarray(rotation, dtype=np.float64).T
        if translation is not None:
            v = v + np.asarray(translation, dtype=np.float64)
        return Piece(v, self.faces, self.uv, self.size_uv)

    def scaled(self, factors: tuple[float, float, float]) -> Piece:
        """The piece scaled per axis about the origin (positive factors keep the winding)."""
        return Piece(self.vertices * np.asarray(factors, np.float64), self.faces, self.uv, self.size_uv)

    @property
    def bounds(self) -> np.ndarray:
        """(2, 3) min and max corner."""
        return np.stack([self.vertices.min(0), self.vertices.max(0)])


# ---------------------------------------------------------------------------------------------
# rotations


def rot_x(deg: float) -> np.ndarray:
    """(3, 3) rotation by ``deg`` degrees about +X (right-handed)."""
    c, s = np.cos(np.deg2rad(deg)), np.sin(np.deg2rad(deg))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]], dtype=np.float64)


def rot_y(deg: float) -> np.ndarray:
    """(3, 3) rotation by ``deg`` degrees about +Y (right-handed)."""
    c, s = np.cos(np.deg2rad(deg)), np.sin(np.deg2rad(deg))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], dtype=np.float64)


def rot_z(deg: float) -> np.ndarray:
    """(3, 3) rotation by ``deg`` degrees about +Z (right-handed)."""
    c, s = np.cos(np.deg2rad(deg)), np.sin(np.deg2rad(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# generic constructions


def _grid_faces(nu: int, nv: int) -> np.ndarray:
    """Triangles of an (nu, nv) vertex grid (index = i * nv + j), normal = d/du x d/dv."""
    i, j = np.meshgrid(np.arange(nu - 1), np.arange(nv - 1), indexing="ij")
    a = (i * nv + j).ravel()
    b = ((i + 1) * nv + j).ravel()
    c = ((i + 1) * nv + j + 1).ravel()
    d = (i * nv + j + 1).ravel()
    return np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)]).astype(np.int64)


def _path_length(p: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(p, axis=0), axis=-1).sum()) if len(p) > 1 else 0.0


def grid(points: np.ndarray, *, wrap_u: bool = False) -> Piece:
    """A surface through an (nu, nv, 3) grid of points; normal = d/du x d/dv.

    Args:
        points: (nu, nv, 3) float positions; ``u`` is the first axis.
        wrap_u: close the surface in ``u`` (the first row is repeated at the end, with u = 1).
    """
    p = np.asarray(points, dtype=np.float64)
    if wrap_u:
        p = np.concatenate([p, p[:1]], axis=0)
    nu, nv, _ = p.shape
    uu, vv = np.meshgrid(np.linspace(0, 1, nu), np.linspace(0, 1, nv), indexing="ij")
    su = float(np.mean([_path_length(p[:, j]) for j in range(nv)]))
    sv = float(np.mean([_path_length(p[i]) for i in range(nu)]))
    return Piece(
        p.reshape(-1, 3),
        _grid_faces(nu, nv),
        np.stack([uu.ravel(), vv.ravel()], 1),
        (max(su, 1e-6), max(sv, 1e-6)),
    )


def _fan(center: np.ndarray, ring: np.ndarray, normal: np.ndarray) -> Piece:
    """A flat cap: triangles from ``center`` to each edge of the closed (n, 3) ``ring``.

    The winding is chosen so the face normals point along ``normal``; ``uv`` is a planar
    projection of the cap scaled to [0, 1].
    """
    n = len(ring)
    verts = np.concatenate([center[None], ring])
    k = np.arange(n)
    faces = np.stack([np.zeros(n, np.int64), 1 + k, 1 + (k + 1) % n], 1)
    e1, e2 = ring[0] - center, ring[1 % n] - center
    if np.dot(np.cross(e1, e2), normal) < 0:
        faces = faces[:, [0, 2, 1]]
    # planar uv in the cap's plane
    nrm = normal / (np.linalg.norm(normal) + 1e-12)
    a = np.cross(nrm, [0.0, 1.0, 0.0] if abs(nrm[1]) < 0.9 else [1.0, 0.0, 0.0])
    a /= np.linalg.norm(a)
    b = np.cross(nrm, a)
    q = np.stack([(verts - center) @ a, (verts - center) @ b], 1)
    lo, hi = q.min(0), q.max(0)
    span = np.maximum(hi - lo, 1e-9)
    return Piece(verts, faces, (q - lo) / span, (float(span[0]), float(span[1])))


def _merge(pieces: list[Piece]) -> Piece:
    """Concatenate pieces into one (uv kept per piece; ``size_uv`` of the largest)."""
    offs = np.cumsum([0] + [len(p.vertices) for p in pieces])
    big = max(pieces, key=lambda p: p.size_uv[0] * p.size_uv[1])
    return Piece(
        np.concatenate([p.vertices for p in pieces]),
        np.concatenate([p.faces + o for p, o in zip(pieces, offs[:-1], strict=True)]),
        np.concatenate([p.uv for p in pieces]),
        big.size_uv,
    )


# ---------------------------------------------------------------------------------------------
# solids


def box(
    size: tuple[float, float, float],
    center: tuple[float, float, float] = (0.0, 0.0, 0.0),
    rotation: np.ndarray | None = None,
) -> Piece:
    """An axis-aligned box of ``size`` (x, y, z), then rotated about its centre and moved.

    Each of the 6 faces has its own 4 vertices and a [0, 1]^2 uv; ``size_uv`` is the largest
    face's extent.
    """
    sx, sy, sz = (max(float(s), 1e-6) / 2 for s in size)
    corners = np.array(
        [[x, y, z] for x in (-sx, sx) for y in (-sy, sy) for z in (-sz, sz)], dtype=np.float64
    )
    # (corner indices counter-clockwise from outside) per face: -x, +x, -y, +y, -z, +z
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    verts = np.concatenate([corners[list(q)] for q in quads])
    k = np.arange(6)[:, None] * 4
    faces = np.concatenate([k + [0, 1, 2], k + [0, 2, 3]]).astype(np.int64)
    uv = np.tile(np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float64), (6, 1))
    dims = sorted([2 * sx, 2 * sy, 2 * sz])
    p = Piece(verts, faces, uv, (dims[2], dims[1]))
    return p.moved(rotation, center)


def lathe(
    radii: np.ndarray,
    heights: np.ndarray,
    *,
    segments: int = 32,
    cap_start: bool = False,
    cap_end: bool = False,
) -> Piece:
    """A surface of revolution about +Y through the profile ``(radii[k], heights[k])``.

    Walking along the profile, the surface's outside is on the side of increasing radius when
    the profile goes up (so a profile that goes up the outer wall and back down an inner wall
    is a consistently oriented thick vessel). A profile end with radius 0 becomes a pole; with
    ``cap_start``/``cap_end`` a non-zero end gets a flat disc.

    Args:
        radii, heights: (K,) profile, K >= 2, radii >= 0.
        segments: vertices around.
    """
    r = np.asarray(radii, dtype=np.float64)
    y = np.asarray(heights, dtype=np.float64)
    pole_start = r[0] <= 1e-9
    pole_end = r[-1] <= 1e-9
    lo = 1 if pole_start else 0
    hi = len(r) - 1 if pole_end else len(r)
    theta = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    rr, yy = r[lo:hi], y[lo:hi]
    pts = np.stack(
        [
            rr[None, :] * np.sin(theta)[:, None],
            np.broadcast_to(yy[None, :], (segments, len(rr))),
            rr[None, :] * np.cos(theta)[:, None],
        ],
        -1,
    )
    parts = [grid(pts, wrap_u=True)] if len(rr) >= 2 else []
    ring0, ring1 = pts[:, 0], pts[:, -1]
    # outward direction at the ends: for a pole, continue along the profile
    if pole_start or cap_start:
        dir0 = np.sign(y[0] - y[min(1, len(y) - 1)]) or -1.0
        parts.append(_fan(np.array([0.0, y[0], 0.0]), ring0, np.array([0.0, dir0, 0.0])))
    if pole_end or cap_end:
        dir1 = np.sign(y[-1] - y[max(len(y) - 2, 0)]) or 1.0
        parts.append(_fan(np.array([0.0, y[-1], 0.0]), ring1, np.array([0.0, dir1, 0.0])))
    if not parts:
        raise ValueError("lathe: the profile has fewer than two rings and no caps")
    out = _merge(parts)
    main = parts[0]
    return Piece(out.vertices, out.faces, out.uv, main.size_uv)


def cylinder(
    radius: float, height: float, *, segments: int = 24, caps: bool = True, y0: float = 0.0
) -> Piece:
    """A vertical cylinder from ``y0`` to ``y0 + height`` about the Y axis."""
    return frustum(radius, radius, height, segments=segments, caps=caps, y0=y0)


def frustum(
    r0: float,
    r1: float,
    height: float,
    *,
    segments: int = 24,
    caps: bool = True,
    y0: float = 0.0,
) -> Piece:
    """A vertical cone frustum: radius ``r0`` at ``y0``, ``r1`` at ``y0 + height``."""
    return lathe(
        np.array([r0, r1]), np.array([y0, y0 + height]), segments=segments, cap_start=caps, cap_end=caps
    )


def sphere(radius: float, *, segments: int = 24, rings: int = 12) -> Piece:
    """A sphere about the origin (poles on the Y axis)."""
    t = np.linspace(-np.pi / 2, np.pi / 2, rings + 1)
    return lathe(radius * np.cos(t), radius * np.sin(t), segments=segments)


def _frames(path: np.ndarray, closed: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parallel-transport (tangent, normal, binormal) frames along an (n, 3) path."""
    n = len(path)
    if closed:
        tang = np.roll(path, -1, 0) - np.roll(path, 1, 0)
    else:
        tang = np.gradient(path, axis=0)
    tang /= np.linalg.norm(tang, axis=1, keepdims=True) + 1e-12
    ref = np.array([0.0, 1.0, 0.0]) if abs(tang[0, 1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    nrm = np.zeros_like(path)
    nrm[0] = np.cross(ref, tang[0])
    nrm[0] /= np.linalg.norm(nrm[0])
    for k in range(1, n):
        v = nrm[k - 1] - np.dot(nrm[k - 1], tang[k]) * tang[k]
        ln = np.linalg.norm(v)
        nrm[k] = v / ln if ln > 1e-9 else nrm[k - 1]
    bin_ = np.cross(tang, nrm)
    return tang, nrm, bin_


def tube(
    path: np.ndarray,
    radius: float | np.ndarray,
    *,
    segments: int = 12,
    closed: bool = False,
    caps: bool = True,
) -> Piece:
    """A round tube of ``radius`` (scalar or (n,) per path point) swept along an (n, 3) path.

    ``closed`` joins the path's end to its start (a ring); otherwise ``caps`` closes both ends.
    """
    p = np.asarray(path, dtype=np.float64)
    rad = np.broadcast_to(np.asarray(radius, dtype=np.float64), (len(p),))
    tang, nrm, bin_ = _frames(p, closed)
    phi = np.linspace(0, 2 * np.pi, segments, endpoint=False)
    # (segments, n, 3): u = around, v = along
    circ = np.cos(phi)[:, None, None] * nrm[None] + np.sin(phi)[:, None, None] * bin_[None]
    pts = p[None] + rad[None, :, None] * circ
    if closed:
        pts = np.concatenate([pts, pts[:, :1]], axis=1)
    body = grid(pts, wrap_u=True)
    parts = [body]
    if caps and not closed:
        parts.append(_fan(p[0], pts[:, 0], -tang[0]))
        parts.append(_fan(p[-1], pts[:, -1], tang[-1]))
    out = _merge(parts)
    return Piece(out.vertices, out.faces, out.uv, body.size_uv)


def arc_path(
    radius: float,
    start_deg: float,
    end_deg: float,
    *,
    n: int = 24,
    plane: str = "xy",
) -> np.ndarray:
    """(n, 3) points on a circular arc about the origin in ``plane`` ("xy", "xz" or "yz").

    Angle 0 is the plane's first axis, 90 its second.
    """
    t = np.deg2rad(np.linspace(start_deg, end_deg, n))
    a, b = radius * np.cos(t), radius * np.sin(t)
    z = np.zeros_like(t)
    if plane == "xy":
        return np.stack([a, b, z], 1)
    if plane == "xz":
        return np.stack([a, z, b], 1)
    if plane == "yz":
        return np.stack([z, a, b], 1)
    raise ValueError(f"arc_path: plane must be 'xy', 'xz' or 'yz', got {plane!r}")


def torus(
    major: float,
    minor: float,
    *,
    start_deg: float = 0.0,
    end_deg: float = 360.0,
    plane: str = "xy",
    segments: int = 10,
    n: int = 32,
) -> Piece:
    """A torus (or torus arc between two angles, with capped ends) about the origin."""
    full = abs(end_deg - start_deg) >= 360.0 - 1e-9
    if full:
        path = arc_path(major, start_deg, end_deg, n=n + 1, plane=plane)[:-1]
        return tube(path, minor, segments=segments, closed=True)
    path = arc_path(major, start_deg, end_deg, n=n, plane=plane)
    return tube(path, minor, segments=segments)


def ellipse(a: float, b: float, n: int = 32) -> np.ndarray:
    """(n, 2) points of an ellipse with half-axes ``a`` (first coord) and ``b``."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([a * np.cos(t), b * np.sin(t)], 1)


def rounded_rect(w: float, d: float, r: float, n_corner: int = 6) -> np.ndarray:
    """(4 * n_corner, 2) outline of a ``w`` x ``d`` rectangle with corner radius ``r``, centred."""
    r = float(np.clip(r, 1e-4, min(w, d) / 2 - 1e-4))
    cx, cz = w / 2 - r, d / 2 - r
    pts = []
    for k, (sx, sz) in enumerate([(1, 1), (-1, 1), (-1, -1), (1, -1)]):
        t = np.deg2rad(np.linspace(90 * k, 90 * (k + 1), n_corner))
        pts.append(np.stack([sx * cx + r * np.cos(t), sz * cz + r * np.sin(t)], 1))
    return np.concatenate(pts)


def extrude(outline: np.ndarray, y0: float, y1: float, *, caps: bool = True) -> Piece:
    """A vertical prism over a convex (n, 2) outline given in the (x, z) plane, from y0 to y1.

    The caps are fans from the outline's centroid, so the outline must be star-shaped about it
    (convex outlines always are).
    """
    q = np.asarray(outline, dtype=np.float64)
    x, z = q[:, 0], q[:, 1]
    area = 0.5 * np.sum(x * np.roll(z, -1) - np.roll(x, -1) * z)
    if area > 0:  # outward normals need the outline clockwise in (x, z)
        q = q[::-1]
    ring0 = np.stack([q[:, 0], np.full(len(q), y0), q[:, 1]], 1)
    ring1 = np.stack([q[:, 0], np.full(len(q), y1), q[:, 1]], 1)
    wall = grid(np.stack([ring0, ring1], 1), wrap_u=True)
    parts = [wall]
    if caps:
        c = q.mean(0)
        parts.append(_fan(np.array([c[0], y0, c[1]]), ring0, np.array([0.0, -1.0, 0.0])))
        parts.append(_fan(np.array([c[0], y1, c[1]]), ring1, np.array([0.0, 1.0, 0.0])))
    out = _merge(parts)
    return Piece(out.vertices, out.faces, out.uv, max(parts, key=lambda p: p.size_uv[0] * p.size_uv[1]).size_uv)


def bent_slab(
    width: float,
    height: float,
    thickness: float,
    bend: float,
    *,
    n: int = 12,
) -> Piece:
    """A panel of ``width`` (x) x ``height`` (y) x ``thickness`` (z) curved about a vertical axis.

    ``bend`` is the sagitta (m) of the curve at the panel's centre; the panel's centre is at
    the origin and it curves away from +Z at the sides (a chair back hugging a sitter in front).
    Built as a closed tube-like prism whose outline is the curved band, with flat caps made of
    a triangle strip (the band is not convex).
    """
    xs = np.linspace(-width / 2, width / 2, n)
    sag = bend * (2 * xs / width) ** 2
    front = np.stack([xs, sag + thickness / 2], 1)
    back = np.stack([xs[::-1], sag[::-1] - thickness / 2], 1)
    outline = np.concatenate([front, back])
    x, z = outline[:, 0], outline[:, 1]
    if 0.5 * np.sum(x * np.roll(z, -1) - np.roll(x, -1) * z) > 0:
        outline = outline[::-1]
    m = len(outline)
    ring0 = np.stack([outline[:, 0], np.full(m, -height / 2), outline[:, 1]], 1)
    ring1 = np.stack([outline[:, 0], np.full(m, height / 2), outline[:, 1]], 1)
    wall = grid(np.stack([ring0, ring1], 1), wrap_u=True)
    parts = [wall]
    for ring, sgn in ((ring0, -1.0), (ring1, 1.0)):
        f3 = np.stack([ring[k] for k in range(n)])  # front edge
        b3 = np.stack([ring[2 * n - 1 - k] for k in range(n)])  # back edge, same x order
        pts = np.stack([f3, b3], 1)  # (n, 2, 3)
        cap = grid(pts)
        nrm = np.cross(cap.vertices[cap.faces[0, 1]] - cap.vertices[cap.faces[0, 0]],
                       cap.vertices[cap.faces[0, 2]] - cap.vertices[cap.faces[0, 0]])
        if nrm[1] * sgn < 0:
            cap = Piece(cap.vertices, cap.faces[:, [0, 2, 1]], cap.uv, cap.size_uv)
        parts.append(cap)
    out = _merge(parts)
    return Piece(out.vertices, out.faces, out.uv, (width, height))


def frame_along(direction: np.ndarray, roll_deg: float = 0.0) -> np.ndarray:
    """(3, 3) rotation taking +Y to the unit ``direction`` (+X kept horizontal when possible)."""
    y = np.asarray(direction, dtype=np.float64)
    y = y / (np.linalg.norm(y) + 1e-12)
    ref = np.array([0.0, 0.0, 1.0]) if abs(y[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    x = np.cross(y, ref)
    x /= np.linalg.norm(x)
    z = np.cross(x, y)
    r = np.stack([x, y, z], 1)
    return r @ rot_y(roll_deg) if roll_deg else r


def beam(p0: np.ndarray, p1: np.ndarray, width: float, depth: float | None = None, roll_deg: float = 0.0) -> Piece:
    """A box of cross-section ``width`` x ``depth`` from point ``p0`` to point ``p1``."""
    a, b = np.asarray(p0, np.float64), np.asarray(p1, np.float64)
    length = float(np.linalg.norm(b - a))
    return box((width, length, width if depth is None else depth), (a + b) / 2, frame_along(b - a, roll_deg))


def rod(p0: np.ndarray, p1: np.ndarray, radius: float, *, segments: int = 12, r1: float | None = None) -> Piece:
    """A capped round rod from ``p0`` to ``p1`` (tapering to ``r1`` when given)."""
    a, b = np.asarray(p0, np.float64), np.asarray(p1, np.float64)
    length = float(np.linalg.norm(b - a))
    p = frustum(radius, radius if r1 is None else r1, length, segments=segments)
    return p.moved(frame_along(b - a), a)
