"""Registry of category generators, seed derivation, and the public generate functions.

A category generator is a function ``build(asm: Assembly, rng: np.random.Generator) -> None``
that adds labelled pieces to ``asm``. The registry maps each PartNet-E category to its builder
as ``"module:function"`` (a plain dict; a module is imported when its category is first used).

Seeds: a shape is fully determined by ``(category, seed)``. Collections derive one seed per shape
from ``(base seed, category, split, index)`` with :func:`shape_seed`, so the shapes of different
splits ("test", "shots", "collection", ...) come from independent streams.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable, Iterator

import numpy as np

from partlift.data.meta import part_names as meta_part_names
from partlift.data.synthetic.assembly import Assembly, LabelledMesh
from partlift.data.synthetic.restyle import REALISM_VERSIONS, check_realism
from partlift.errors import InputError
from partlift.types import Shape

__all__ = [
    "DEFAULT_POINTS",
    "REALISM_VERSIONS",
    "SPLITS",
    "list_categories",
    "category_parts",
    "shape_seed",
    "shape_id",
    "generate_mesh",
    "generate",
    "generate_collection",
    "iter_collection",
]

DEFAULT_POINTS = 30_000
"""Points per generated shape when the caller does not say."""

SPLITS: tuple[str, ...] = ("collection", "shots", "test", "val")
"""Conventional split names mixed into :func:`shape_seed` (any non-empty string is accepted)."""

# category -> "module:function" (relative to partlift.data.synthetic)
_GENERATORS: dict[str, str] = {
    "Bottle": "containers:bottle",
    "Box": "containers:storage_box",
    "Bucket": "containers:bucket",
    "Chair": "chairs:chair",
    "Dishwasher": "appliances:dishwasher",
    "Display": "electronics:display",
    "Door": "fixtures:door",
    "Eyeglasses": "accessories:eyeglasses",
    "Faucet": "fixtures:faucet",
    "Kettle": "containers:kettle",
    "KitchenPot": "containers:kitchen_pot",
    "Lamp": "fixtures:lamp",
    "Laptop": "electronics:laptop",
    "Microwave": "appliances:microwave",
    "Oven": "appliances:oven",
    "Refrigerator": "electronics:refrigerator",
    "StorageFurniture": "furniture:storage_furniture",
    "Suitcase": "accessories:suitcase",
    "Table": "furniture:table",
    "TrashCan": "containers:trash_can",
    "WashingMachine": "appliances:washing_machine",
    # added for full PartNet-E coverage (issue 14); own modules, so the 21 above stay unchanged
    "Knife": "tools:knife",
    "Lighter": "tools:lighter",
    "Pen": "tools:pen",
    "Pliers": "tools:pliers",
    "Scissors": "tools:scissors",
    "Stapler": "tools:stapler",
    "USB": "tools:usb",
    "Camera": "gadgets:camera",
    "Clock": "gadgets:clock",
    "Globe": "gadgets:globe",
    "Keyboard": "gadgets:keyboard",
    "Mouse": "gadgets:mouse",
    "Phone": "gadgets:phone",
    "Printer": "gadgets:printer",
    "Remote": "gadgets:remote",
    "Cart": "household:cart",
    "CoffeeMachine": "household:coffee_machine",
    "Dispenser": "household:dispenser",
    "FoldingChair": "household:folding_chair",
    "Safe": "household:safe",
    "Switch": "household:switch",
    "Toaster": "household:toaster",
    "Toilet": "household:toilet",
    "Window": "household:window",
}


def list_categories() -> list[str]:
    """The PartNet-E categories the generator knows, sorted."""
    return sorted(_GENERATORS)


def _check_category(category: object) -> str:
    if not isinstance(category, str) or category not in _GENERATORS:
        raise InputError(
            f"synthetic: unknown category {category!r}; the generator knows "
            f"{', '.join(list_categories())} (case-sensitive)"
        )
    return category


def category_parts(category: str) -> tuple[str, ...]:
    """The PartNet-E part names of a generated category (index = semantic label id)."""
    return meta_part_names(_check_category(category))


def _builder(category: str) -> Callable[[Assembly, np.random.Generator], None]:
    module, func = _GENERATORS[category].split(":")
    return getattr(importlib.import_module(f"partlift.data.synthetic.{module}"), func)


def _check_seed(seed: object, what: str = "seed") -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"synthetic: {what} must be a non-negative integer, got {seed!r}")
    return int(seed)


def _text_key(text: str) -> int:
    """A stable 64-bit integer of ``text`` (Python's ``hash`` is salted per process)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def shape_seed(seed: int, category: str, index: int, split: str = "collection") -> int:
    """The seed of shape ``index`` of ``category`` in ``split`` of a collection with base ``seed``.

    Derived with ``np.random.SeedSequence(seed, spawn_key=(category, split, index))``, so that
    different splits, categories or indices give independent 63-bit seeds (equal only by a
    ~2^-63 chance). Use distinct ``split`` names ("test", "shots", "collection") for sets that
    must not share shapes.
    """
    seed = _check_seed(seed)
    index = _check_seed(index, "index")
    _check_category(category)
    if not isinstance(split, str) or not split:
        raise InputError(f"synthetic: split must be a non-empty string such as {SPLITS}, got {split!r}")
    ss = np.random.SeedSequence(seed, spawn_key=(_text_key(category), _text_key(split), index))
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def shape_id(seed: int) -> str:
    """The folder / name id of the shape generated from ``seed``: ``"synth_<seed>"``."""
    return f"synth_{_check_seed(seed)}"


def _streams(seed: int) -> tuple[np.random.Generator, int]:
    """Independent (geometry generator, sampling seed) for a shape seed."""
    geo, smp = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(geo), int(smp.generate_state(1, np.uint32)[0])


def _restyle_rng(seed: int) -> np.random.Generator:
    """The realism-v2 stream of a shape seed (a third child, independent of :func:`_streams`)."""
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(3)[2])


def generate_mesh(category: str, seed: int, *, realism: str = "v1") -> LabelledMesh:
    """One textured, part-labelled mesh of ``category`` from ``seed`` (deterministic).

    ``realism``: ``"v1"`` (default; the shapes the benchmark tables were measured on) or
    ``"v2"`` (the same geometry and labels plus interiors, bevels and realistic materials,
    :mod:`partlift.data.synthetic.restyle`).

    Returns:
        :class:`LabelledMesh` in the object frame (+Y up, metres, on y = 0), named
        ``"<category>/synth_<seed>"``.

    Raises:
        InputError: unknown category or realism version, a negative / non-integer seed.
    """
    category = _check_category(category)
    seed = _check_seed(seed)
    realism = check_realism(realism)
    rng, _ = _streams(seed)
    asm = Assembly(category, rng)
    _builder(category)(asm, rng)
    if realism == "v2":
        asm.restyle(_restyle_rng(seed))
    return asm.build(f"{category}/{shape_id(seed)}")


def _sample(lm: LabelledMesh, n_points: int, seed: int) -> Shape:
    from partlift.io.mesh import sample_mesh

    xyz, rgb, normals, face_index = sample_mesh(lm.mesh, n_points, seed)
    return Shape(
        xyz=xyz,
        rgb=rgb,
        normals=normals,
        semantic=lm.face_semantic[face_index],
        instance=lm.face_instance[face_index],
        part_names=lm.part_names,
        category=lm.category,
        name=lm.name,
        mesh=lm.mesh,
        face_index=face_index,
        face_semantic=lm.face_semantic,
        face_instance=lm.face_instance,
    )


def _check_points(n_points: object) -> int:
    if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 1:
        raise InputError(f"synthetic: n_points must be a positive integer, got {n_points!r}")
    return int(n_points)


def generate(category: str, seed: int, *, n_points: int = DEFAULT_POINTS, realism: str = "v1") -> Shape:
    """One generated shape: the mesh of :func:`generate_mesh` sampled to a labelled cloud.

    Returns:
        :class:`~partlift.types.Shape` with ``xyz`` (N, 3) float32 (object frame, not
        normalised), ``rgb`` (N, 3) float32 texture colours, ``normals`` (N, 3) float32 face
        normals, ``semantic``/``instance`` (N,) int64 (-1 = no named part), ``part_names`` (the
        category's PartNet-E names), ``mesh``, ``face_index`` and per-face labels.
    """
    n_points = _check_points(n_points)
    lm = generate_mesh(category, seed, realism=realism)
    _, sample_seed = _streams(int(seed))
    return _sample(lm, n_points, sample_seed)


def iter_collection(
    category: str,
    count: int,
    seed: int = 0,
    *,
    n_points: int = DEFAULT_POINTS,
    split: str = "collection",
    realism: str = "v1",
) -> Iterator[Shape]:
    """Yield ``count`` shapes of ``category``; shape ``i`` uses :func:`shape_seed` (seed, category, i, split)."""
    count = _check_seed(count, "count")
    n_points = _check_points(n_points)
    check_realism(realism)
    for i in range(count):
        yield generate(category, shape_seed(seed, category, i, split), n_points=n_points, realism=realism)


def generate_collection(
    category: str,
    count: int,
    seed: int = 0,
    *,
    n_points: int = DEFAULT_POINTS,
    split: str = "collection",
    realism: str = "v1",
) -> list[Shape]:
    """The list of :func:`iter_collection`'s shapes."""
    return list(iter_collection(category, count, seed, n_points=n_points, split=split, realism=realism))
