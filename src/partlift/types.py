"""Typed containers passed between partlift's stages.

Conventions used throughout (METHODS §1.2, DESIGN §2):

* Object frame: right-handed, +Y up. After :func:`partlift.geometry.normalize` the points lie in
  the unit sphere centred on their centroid ("unit-sphere frame").
* Screen frame: ``x`` = column, ``y`` = row, in pixels, origin at the centre of the top-left
  pixel (so pixel ``(r, c)`` covers ``[c - 0.5, c + 0.5) x [r - 0.5, r + 0.5)``).
* Sentinels: ``-1`` means "no point" in pixel maps, and "unlabelled / no instance" in labels.
* Arrays are numpy on the CPU; heavy stages (renderer, training) compute in torch on the device
  the caller passes and hand numpy back.

Containers are frozen dataclasses that validate their arrays on construction, so a malformed
array fails where it is made, with a message naming the field, not deep inside a later stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from partlift.errors import InputError

__all__ = [
    "Shape",
    "NormalizeTransform",
    "Camera",
    "Views",
    "Predictions",
    "Coverage",
    "PreparedShape",
    "MethodResult",
]


def _check_array(
    name: str,
    arr: Any,
    shape: tuple[int | None, ...],
    kinds: str,
    *,
    owner: str,
) -> np.ndarray:
    """Validate ``arr``'s rank, sizes (``None`` = any) and dtype kind (numpy ``dtype.kind`` chars)."""
    if not isinstance(arr, np.ndarray):
        raise InputError(
            f"{owner}.{name}: expected a numpy array of shape {_fmt_shape(shape)}, "
            f"got {type(arr).__name__}"
        )
    if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape, strict=True)):
        raise InputError(
            f"{owner}.{name}: expected shape {_fmt_shape(shape)}, got {tuple(arr.shape)}"
        )
    if arr.dtype.kind not in kinds:
        raise InputError(f"{owner}.{name}: expected dtype kind in {kinds!r}, got {arr.dtype}")
    return arr


def _fmt_shape(shape: tuple[int | None, ...]) -> str:
    return "(" + ", ".join("?" if s is None else str(s) for s in shape) + ")"


@dataclass(frozen=True)
class NormalizeTransform:
    """Affine map from a source frame to the unit-sphere frame: ``x_norm = (x - center) / scale``.

    Attributes:
        center: (3,) float64, subtracted first (METHODS §1.1: the centroid for PartSLIP/PartSTAD,
            the bounding-box centre for PartDistill's student).
        scale: positive float, the largest distance of a centred point from the origin.
    """

    center: tuple[float, float, float]
    scale: float

    def apply(self, xyz: np.ndarray) -> np.ndarray:
        """Map (N, 3) points from the source frame to the unit-sphere frame (float32)."""
        return ((xyz - np.asarray(self.center)) / self.scale).astype(np.float32)

    def invert(self, xyz: np.ndarray) -> np.ndarray:
        """Map (N, 3) points from the unit-sphere frame back to the source frame (float32)."""
        return (xyz * self.scale + np.asarray(self.center)).astype(np.float32)

    def compose(self, then: NormalizeTransform) -> NormalizeTransform:
        """The transform equal to applying ``self`` and then ``then``."""
        c = np.asarray(self.center) + self.scale * np.asarray(then.center)
        return NormalizeTransform(tuple(float(v) for v in c), self.scale * then.scale)

    def to_dict(self) -> dict[str, Any]:
        return {"center": list(self.center), "scale": self.scale}


@dataclass(frozen=True, eq=False)
class Shape:
    """A point cloud, possibly sampled from a mesh, with optional colour, normals and labels.

    Attributes:
        xyz: (N, 3) float32 coordinates, in the frame named by ``transform`` (source frame when
            ``transform`` is None).
        rgb: (N, 3) float32 colours in [0, 1], or None for an uncoloured cloud.
        normals: (N, 3) float32 unit normals (sign arbitrary unless the source gave them), or None.
        semantic: (N,) int64 part index into ``part_names``; -1 = no named part. None = unlabelled.
        instance: (N,) int64 part-instance id; -1 = no instance. None = unknown.
        part_names: the ordered part names ``semantic`` indexes, or None.
        category: category name (e.g. "Chair"), or None.
        name: identifier used in logs and outputs (e.g. "Chair/1234" or a file stem).
        mesh: the source ``trimesh.Trimesh`` for mesh inputs, else None (same frame as ``xyz``).
        face_index: (N,) int64 face of ``mesh`` each point was sampled from, or None.
        face_semantic: (F,) int64 per-face part labels of ``mesh`` (-1 = none), or None.
        face_instance: (F,) int64 per-face instance ids of ``mesh`` (-1 = none), or None.
        transform: the transform that took the source frame to this ``xyz`` frame, or None.
    """

    xyz: np.ndarray
    rgb: np.ndarray | None = None
    normals: np.ndarray | None = None
    semantic: np.ndarray | None = None
    instance: np.ndarray | None = None
    part_names: tuple[str, ...] | None = None
    category: str | None = None
    name: str = "shape"
    mesh: Any = None
    face_index: np.ndarray | None = None
    face_semantic: np.ndarray | None = None
    face_instance: np.ndarray | None = None
    transform: NormalizeTransform | None = None

    def __post_init__(self) -> None:
        owner = f"Shape({self.name!r})"
        xyz = _check_array("xyz", self.xyz, (None, 3), "f", owner=owner)
        n = xyz.shape[0]
        if n == 0:
            raise InputError(f"{owner}: the point cloud is empty (0 points); expected at least 1 point")
        if not np.isfinite(xyz).all():
            bad = int((~np.isfinite(xyz).all(axis=1)).sum())
            raise InputError(
                f"{owner}: {bad} of {n} points have NaN or infinite coordinates; "
                "remove or repair them before loading"
            )
        if self.rgb is not None:
            rgb = _check_array("rgb", self.rgb, (n, 3), "f", owner=owner)
            if not np.isfinite(rgb).all() or rgb.min() < 0.0 or rgb.max() > 1.0:
                raise InputError(
                    f"{owner}: colours must be floats in [0, 1], got range "
                    f"[{np.nanmin(rgb):.4g}, {np.nanmax(rgb):.4g}]; divide 0-255 colours by 255"
                )
        if self.normals is not None:
            nrm = _check_array("normals", self.normals, (n, 3), "f", owner=owner)
            if not np.isfinite(nrm).all():
                raise InputError(f"{owner}: normals contain NaN or infinite values")
        for lab in ("semantic", "instance"):
            arr = getattr(self, lab)
            if arr is not None:
                if isinstance(arr, np.ndarray) and arr.ndim == 1 and arr.shape[0] != n:
                    raise InputError(
                        f"{owner}: {lab} labels have length {arr.shape[0]} but the cloud has "
                        f"{n} points; labels must give one value per point"
                    )
                _check_array(lab, arr, (n,), "iu", owner=owner)
                if arr.size and arr.min() < -1:
                    raise InputError(f"{owner}: {lab} labels must be >= -1, got {arr.min()}")
        if self.semantic is not None and self.part_names is not None and self.semantic.size:
            if self.semantic.max() >= len(self.part_names):
                raise InputError(
                    f"{owner}: semantic label {int(self.semantic.max())} is out of range for "
                    f"{len(self.part_names)} part names {list(self.part_names)}"
                )
        if self.face_index is not None:
            _check_array("face_index", self.face_index, (n,), "iu", owner=owner)
        if self.mesh is not None:
            n_faces = len(self.mesh.faces)
            for lab in ("face_semantic", "face_instance"):
                arr = getattr(self, lab)
                if arr is not None:
                    _check_array(lab, arr, (n_faces,), "iu", owner=owner)
            if self.face_index is not None and self.face_index.size and (
                self.face_index.min() < 0 or self.face_index.max() >= n_faces
            ):
                raise InputError(f"{owner}: face_index out of range for a mesh of {n_faces} faces")

    @property
    def n_points(self) -> int:
        return int(self.xyz.shape[0])

    @property
    def has_labels(self) -> bool:
        return self.semantic is not None and self.part_names is not None

    def replace(self, **changes: Any) -> Shape:
        """A copy with some fields replaced (validated again)."""
        return replace(self, **changes)

    def subset(self, index: np.ndarray) -> Shape:
        """The shape restricted to points ``index`` ((M,) int or (N,) bool); the mesh is kept."""
        def take(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[index]

        return replace(
            self,
            xyz=self.xyz[index],
            rgb=take(self.rgb),
            normals=take(self.normals),
            semantic=take(self.semantic),
            instance=take(self.instance),
            face_index=take(self.face_index),
        )


@dataclass(frozen=True)
class Camera:
    """A pinhole camera looking at the origin with +Y up (PyTorch3D ``look_at_view_transform``).

    Attributes:
        elevation: degrees above the XZ plane.
        azimuth: degrees around +Y; azimuth 0 looks from +Z.
        distance: distance of the camera centre from the origin (unit-sphere frame).
        fov: vertical field of view, degrees.
        eye: (3,) camera centre ``distance * (cos e sin a, sin e, cos e cos a)``.
    """

    elevation: float
    azimuth: float
    distance: float
    fov: float

    @property
    def eye(self) -> np.ndarray:
        e, a = np.deg2rad(self.elevation), np.deg2rad(self.azimuth)
        return self.distance * np.array(
            [np.cos(e) * np.sin(a), np.sin(e), np.cos(e) * np.cos(a)], dtype=np.float64
        )

    @property
    def direction(self) -> np.ndarray:
        """(3,) unit vector from the origin towards the camera (the true view direction)."""
        eye = self.eye
        return eye / np.linalg.norm(eye)


@dataclass(frozen=True, eq=False)
class Views:
    """The multi-view rendering of one shape with exact pixel <-> point correspondence.

    Attributes:
        rgb: (V, H, W, 3) uint8 images.
        pix2point: (V, H, W) int64 index of the point that owns each pixel, -1 = background.
        screen_xy: (V, N, 2) float32 projected position of every point (visible or not), in
            screen pixels (x = column, y = row, origin at the top-left pixel centre).
        visible: (V, N) bool, True iff the point owns at least one pixel of the view.
        depth: (V, N) float32 camera-space depth of every point (distance along the view axis).
        cameras: the V cameras, in view order.
    """

    rgb: np.ndarray
    pix2point: np.ndarray
    screen_xy: np.ndarray
    visible: np.ndarray
    depth: np.ndarray
    cameras: tuple[Camera, ...]

    def __post_init__(self) -> None:
        owner = "Views"
        v, h, w, _ = _check_array("rgb", self.rgb, (None, None, None, 3), "u", owner=owner).shape
        _check_array("pix2point", self.pix2point, (v, h, w), "i", owner=owner)
        n = _check_array("screen_xy", self.screen_xy, (v, None, 2), "f", owner=owner).shape[1]
        _check_array("visible", self.visible, (v, n), "b", owner=owner)
        _check_array("depth", self.depth, (v, n), "f", owner=owner)
        if len(self.cameras) != v:
            raise InputError(f"Views: {len(self.cameras)} cameras for {v} images")

    @property
    def n_views(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def image_size(self) -> tuple[int, int]:
        """(H, W) in pixels."""
        return int(self.rgb.shape[1]), int(self.rgb.shape[2])

    @property
    def n_points(self) -> int:
        return int(self.screen_xy.shape[1])


@dataclass(frozen=True, eq=False)
class Predictions:
    """All 2D part predictions of a teacher for one shape, over all views (DESIGN §2).

    Prediction ``d`` is the row ``d`` of every array. ``boxes`` always hold the region's box
    (for mask and pixel teachers: the bounding box of the mask); ``masks``, when present, hold a
    finer region for every prediction.

    Attributes:
        view: (D,) int64 view index of each prediction.
        label: (D,) int64 index into ``part_names``.
        score: (D,) float32 teacher confidence in [0, 1].
        boxes: (D, 4) float32 ``x1, y1, x2, y2`` in screen pixels (x = column, y = row).
        features: (D, F) float32 per-prediction feature vector (PartSTAD's weight-net input).
        part_names: the prompt's part names, in label order.
        image_size: (H, W) of the views the predictions were made on.
        masks: (D, H, W) bool region masks, or None for box-only teachers.
        teacher: name of the teacher that made them (e.g. "simulated:zeroshot").
    """

    view: np.ndarray
    label: np.ndarray
    score: np.ndarray
    boxes: np.ndarray
    features: np.ndarray
    part_names: tuple[str, ...]
    image_size: tuple[int, int]
    masks: np.ndarray | None = None
    teacher: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        owner = "Predictions"
        d = _check_array("view", self.view, (None,), "i", owner=owner).shape[0]
        _check_array("label", self.label, (d,), "i", owner=owner)
        _check_array("score", self.score, (d,), "f", owner=owner)
        _check_array("boxes", self.boxes, (d, 4), "f", owner=owner)
        _check_array("features", self.features, (d, None), "f", owner=owner)
        if self.masks is not None:
            _check_array("masks", self.masks, (d, *self.image_size), "b", owner=owner)
        if d and (self.label.min() < 0 or self.label.max() >= len(self.part_names)):
            raise InputError(
                f"Predictions: labels must index the {len(self.part_names)} part names "
                f"{list(self.part_names)}, got range [{self.label.min()}, {self.label.max()}]"
            )

    def __len__(self) -> int:
        return int(self.view.shape[0])

    @property
    def feature_dim(self) -> int:
        return int(self.features.shape[1])

    def select(self, index: np.ndarray) -> Predictions:
        """The predictions at ``index`` ((K,) int or (D,) bool), in that order."""
        return replace(
            self,
            view=self.view[index],
            label=self.label[index],
            score=self.score[index],
            boxes=self.boxes[index],
            features=self.features[index],
            masks=None if self.masks is None else self.masks[index],
        )

    @classmethod
    def empty(
        cls,
        part_names: tuple[str, ...],
        image_size: tuple[int, int],
        feature_dim: int,
        teacher: str = "",
        with_masks: bool = False,
    ) -> Predictions:
        """A documented empty result: the teacher found nothing."""
        h, w = image_size
        return cls(
            view=np.zeros(0, np.int64),
            label=np.zeros(0, np.int64),
            score=np.zeros(0, np.float32),
            boxes=np.zeros((0, 4), np.float32),
            features=np.zeros((0, feature_dim), np.float32),
            part_names=tuple(part_names),
            image_size=(h, w),
            masks=np.zeros((0, h, w), bool) if with_masks else None,
            teacher=teacher,
        )


@dataclass(frozen=True, eq=False)
class Coverage:
    """Predictions lifted to points: the sparse (D x N) 0/1 matrix of METHODS §1.2 / §6.

    ``matrix[d, p] = 1`` iff point ``p`` is visible in the view of prediction ``d`` and its screen
    position lies inside the region of ``d`` (strictly inside the box, or
    ``mask[floor(y), floor(x)]`` for masks).

    Attributes:
        matrix: scipy CSR (D, N) uint8 with sorted indices and no explicit zeros.
        region: "box" or "mask": which region of the predictions was lifted.
    """

    matrix: sp.csr_matrix
    region: str = "box"

    def __post_init__(self) -> None:
        if not sp.isspmatrix_csr(self.matrix):
            raise InputError(f"Coverage.matrix: expected a scipy CSR matrix, got {type(self.matrix).__name__}")
        if self.region not in ("box", "mask"):
            raise InputError(f"Coverage.region: expected 'box' or 'mask', got {self.region!r}")

    @property
    def n_predictions(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_points(self) -> int:
        return int(self.matrix.shape[1])

    def to_dense(self) -> np.ndarray:
        """(D, N) bool dense copy (for tests and small shapes)."""
        return self.matrix.toarray().astype(bool)

    def coo(self) -> tuple[np.ndarray, np.ndarray]:
        """(prediction index, point index) int64 arrays of the non-zeros, sorted by prediction."""
        m = self.matrix.tocoo()
        return m.row.astype(np.int64), m.col.astype(np.int64)


@dataclass(frozen=True, eq=False)
class PreparedShape:
    """Per-shape work shared by every part list and method (:func:`partlift.prepare.prepare_shape`).

    Attributes:
        key: content hash of the input shape and the preparation settings.
        source: the shape as given (its own frame).
        shape: the same points in the unit-sphere frame (METHODS §1.1), with normals.
        views: the multi-view render of ``shape``.
        superpoints: (N,) int64 superpoint id per point; None when the preparation skipped them
            (``prepare_shape(superpoints=False)``: predict, render, PartDistill knowledge).
        timings: seconds per preparation stage.
    """

    key: str
    source: Shape
    shape: Shape
    views: Views
    superpoints: np.ndarray | None
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class MethodResult:
    """A method's output on the prepared points: (N,) semantic, (N,) instance, (N, C) scores."""

    semantic: np.ndarray
    instance: np.ndarray
    scores: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
