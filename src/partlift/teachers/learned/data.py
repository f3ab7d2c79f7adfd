"""Training data of the learned teacher: generated shapes rendered with partlift's own renderer.

Every shape comes from :func:`partlift.data.synthetic.generate` (seed =
:func:`~partlift.data.synthetic.shape_seed` ``(seed, category, i, split)``, so training and
held-out sets never share a shape), is normalised to the unit sphere (METHODS §1.1) and rendered
with :func:`partlift.render.render` from the 10 PartSLIP views (METHODS §1.2) plus
``extra_views`` random ones, exactly as the pipeline renders a user's shape; the views are then
turned into the network's inputs and targets by :mod:`partlift.teachers.learned.inputs` (the
same code the teacher runs at inference). Normals given to the network are estimated from the
points (:func:`partlift.geometry.ensure_normals`), as the pipeline does.

Render-time augmentation (``augment=True``; drawn per shape from a seeded generator):

* points per shape uniform in ``points`` (real PartNet-E clouds have 10k points);
* image size and splat radius: one of :data:`RENDER_CHOICES` (the ``partslip`` and ``fast``
  presets and thicker / thinner splats), so the resampled inputs cover both presets;
* appearance: the generator's textures (``p_textured``), no colour at all (the renderer's
  normal shading, ``p_uncoloured``), or random colours per part instance / one colour for all;
* ``extra_views`` random views, elevation in [-30, 65] deg, any azimuth.

Without augmentation (held-out sets): textured, ``points[1]`` points, ``eval_render`` (default
the ``partslip`` preset: 800 x 800, 2-px splats), the 10 PartSLIP views only.

Storage (:class:`Examples`): per view, at the working resolution R, RGB uint8, depth float16,
normals int8 (x 127) and the target int8; the foreground is ``target >= 0``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from partlift.config import PARTSLIP_VIEWS, RenderConfig
from partlift.errors import InputError
from partlift.teachers.learned.checkpoint import Vocabulary
from partlift.teachers.learned.inputs import view_inputs, view_targets

__all__ = ["DataConfig", "Examples", "RENDER_CHOICES", "render_examples", "shape_examples"]

log = logging.getLogger(__name__)

RENDER_CHOICES: tuple[tuple[int, float], ...] = (
    (800, 0.005),   # partslip preset: 2-px splats
    (800, 0.0035),
    (800, 0.0075),
    (400, 0.01),    # fast preset: 2-px splats
    (400, 0.015),
)
"""(image size, splat radius in NDC) drawn per training shape."""


@dataclass(frozen=True)
class DataConfig:
    """How training / held-out views are made (stored in the checkpoint header).

    Attributes:
        resolution: working resolution R.
        extra_views: random views per shape beyond the 10 PartSLIP ones (training only).
        points: (min, max) points per generated shape.
        p_textured: probability of the generator's own colours.
        p_uncoloured: probability of no colour (shaded from normals by the renderer); the rest
            get random colours.
        augment: False for held-out sets (see the module doc).
    """

    resolution: int = 192
    extra_views: int = 4
    points: tuple[int, int] = (8000, 30000)
    p_textured: float = 0.5
    p_uncoloured: float = 0.2
    augment: bool = True
    render_choices: tuple[tuple[int, float], ...] = field(default=RENDER_CHOICES)
    eval_render: tuple[int, float] = (800, 0.005)

    def __post_init__(self) -> None:
        if self.extra_views < 0 or not 1 <= self.points[0] <= self.points[1]:
            raise InputError(f"DataConfig: bad extra_views {self.extra_views} or points {self.points}")
        if not (0 <= self.p_textured and 0 <= self.p_uncoloured and self.p_textured + self.p_uncoloured <= 1):
            raise InputError("DataConfig: p_textured and p_uncoloured must be >= 0 and sum to <= 1")

    def to_dict(self) -> dict:
        return {
            "resolution": self.resolution,
            "extra_views": self.extra_views,
            "points": list(self.points),
            "p_textured": self.p_textured,
            "p_uncoloured": self.p_uncoloured,
            "augment": self.augment,
            "render_choices": [list(c) for c in self.render_choices],
            "eval_render": list(self.eval_render),
            "base_views": [list(v) for v in PARTSLIP_VIEWS],
        }


@dataclass
class Examples:
    """M rendered views at resolution R (see the module doc for the storage).

    Attributes:
        rgb: (M, 3, R, R) uint8; depth: (M, R, R) float16; normals: (M, 3, R, R) int8;
        target: (M, R, R) int8 class (-1 = background); category: (M,) int64 category id;
        shape_index: (M,) int64 running shape number (for per-shape evaluation).
    """

    rgb: np.ndarray
    depth: np.ndarray
    normals: np.ndarray
    target: np.ndarray
    category: np.ndarray
    shape_index: np.ndarray

    def __len__(self) -> int:
        return int(self.target.shape[0])

    @property
    def resolution(self) -> int:
        return int(self.target.shape[-1])

    def inputs(self, index: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(x (B, 8, R, R) float32, target (B, R, R) int64, category (B,) int64)`` of ``index``."""
        tgt = torch.from_numpy(self.target[index].astype(np.int64))
        fg = (tgt >= 0).float()[:, None]
        rgb = torch.from_numpy(self.rgb[index]).float() / 255.0 * 2.0 - 1.0
        depth = torch.from_numpy(self.depth[index].astype(np.float32))[:, None]
        nrm = torch.from_numpy(self.normals[index].astype(np.float32)) / 127.0
        x = torch.cat([rgb, fg, depth, nrm], dim=1)
        return x, tgt, torch.from_numpy(self.category[index])

    @classmethod
    def concat(cls, parts: Sequence[Examples]) -> Examples:
        return cls(*(np.concatenate([getattr(p, k) for p in parts]) for k in
                     ("rgb", "depth", "normals", "target", "category", "shape_index")))


def _recolour(shape, rng: np.random.Generator) -> np.ndarray:
    """(N, 3) float32 random colours: one per part instance (and one for unlabelled points), or
    one colour for the whole shape, with mild per-point noise."""
    inst = shape.instance if shape.instance is not None else np.full(shape.n_points, -1)
    keys, inv = np.unique(inst, return_inverse=True)
    if rng.random() < 0.3:
        palette = np.repeat(rng.uniform(0.05, 0.95, (1, 3)), len(keys), axis=0)
    else:
        palette = rng.uniform(0.05, 0.95, (len(keys), 3))
    rgb = palette[inv] + rng.normal(0.0, 0.02, (shape.n_points, 3))
    return np.clip(rgb, 0.0, 1.0).astype(np.float32)


def shape_examples(
    category: str, shape_seed: int, vocab: Vocabulary, config: DataConfig, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    """Render one generated shape into stored examples ``(rgb, depth, normals, target)`` arrays
    with a leading view axis (see :class:`Examples`)."""
    from partlift.data import synthetic
    from partlift.geometry import ensure_normals, normalize
    from partlift.render import render

    aug = config.augment
    n_points = int(rng.integers(config.points[0], config.points[1] + 1)) if aug else config.points[1]
    shape = normalize(synthetic.generate(category, shape_seed, n_points=n_points))
    est = ensure_normals(shape.replace(normals=None), workers=1)
    views_rig = list(PARTSLIP_VIEWS)
    size, radius = config.eval_render
    if aug:
        size, radius = config.render_choices[int(rng.integers(len(config.render_choices)))]
        for _ in range(config.extra_views):
            views_rig.append((float(rng.uniform(-30.0, 65.0)), float(rng.uniform(0.0, 360.0))))
        u = rng.random()
        if u < config.p_textured:
            pass
        elif u < config.p_textured + config.p_uncoloured:
            shape = shape.replace(rgb=None)
        else:
            shape = shape.replace(rgb=_recolour(shape, rng))
    cfg = RenderConfig(views=tuple(views_rig), image_size=size, point_radius=radius)
    views = render(shape, cfg, device="cpu")
    x, _ = view_inputs(views, est.normals, config.resolution)
    cls = vocab.point_classes(category, shape.semantic, shape.part_names)
    tgt = view_targets(views, cls, config.resolution)
    rgb = ((x[:, 0:3] + 1.0) * 0.5 * 255.0).round().clamp(0, 255).to(torch.uint8).numpy()
    depth = x[:, 4].numpy().astype(np.float16)
    nrm = (x[:, 5:8] * 127.0).round().clamp(-127, 127).to(torch.int8).numpy()
    return rgb, depth, nrm, tgt.numpy().astype(np.int8)


def render_examples(
    categories: Sequence[str],
    shapes_per_category: int,
    vocab: Vocabulary,
    config: DataConfig,
    *,
    seed: int,
    split: str,
    progress: bool = False,
) -> Examples:
    """Render ``shapes_per_category`` generated shapes of each category into :class:`Examples`.

    Shape ``i`` of category ``c`` uses generator seed ``shape_seed(seed, c, i, split)`` and draws
    its augmentation from ``SeedSequence([seed, i, category id])`` — deterministic, and independent
    of the order in which categories are listed.
    """
    from partlift.data import synthetic

    parts = []
    todo = [(c, i) for c in categories for i in range(shapes_per_category)]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc=f"render {split}", unit="shape", leave=False)
    for n, (cat, i) in enumerate(todo):
        cid = vocab.category_index(cat)
        rng = np.random.default_rng([seed, i, cid, 17])
        arrays = shape_examples(cat, synthetic.shape_seed(seed, cat, i, split), vocab, config, rng)
        v = arrays[0].shape[0]
        parts.append(Examples(*arrays, np.full(v, cid, np.int64), np.full(v, n, np.int64)))
        if bar is not None:
            bar.update(1)
        elif (n + 1) % 20 == 0:
            log.info("rendered %d / %d %s shapes", n + 1, len(todo), split)
    if bar is not None:
        bar.close()
    return Examples.concat(parts)
