"""The simulated teacher: VLM-like 2D predictions made from ground truth (DESIGN §3).

It renders each ground-truth part instance into each view through the exact pixel -> point map
(``views.pix2point`` -> ``shape.instance`` / ``shape.semantic``) and turns every visible instance
into predictions with a seeded noise model whose parameters are the fields of a
:class:`~partlift.teachers.simulated_profiles.SimulatedProfile`. Per view:

1. **Regions.** An instance's visible region is the set of pixels its points own. Its *tight box*
   is the bounding box of those pixels in the screen frame (``x1 = min col - 0.5``, ``x2 = max col
   + 0.5``, same for rows), widened where needed so that every visible point of the instance lies
   strictly inside (a splat's owner can sit outside the pixels it won). Points with semantic -1,
   and parts not asked for, are not parts (they are still "object" pixels for leaks and false
   positives). Asked-for names that the shape does not have simply never get true detections:
   only false positives and confusions carry them.
2. **Detection.** An instance with ``area >= min_pixels`` is detected with probability
   ``detect_max / (1 + (detect_half_area * difficulty(part) / area_fraction) ** detect_slope)``.
3. **Merging.** With ``merge_prob``, all detected instances of one part in the view become one
   prediction (union box and pixels).
4. **Boxes.** Each side moves outwards by ``Exp(box_loose) * size`` and by ``N(0, box_jitter) *
   size``; boxes are clipped to the image.
5. **Names.** With ``confusion_systematic * difficulty`` a detection takes its part's fixed
   confusion partner's name (the table depends on the part names and the profile's seed only), else
   with ``confusion_random`` a random other name; with ``confusion_keep`` the correctly named
   prediction is kept as well.
6. **False positives.** ``Poisson(fp_per_view)`` random boxes over the object's silhouette, and per
   part name with ``whole_object_prob`` a box around the whole object, each with a random name.
7. **Quality and score.** A prediction's quality ``q`` is ``IoU(box, tight box of its source
   instances)`` when its name is right, else 0 (false positives: 0). Its score is
   ``0.5 + 0.5 * clip(w q + (1 - w) Beta(a, b))`` with ``w = score_quality_corr``.
8. **Masks** (SAM-like, every prediction): the source instances' image region (won pixels, the
   floor pixels of their visible points and small gaps, see ``_filled_regions``) with the
   boundary eroded or dilated by ``U{-m..m}`` px, plus with ``mask_leak_prob`` a band of
   ``mask_leak_px`` px into the neighbouring object pixels, clipped to the box grown by one pixel
   (PartSTAD reads masks at ``floor``). False positives get the object pixels inside their box.
   With ``oracle``, lifting the masks at ``(floor(y), floor(x))`` recovers every visible point of
   the instance except those whose floor pixel another instance won (seen through gaps).
9. **Features** ((D, feature_dim) float32): ``tanh(z @ P)`` with a fixed random projection ``P``
   (seeded by the profile seed) of ``z = [x1/W, y1/H, x2/W, y2/H, view direction (3), one-hot
   name (32, index mod 32), 4 * quality signal]`` where the quality signal is
   ``informativeness * q + (1 - informativeness) * U(0, 1)``: a noisy, partial signal of the
   prediction's quality; the correctness of its name never enters directly.

Modes: ``"mask"`` (boxes + masks, kind "mask"), ``"box"`` (boxes only, kind "box"; compose with
a refiner, e.g. ``"simulated:zeroshot+sam"``), ``"pixel"`` (PartDistill's pixel teacher: one
region per view and name = union of that name's masks, box = its bounding box; score, quality
and quality signal = the max over the merged predictions; kind "pixel").

Randomness: the teacher's fixed traits (part difficulties, the confusion table, the feature
projection) come from the *profile's* seed and the part names only, so they recur across views and
shapes, like a real model's biases. Per-shape noise: view ``v`` of a shape draws from
``SeedSequence([noise seed, hash(shape name, N), v])``, where the noise seed is the teacher's
``seed`` option (default: the profile's seed); results are reproducible and independent of call
order, and a different noise seed gives another realisation of the same teacher.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from partlift.errors import InputError
from partlift.teachers.simulated_profiles import (
    DEFAULT_PROFILE,
    REFERENCE_IMAGE_SIZE,
    SimulatedProfile,
    get_profile,
)
from partlift.types import Predictions, Shape, Views

__all__ = [
    "SimulatedTeacher",
    "build",
    "confusion_table",
    "part_difficulty",
    "MODES",
    "MAX_LABELS",
]

logger = logging.getLogger(__name__)

MODES: dict[str, str] = {"mask": "mask", "box": "box", "pixel": "pixel"}
"""Output mode -> teacher kind."""

MAX_LABELS = 32
"""Length of the name one-hot in the features (names beyond it wrap around, index mod 32)."""

_QUALITY_GAIN = 4.0
"""Scale of the quality signal in the feature input, so that it is not drowned by the one-hot."""

_POINT_MARGIN = 0.25
"""Pixels by which a tight box extends beyond the extreme visible points (strict inclusion)."""

_MASK_CLIP_MARGIN = 1.0
"""Masks are clipped to their box grown by this many pixels: PartSTAD reads a mask at
``(floor(y), floor(x))``, up to one pixel up-left of a point that lies just inside the box."""

_GAP_PX = 4
"""Unwon row / column gaps up to this wide (pixels) between two pixels of one instance are filled."""

_FP_SIZE_RANGE = (0.1, 0.5)
"""False-positive box sides, as fractions of the object's silhouette box sides."""


def _hash_int(*parts: object) -> int:
    """A stable 63-bit integer hash of ``parts`` (Python's ``hash`` is salted per process)."""
    h = hashlib.sha256("\x1f".join(repr(p) for p in parts).encode()).digest()
    return int.from_bytes(h[:8], "little") >> 1


def part_difficulty(name: str, profile: SimulatedProfile) -> float:
    """The fixed difficulty factor ``exp(part_difficulty * z)`` of part ``name`` (z from seed, name)."""
    if profile.part_difficulty == 0:
        return 1.0
    rng = np.random.default_rng([profile.seed, _hash_int("difficulty", name)])
    return float(np.exp(profile.part_difficulty * rng.standard_normal()))


def confusion_table(part_names: Sequence[str], seed: int) -> np.ndarray:
    """(C,) int64: the systematic confusion partner of each name (-1 when C = 1).

    A function of the name tuple and ``seed`` only (not of the shape), so the same wrong name
    recurs across views and shapes of a category.
    """
    c = len(part_names)
    if c < 2:
        return np.full(c, -1, np.int64)
    rng = np.random.default_rng([seed, _hash_int("confusion", tuple(part_names))])
    shift = rng.integers(1, c, size=c)
    return ((np.arange(c) + shift) % c).astype(np.int64)


def _projection(profile: SimulatedProfile, in_dim: int) -> np.ndarray:
    """(in_dim, feature_dim) float64 fixed random projection (seeded by the profile seed)."""
    rng = np.random.default_rng([profile.seed, _hash_int("features", in_dim, profile.feature_dim)])
    return rng.standard_normal((in_dim, profile.feature_dim)) / np.sqrt(in_dim)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


@dataclass
class _Raw:
    """One prediction before features: view, label, box (4,) xyxy px, quality, score, quality
    signal (for the features) and (H, W) bool mask."""

    view: int
    label: int
    box: np.ndarray
    quality: float
    score: float
    qsig: float
    mask: np.ndarray | None


class SimulatedTeacher:
    """VLM-like predictions from ground truth; see the module docstring for the noise model.

    Args:
        profile: a :class:`SimulatedProfile` or a profile name (``"zeroshot"``, ``"oracle@0.5"``
            ...; see :func:`~partlift.teachers.simulated_profiles.get_profile`).
        mode: ``"mask"`` (default), ``"box"`` or ``"pixel"``.
        seed: seed of the per-shape noise (default: the profile's seed). The teacher's fixed
            traits (confusion table, part difficulties, feature projection) keep the profile's
            seed, so ``seed`` gives another noise realisation of the same teacher.
    """

    needs_ground_truth = True

    def __init__(
        self,
        profile: str | SimulatedProfile = DEFAULT_PROFILE,
        *,
        mode: str = "mask",
        seed: int | None = None,
    ) -> None:
        prof = get_profile(profile)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise InputError(f"simulated teacher: expected an integer seed, got {seed!r}")
        self.noise_seed = prof.seed if seed is None else int(seed)
        if mode not in MODES:
            raise InputError(f"simulated teacher: expected mode in {sorted(MODES)}, got {mode!r}")
        self.profile = prof
        self.mode = mode
        self.kind = MODES[mode]
        extras = []
        if _is_custom(prof):
            extras.append(f"profile={_hash_int('profile', sorted(prof.to_dict().items())):016x}")
        if mode != "mask":
            extras.append(f"mode={mode}")
        if seed is not None:
            extras.append(f"seed={int(seed)}")
        self.name = f"simulated:{prof.name}" + (f"({','.join(extras)})" if extras else "")

    def __repr__(self) -> str:
        return f"SimulatedTeacher({self.name!r})"

    # ------------------------------------------------------------------ public
    def known_parts(self, shape: Shape) -> tuple[str, ...] | None:
        """The shape's labelled part names (what ground truth can show); None when it has none."""
        return tuple(shape.part_names) if shape.part_names else None

    def predict(self, views: Views, part_names: Sequence[str], shape: Shape) -> Predictions:
        """Predictions for every view of ``views`` (rendered from ``shape``); see module docstring.

        Raises:
            InputError: ``shape`` has no ground-truth part labels, ``part_names`` is empty or has
                duplicates, or ``views`` was not rendered from ``shape``.
        """
        names = self._check(views, part_names, shape)
        prof = self.profile
        h, w = views.image_size
        point_key, key_label = _instance_keys(shape, names)
        difficulty = np.array([part_difficulty(n, prof) for n in names])
        partner = confusion_table(names, prof.seed)
        shape_hash = _hash_int("shape", shape.name, shape.n_points)
        scale = min(h, w) / REFERENCE_IMAGE_SIZE
        raws: list[_Raw] = []
        for v in range(views.n_views):
            rng = np.random.default_rng([self.noise_seed, shape_hash, v])
            raws.extend(
                _predict_view(
                    views, v, point_key, key_label, names, difficulty, partner, prof, rng, scale,
                    with_masks=self.mode != "box",
                )
            )
        if self.mode == "pixel":
            raws = _pixel_regions(raws)
        logger.debug("%s on %s: %d predictions over %d views", self.name, shape.name, len(raws), views.n_views)
        return self._assemble(raws, views, names)

    # ------------------------------------------------------------------ helpers
    def _check(self, views: Views, part_names: Sequence[str], shape: Shape) -> tuple[str, ...]:
        if not isinstance(shape, Shape):
            raise InputError(f"simulated teacher: expected a partlift Shape, got {type(shape).__name__}")
        if not shape.has_labels:
            raise InputError(
                f"simulated teacher: shape {shape.name!r} has no ground-truth part labels; the "
                "simulated teacher renders ground truth into the views, so it only works on "
                "labelled shapes (benchmarks, tests, the demo). Load a labelled shape (e.g. a "
                "PartNet-E folder with label.npy) or use a real teacher such as grounding-dino"
            )
        if not isinstance(views, Views):
            raise InputError(f"simulated teacher: expected Views, got {type(views).__name__}")
        if views.n_points != shape.n_points:
            raise InputError(
                f"simulated teacher: the views have {views.n_points} points but shape "
                f"{shape.name!r} has {shape.n_points}; render this shape and pass its views"
            )
        if isinstance(part_names, str) or not all(isinstance(p, str) for p in part_names):
            raise InputError(
                f"simulated teacher: expected part_names to be a sequence of strings, got {part_names!r}"
            )
        names = tuple(part_names)
        if not names:
            raise InputError("simulated teacher: expected at least one part name, got none")
        if len(set(names)) != len(names):
            raise InputError(f"simulated teacher: part names must be unique, got {list(names)}")
        return names

    def _assemble(self, raws: list[_Raw], views: Views, names: tuple[str, ...]) -> Predictions:
        prof = self.profile
        h, w = views.image_size
        with_masks = self.mode != "box"
        if not raws:
            out = Predictions.empty(names, (h, w), prof.feature_dim, self.name, with_masks)
            return dataclasses.replace(out, meta=self._meta())
        view = np.array([r.view for r in raws], np.int64)
        label = np.array([r.label for r in raws], np.int64)
        boxes = np.stack([r.box for r in raws]).astype(np.float32)
        score = np.array([r.score for r in raws], np.float32)
        qsig = np.array([r.qsig for r in raws], np.float64)
        feats = _features(boxes, view, label, qsig, views, prof)
        # Per view, GLIP's order: descending score (stable on generation order).
        order = np.lexsort((-score, view))
        masks = None
        if with_masks:
            masks = np.stack([raws[i].mask for i in order])
        return Predictions(
            view=view[order],
            label=label[order],
            score=score[order],
            boxes=boxes[order],
            features=feats[order],
            part_names=names,
            image_size=(h, w),
            masks=masks,
            teacher=self.name,
            meta=self._meta(),
        )

    def _meta(self) -> dict:
        return {
            "teacher": self.name,
            "profile": self.profile.to_dict(),
            "mode": self.mode,
            "noise_seed": self.noise_seed,
        }


def build(
    profile: str | SimulatedProfile = DEFAULT_PROFILE,
    *,
    mode: str = "mask",
    seed: int | None = None,
    device: str | None = None,  # noqa: ARG001 - accepted like every teacher's; numpy on the CPU
    **unknown: object,
) -> SimulatedTeacher:
    """Registry builder: ``build(profile="zeroshot", mode="mask", seed=None)``.

    ``device`` is accepted (as by every teacher builder) and ignored: the simulated teacher runs
    in numpy on the CPU.
    """
    if unknown:
        raise InputError(
            f"simulated teacher: unknown options {sorted(unknown)}; valid ones are "
            "['device', 'mode', 'profile', 'seed']"
        )
    return SimulatedTeacher(profile, mode=mode, seed=seed)


# ---------------------------------------------------------------------- internals
def _is_custom(prof: SimulatedProfile) -> bool:
    """True when ``prof`` is not the named profile it claims to be, so that the teacher name must
    carry a hash of its parameters (names are part of cache keys)."""
    try:
        named = get_profile(prof.name)
    except InputError:
        return True
    return named != prof


def _instance_keys(shape: Shape, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Per point a compact instance key (-1 = not an asked-for part) and per key its label.

    Returns ((N,) int64 key, (K,) int64 label index into ``names``). Instances are the distinct
    (semantic, instance) pairs (semantic alone when the shape has no instance ids).
    """
    assert shape.semantic is not None and shape.part_names is not None
    lookup = {n: i for i, n in enumerate(names)}
    shape_to_query = np.array([lookup.get(n, -1) for n in shape.part_names] + [-1], np.int64)
    sem = shape.semantic.astype(np.int64)
    qlab = shape_to_query[np.where(sem >= 0, sem, len(shape.part_names))]
    inst = shape.instance.astype(np.int64) if shape.instance is not None else np.zeros_like(sem)
    valid = qlab >= 0
    key = np.full(sem.shape, -1, np.int64)
    if not valid.any():
        return key, np.zeros(0, np.int64)
    pairs = np.stack([sem[valid], inst[valid]], axis=1)
    uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
    key[valid] = inverse.ravel()
    key_label = shape_to_query[uniq[:, 0]]
    return key, key_label


def _predict_view(
    views: Views,
    v: int,
    point_key: np.ndarray,
    key_label: np.ndarray,
    names: tuple[str, ...],
    difficulty: np.ndarray,
    partner: np.ndarray,
    prof: SimulatedProfile,
    rng: np.random.Generator,
    scale: float,
    with_masks: bool,
) -> list[_Raw]:
    """The raw predictions of view ``v`` (module docstring, steps 1-8); masks are None when
    ``with_masks`` is False (the random draws are the same either way)."""
    h, w = views.image_size
    n_keys, n_names = key_label.shape[0], len(names)
    pix = views.pix2point[v]
    fg = pix >= 0
    if not fg.any():
        return []
    # Key image: instance key, -1 = object pixel that is no asked-for part, -2 = background.
    kimg = np.full((h, w), -2, np.int64)
    kimg[fg] = point_key[pix[fg]]
    area = np.bincount(kimg[kimg >= 0], minlength=n_keys)
    tight = _tight_boxes(views, v, kimg, point_key, n_keys)
    obj_box = _silhouette_box(views, v, fg)
    if with_masks:
        regions, objects = _filled_regions(views, v, kimg, point_key, tight)
    # 2. detection.
    frac = area / float(h * w)
    half = prof.detect_half_area * difficulty[key_label] if n_keys else np.zeros(0)
    with np.errstate(divide="ignore", over="ignore"):
        ratio = np.where(half > 0, half / np.maximum(frac, 1e-12), 0.0)
        p_det = prof.detect_max / (1.0 + ratio**prof.detect_slope)
    p_det[area < max(1, prof.min_pixels)] = 0.0
    detected = rng.random(n_keys) < p_det
    # 3. groups (merging).
    groups: list[np.ndarray] = []
    merge_draw = rng.random(n_names)
    for j in range(n_names):
        ks = np.flatnonzero(detected & (key_label == j))
        if ks.size >= 2 and merge_draw[j] < prof.merge_prob:
            groups.append(ks)
        else:
            groups.extend(ks[:, None])
    boundary_px = int(round(prof.mask_boundary_px * scale))
    leak_px = int(round(prof.mask_leak_px * scale))
    out: list[_Raw] = []
    for ks in groups:
        j = int(key_label[ks[0]])
        src = np.array([tight[ks, 0].min(), tight[ks, 1].min(), tight[ks, 2].max(), tight[ks, 3].max()])
        box = _noisy_box(src, prof, rng, h, w)
        labels = _names_for(j, difficulty[j], partner, n_names, prof, rng)
        k = int(rng.integers(-boundary_px, boundary_px + 1)) if boundary_px else 0
        leak = leak_px if rng.random() < prof.mask_leak_prob else 0
        mask = _sam_mask(regions, objects, ks, box, src, k, leak) if with_masks else None
        q = _iou(box, src)
        for lab in labels:
            out.append(_scored(v, lab, box, q if lab == j else 0.0, mask, prof, rng))
    # 6. false positives.
    if obj_box is not None:
        ow, oh = obj_box[2] - obj_box[0], obj_box[3] - obj_box[1]
        for _ in range(rng.poisson(prof.fp_per_view)):
            bw, bh = ow * rng.uniform(*_FP_SIZE_RANGE), oh * rng.uniform(*_FP_SIZE_RANGE)
            cx = rng.uniform(obj_box[0] + bw / 2, obj_box[2] - bw / 2)
            cy = rng.uniform(obj_box[1] + bh / 2, obj_box[3] - bh / 2)
            box = np.array([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2])
            lab = int(rng.integers(n_names))
            mask = _box_fill(objects, box) if with_masks else None
            out.append(_scored(v, lab, box, 0.0, mask, prof, rng))
        whole_draw = rng.random(n_names)
        for j in np.flatnonzero(whole_draw < prof.whole_object_prob):
            box = _noisy_box(obj_box, prof, rng, h, w)
            mask = _box_fill(objects, box) if with_masks else None
            out.append(_scored(v, int(j), box, 0.0, mask, prof, rng))
    return out


def _scored(
    v: int,
    label: int,
    box: np.ndarray,
    quality: float,
    mask: np.ndarray | None,
    prof: SimulatedProfile,
    rng: np.random.Generator,
) -> _Raw:
    """A prediction with its score and feature quality signal drawn (module docstring, 7 and 9)."""
    noise = rng.beta(prof.score_beta_a, prof.score_beta_b)
    s = prof.score_quality_corr * quality + (1.0 - prof.score_quality_corr) * noise
    score = 0.5 + 0.5 * float(np.clip(s, 1e-3, 1.0))
    qsig = prof.informativeness * quality + (1.0 - prof.informativeness) * rng.random()
    return _Raw(v, label, box, quality, score, float(qsig), mask)


def _tight_boxes(
    views: Views, v: int, kimg: np.ndarray, point_key: np.ndarray, n_keys: int
) -> np.ndarray:
    """(K, 4) float64 tight box per key: pixel bbox (+-0.5) widened to hold its visible points."""
    boxes = np.zeros((n_keys, 4))
    if n_keys == 0:
        return boxes
    boxes[:, :2], boxes[:, 2:] = np.inf, -np.inf
    labels = np.where(kimg >= 0, kimg + 1, 0)
    for k, sl in enumerate(ndimage.find_objects(labels, max_label=n_keys)):
        if sl is not None:
            boxes[k] = (sl[1].start - 0.5, sl[0].start - 0.5, sl[1].stop - 0.5, sl[0].stop - 0.5)
    pts = np.flatnonzero(views.visible[v])
    keys = point_key[pts]
    sel = keys >= 0
    pts, keys = pts[sel], keys[sel]
    xy = views.screen_xy[v, pts].astype(np.float64)
    lo = np.full((n_keys, 2), np.inf)
    hi = np.full((n_keys, 2), -np.inf)
    np.minimum.at(lo, keys, xy)
    np.maximum.at(hi, keys, xy)
    boxes[:, :2] = np.minimum(boxes[:, :2], lo - _POINT_MARGIN)
    boxes[:, 2:] = np.maximum(boxes[:, 2:], hi + _POINT_MARGIN)
    return boxes


def _silhouette_box(views: Views, v: int, fg: np.ndarray) -> np.ndarray | None:
    """(4,) tight box of the whole object in view ``v`` (pixels and visible points), or None."""
    rows, cols = np.nonzero(fg)
    if rows.size == 0:
        return None
    box = np.array([cols.min() - 0.5, rows.min() - 0.5, cols.max() + 0.5, rows.max() + 0.5])
    xy = views.screen_xy[v, views.visible[v]].astype(np.float64)
    if xy.size:
        box[:2] = np.minimum(box[:2], xy.min(axis=0) - _POINT_MARGIN)
        box[2:] = np.maximum(box[2:], xy.max(axis=0) + _POINT_MARGIN)
    return box


def _noisy_box(
    src: np.ndarray, prof: SimulatedProfile, rng: np.random.Generator, h: int, w: int
) -> np.ndarray:
    """Loosened and jittered copy of ``src`` (4,), clipped to the image, at least 1 px wide."""
    bw, bh = src[2] - src[0], src[3] - src[1]
    size = np.array([bw, bh, bw, bh])
    loose = rng.exponential(1.0, 4) * prof.box_loose if prof.box_loose > 0 else np.zeros(4)
    jitter = rng.standard_normal(4) * prof.box_jitter
    box = src + np.array([-1.0, -1.0, 1.0, 1.0]) * loose * size + jitter * size
    lo = np.array([-0.5, -0.5, -0.5, -0.5])
    hi = np.array([w - 0.5, h - 0.5, w - 0.5, h - 0.5])
    box = np.clip(box, lo, hi)
    for a, b, limit in ((0, 2, w - 0.5), (1, 3, h - 0.5)):
        if box[b] - box[a] < 1.0:
            mid = np.clip((box[a] + box[b]) / 2, 0.0, limit - 0.5)
            box[a], box[b] = mid - 0.5, mid + 0.5
    return box


def _names_for(
    j: int,
    difficulty: float,
    partner: np.ndarray,
    n_names: int,
    prof: SimulatedProfile,
    rng: np.random.Generator,
) -> list[int]:
    """Labels reported for a detection of part ``j``: [j], [wrong], or [j, wrong]."""
    r, keep_draw, pick = rng.random(), rng.random(), rng.integers(1, max(n_names, 2))
    if n_names < 2:
        return [j]
    p_sys = min(1.0, prof.confusion_systematic * difficulty)
    if r < p_sys:
        wrong = int(partner[j])
    elif r < p_sys + prof.confusion_random:
        wrong = int((j + pick) % n_names)
    else:
        return [j]
    return [j, wrong] if keep_draw < prof.confusion_keep else [wrong]


def _filled_regions(
    views: Views, v: int, kimg: np.ndarray, point_key: np.ndarray, boxes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The image regions of the instances and of the object, as a perfect SAM would give them.

    Won pixels are speckled where surfaces interleave (a door and the cabinet face right behind
    it) or points are sparse. Each instance's region is therefore:

    * the pixels its points won;
    * plus the pixel ``(floor(y), floor(x))`` of each of its visible points (PartSTAD's mask
      lookup, METHODS §1.2) unless another instance won it, so that lifting an exact mask with
      that lookup recovers the instance's visible points;
    * plus row and column gaps of up to :data:`_GAP_PX` pixels between two of its pixels
      (a binary closing with a 1 x (GAP+1) and a (GAP+1) x 1 line) that no instance won; where
      two instances claim a gap pixel, the lower key wins.

    Args:
        boxes: (K, 4) tight boxes of the keys (:func:`_tight_boxes`), to work in windows.

    Returns:
        (H, W) int64 instance key per pixel (-1 = none) and (H, W) bool object region (pixels
        won by any point, plus floor pixels of visible points and gaps filled the same way).
    """
    h, w = kimg.shape
    seeds = np.where(kimg >= 0, kimg, -1)
    obj = kimg > -2
    pts = np.flatnonzero(views.visible[v])
    rc = np.floor(views.screen_xy[v, pts][:, ::-1].astype(np.float64)).astype(np.int64)
    inb = (rc[:, 0] >= 0) & (rc[:, 0] < h) & (rc[:, 1] >= 0) & (rc[:, 1] < w)
    pts, rc = pts[inb], rc[inb]
    obj[rc[:, 0], rc[:, 1]] = True
    keys = point_key[pts]
    sel = (kimg[rc[:, 0], rc[:, 1]] < 0) & (keys >= 0)
    np.maximum.at(seeds, (rc[sel, 0], rc[sel, 1]), keys[sel])
    regions = seeds.copy()
    m = _GAP_PX + 2
    for k in range(boxes.shape[0]):
        if not np.isfinite(boxes[k]).all():
            continue
        r0, r1 = max(int(np.floor(boxes[k, 1])) - m, 0), min(int(np.ceil(boxes[k, 3])) + m + 1, h)
        c0, c1 = max(int(np.floor(boxes[k, 0])) - m, 0), min(int(np.ceil(boxes[k, 2])) + m + 1, w)
        win = regions[r0:r1, c0:c1]
        gaps = _close_gaps(seeds[r0:r1, c0:c1] == k) & (win < 0)
        win[gaps] = k
    rows = np.flatnonzero(obj.any(axis=1))
    cols = np.flatnonzero(obj.any(axis=0))
    objects = obj.copy()
    if rows.size:
        r0, r1 = max(rows[0] - m, 0), min(rows[-1] + m + 1, h)
        c0, c1 = max(cols[0] - m, 0), min(cols[-1] + m + 1, w)
        objects[r0:r1, c0:c1] = _close_gaps(obj[r0:r1, c0:c1])
    return regions, objects


def _close_gaps(mask: np.ndarray) -> np.ndarray:
    """``mask`` with row and column gaps of up to :data:`_GAP_PX` pixels closed."""
    size = _GAP_PX + 1 + (_GAP_PX % 2 == 0)  # odd line length >= GAP + 1
    out = mask.copy()
    for shape in ((1, size), (size, 1)):
        out |= ndimage.binary_closing(mask, structure=np.ones(shape, bool))
    return out


def _pixel_window(
    box: np.ndarray, h: int, w: int, margin: float = 0.0
) -> tuple[slice, slice]:
    """Rows and columns whose pixel centres lie strictly inside ``box`` grown by ``margin`` px."""
    box = np.asarray(box, np.float64) + np.array([-margin, -margin, margin, margin])
    c0, c1 = int(np.floor(box[0])) + 1, int(np.ceil(box[2])) - 1
    r0, r1 = int(np.floor(box[1])) + 1, int(np.ceil(box[3])) - 1
    return slice(max(r0, 0), min(r1, h - 1) + 1), slice(max(c0, 0), min(c1, w - 1) + 1)


def _box_fill(objects: np.ndarray, box: np.ndarray) -> np.ndarray:
    """(H, W) bool: the object pixels inside ``box`` (the mask SAM gives on a spurious box)."""
    out = np.zeros_like(objects)
    rs, cs = _pixel_window(box, *objects.shape, margin=_MASK_CLIP_MARGIN)
    out[rs, cs] = objects[rs, cs]
    return out


def _sam_mask(
    regions: np.ndarray,
    objects: np.ndarray,
    keys: np.ndarray,
    box: np.ndarray,
    src: np.ndarray,
    k: int,
    leak_px: int,
) -> np.ndarray:
    """(H, W) bool SAM-like mask of the regions of ``keys``: boundary noise, leak, box clip.

    ``regions`` / ``objects`` come from :func:`_filled_regions`. The boundary is dilated by
    ``k > 0`` or eroded by ``-k`` pixels, then grown by a band of ``leak_px`` pixels into object
    pixels (0 = no leak); the mask is clipped to ``box`` grown by :data:`_MASK_CLIP_MARGIN`.
    """
    h, w = regions.shape
    # Work in a window around the source box (+ margin) to keep morphology cheap.
    m = abs(k) + leak_px + 3
    r0, r1 = max(int(np.floor(src[1])) - m, 0), min(int(np.ceil(src[3])) + m + 1, h)
    c0, c1 = max(int(np.floor(src[0])) - m, 0), min(int(np.ceil(src[2])) + m + 1, w)
    base = np.isin(regions[r0:r1, c0:c1], keys)
    region = base
    if k > 0:
        region = ndimage.binary_dilation(base, iterations=k)
    elif k < 0:
        eroded = ndimage.binary_erosion(base, iterations=-k)
        region = eroded if eroded.any() else base
    if leak_px > 0:
        band = ndimage.binary_dilation(region, iterations=leak_px)
        region = region | (band & objects[r0:r1, c0:c1])
    out = np.zeros((h, w), bool)
    rs, cs = _pixel_window(box, h, w, margin=_MASK_CLIP_MARGIN)
    out[r0:r1, c0:c1] = region
    clipped = np.zeros((h, w), bool)
    clipped[rs, cs] = out[rs, cs]
    return clipped


def _pixel_regions(raws: list[_Raw]) -> list[_Raw]:
    """One region per (view, label): union of that label's masks; box = its bounding box."""
    out: list[_Raw] = []
    keys = sorted({(r.view, r.label) for r in raws})
    for v, lab in keys:
        members = [r for r in raws if r.view == v and r.label == lab]
        mask = np.logical_or.reduce([r.mask for r in members])
        rows, cols = np.nonzero(mask)
        if rows.size == 0:
            continue
        box = np.array([cols.min() - 0.5, rows.min() - 0.5, cols.max() + 0.5, rows.max() + 0.5])
        out.append(
            _Raw(
                v,
                lab,
                box,
                max(r.quality for r in members),
                max(r.score for r in members),
                max(r.qsig for r in members),
                mask,
            )
        )
    return out


def _features(
    boxes: np.ndarray,
    view: np.ndarray,
    label: np.ndarray,
    qsig: np.ndarray,
    views: Views,
    prof: SimulatedProfile,
) -> np.ndarray:
    """(D, feature_dim) float32 ``tanh(z @ P)`` (module docstring, item 9)."""
    h, w = views.image_size
    d = boxes.shape[0]
    geom = boxes.astype(np.float64) / np.array([w, h, w, h])
    dirs = np.stack([c.direction for c in views.cameras])[view]
    onehot = np.zeros((d, MAX_LABELS))
    onehot[np.arange(d), label % MAX_LABELS] = 1.0
    z = np.concatenate([geom, dirs, onehot, _QUALITY_GAIN * qsig[:, None]], axis=1)
    return np.tanh(z @ _projection(prof, z.shape[1])).astype(np.float32)
