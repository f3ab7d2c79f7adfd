"""Procedural part-labelled shapes for PartNet-E categories (DESIGN §3 "Datasets", METHODS §4.8).

Seeded generators build textured meshes with per-face PartNet-E part labels and instance ids,
sampled to coloured, labelled point clouds; :func:`export_partnete` writes them in the PartNet-E
layout so every reader treats generated and real shapes alike.

Example::

    from partlift.data import synthetic
    shape = synthetic.generate("Chair", seed=0, n_points=30000)
    shape.part_names        # ('arm', 'back', 'leg', 'seat', 'wheel'): PartNet-E's, in its order
    shots = synthetic.generate_collection("Chair", 8, seed=0, split="shots")
    synthetic.export_partnete(shots, "out/synthetic")  # out/synthetic/Chair/synth_<seed>/pc.ply ...

Modules: :mod:`.primitives` (mesh building blocks), :mod:`.materials` (colours, textures),
:mod:`.components` (handles, casters), :mod:`.assembly` (labelled, textured mesh), one module per
group of categories (:mod:`.chairs`, :mod:`.furniture`, :mod:`.containers`, :mod:`.electronics`,
:mod:`.appliances`, :mod:`.fixtures`, :mod:`.accessories`), :mod:`.generator` (registry, seeds),
:mod:`.export` and :mod:`.preview` (speed rig: :mod:`partlift.bench.speed.synth`).
"""

from __future__ import annotations

from partlift.data.synthetic.assembly import LabelledMesh
from partlift.data.synthetic.export import export_partnete
from partlift.data.synthetic.generator import (
    DEFAULT_POINTS,
    REALISM_VERSIONS,
    SPLITS,
    category_parts,
    generate,
    generate_collection,
    generate_mesh,
    iter_collection,
    list_categories,
    shape_id,
    shape_seed,
)

__all__ = [
    "DEFAULT_POINTS",
    "REALISM_VERSIONS",
    "SPLITS",
    "LabelledMesh",
    "category_parts",
    "export_partnete",
    "generate",
    "generate_collection",
    "generate_mesh",
    "iter_collection",
    "list_categories",
    "shape_id",
    "shape_seed",
]
