"""Shape sets of a benchmark: the test shapes, the few-shot shapes and the collections.

A :class:`ShapeSet` lists shape ids per category, loads shapes and can be rebuilt from a JSON
``spec`` (so that Ray workers load shapes themselves). Three kinds:

* ``partnete`` — any PartNet-E-layout folder (flat or official, :class:`PartNetEDataset`); the
  categories and part names come from the folder's ``PartNetE_meta.json``.
* ``shapenetpart`` — the normal-format ShapeNetPart release (:class:`ShapeNetPartDataset`).
* ``synthetic`` — procedurally generated shapes (:mod:`partlift.data.synthetic`). Test, few-shot
  and collection shapes use the split names ``test``, ``shots`` and ``collection`` in the seed
  derivation, so they never coincide.

Few-shot and collection sources are given as strings (``--shots``/``--collection``): a folder,
``synthetic:N`` (N generated shapes per category) or ``root:K`` (K shapes per category taken from
the test root — the first K in id order — and excluded from evaluation). A source that has nothing
for a category gives a reason string instead of a set; the method that needs it is then skipped
for that category and the reason lands in the report.

Evaluation protocols: PartNet-E and synthetic shapes use METHODS §1.6.1-1.6.2 on every point;
ShapeNetPart uses §1.6.3 on a seeded 2048-point subsample of each test shape.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from partlift.bench.settings import BenchSettings, parse_source_spec
from partlift.errors import InputError
from partlift.keys import seed_of
from partlift.types import Shape

__all__ = [
    "ShapeSet",
    "PartNetESet",
    "ShapeNetPartSet",
    "SyntheticSet",
    "SHAPENETPART_EVAL_POINTS",
    "shape_set_from_spec",
    "build_test_set",
    "shared_shapes",
    "shots_for",
    "collection_for",
    "eval_index",
    "protocol_of",
]

logger = logging.getLogger(__name__)

SHAPENETPART_EVAL_POINTS = 2048
"""METHODS §1.6.3: ShapeNetPart mIoU is measured on a 2048-point subsample of each test shape."""

_SYNTH_ID = re.compile(r"^synth_(\d+)$")


class ShapeSet(Protocol):
    """What the benchmark needs from a set of shapes."""

    kind: str
    role: str

    def categories(self) -> tuple[str, ...]: ...
    def part_names(self, category: str) -> tuple[str, ...]: ...
    def ids(self, category: str) -> tuple[str, ...]: ...
    def load(self, shape_id: str) -> Shape: ...
    def spec(self) -> dict[str, Any]: ...


def _cat(shape_id: str) -> str:
    return shape_id.partition("/")[0]


def _pick(ids: Sequence[str], exclude: frozenset[str], take: int | None, limit: int | None) -> tuple[str, ...]:
    """Ids in order: the first ``take`` ones (shots), else the rest minus ``exclude``, cut at ``limit``."""
    if take is not None:
        return tuple(ids[:take])
    kept = [s for s in ids if s not in exclude]
    return tuple(kept if limit is None else kept[:limit])


class _FolderSet:
    """Shapes of a dataset folder (the shared part of :class:`PartNetESet` and :class:`ShapeNetPartSet`).

    Args:
        root: the folder.
        split: the split to read (its meaning is the dataset reader's).
        categories: categories to keep (default all found).
        exclude: shape ids left out (few-shot shapes taken from the same root).
        take: keep only the first ``take`` ids per category (the ``root:K`` few-shot shapes).
        limit: at most this many ids per category (after ``exclude``).
        role: "test", "shots" or "collection" (for messages).
    """

    kind = ""

    def __init__(self, root: str | Path, *, split: str | None = None, categories: Sequence[str] | None = None,
                 exclude: Sequence[str] = (), take: int | None = None, limit: int | None = None,
                 role: str = "test") -> None:
        self.root, self.split, self.role = str(root), split, role
        self._cats_arg = None if categories is None else tuple(categories)
        self._exclude = tuple(sorted(exclude))
        self._take, self._limit = take, limit
        self.dataset = self._open()
        ex = frozenset(self._exclude)
        ids = {c: _pick(v, ex, take, limit) for c, v in self._ids_by_category().items()}
        self._ids = {c: v for c, v in ids.items() if v}

    def _open(self) -> Any:
        """The dataset reader of ``self.root`` / ``self.split`` / ``self._cats_arg``."""
        raise NotImplementedError

    def _ids_by_category(self) -> dict[str, Sequence[str]]:
        """Every shape id of the reader per category, in id order (before take / exclude / limit)."""
        raise NotImplementedError

    def categories(self) -> tuple[str, ...]:
        """Categories with at least one shape, sorted."""
        return tuple(sorted(self._ids))

    def part_names(self, category: str) -> tuple[str, ...]:
        """Part names of ``category`` from the dataset's meta data (index = label id)."""
        return self.dataset.part_names(category)

    def ids(self, category: str) -> tuple[str, ...]:
        """Shape ids ``"<Category>/<id>"`` of ``category``, in id order."""
        return self._ids.get(category, ())

    def load(self, shape_id: str) -> Shape:
        """The labelled shape ``shape_id``."""
        return self.dataset.load(shape_id)

    def spec(self) -> dict[str, Any]:
        """JSON description that :func:`shape_set_from_spec` turns back into this set."""
        return {"kind": self.kind, "root": self.root, "split": self.split, "role": self.role,
                "categories": None if self._cats_arg is None else list(self._cats_arg),
                "exclude": list(self._exclude), "take": self._take, "limit": self._limit}


class PartNetESet(_FolderSet):
    """Shapes of a PartNet-E-layout folder.

    Args:
        root: the folder (flat ``<root>/<Category>/<id>`` or official ``<root>/data/<split>``).
        split: the split to read (see :class:`~partlift.data.partnete.PartNetEDataset`).
        categories, exclude, take, limit, role: as :class:`_FolderSet`. Categories and part
            names come from the folder's ``PartNetE_meta.json``.
    """

    kind = "partnete"

    def _open(self) -> Any:
        from partlift.data.partnete import PartNetEDataset

        return PartNetEDataset(self.root, split=self.split, categories=self._cats_arg)

    def _ids_by_category(self) -> dict[str, Sequence[str]]:
        return {c: self.dataset.shape_ids(c) for c in self.dataset.categories}


class ShapeNetPartSet(_FolderSet):
    """Shapes of a ShapeNetPart release (normal ``.txt`` format); args as :class:`_FolderSet`."""

    kind = "shapenetpart"

    def _open(self) -> Any:
        from partlift.data.shapenetpart import ShapeNetPartDataset

        return ShapeNetPartDataset(self.root, split=self.split, categories=self._cats_arg)

    def _ids_by_category(self) -> dict[str, Sequence[str]]:
        by_cat: dict[str, list[str]] = {}
        for sid in self.dataset.shape_ids():
            by_cat.setdefault(_cat(sid), []).append(sid)
        return by_cat


class SyntheticSet:
    """Generated shapes: ``count`` per category, seeds from ``shape_seed(seed, category, i, split)``.

    Args:
        categories: generator categories (:func:`partlift.data.synthetic.list_categories`).
        count: shapes per category.
        seed: base seed of the collection.
        points: points per shape.
        split: seed stream ("test", "shots", "collection", "val"); different splits never share
            shapes.
        role: "test", "shots" or "collection" (for messages).
    """

    kind = "synthetic"

    def __init__(self, categories: Sequence[str], count: int, *, seed: int = 0, points: int = 30_000,
                 split: str = "test", role: str = "test") -> None:
        from partlift.data import synthetic

        known = set(synthetic.list_categories())
        bad = [c for c in categories if c not in known]
        if bad:
            raise InputError(
                f"synthetic: cannot generate {bad}; the generator knows {', '.join(sorted(known))}"
            )
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InputError(f"synthetic: count must be a positive integer, got {count!r}")
        self._cats = tuple(sorted(dict.fromkeys(categories)))
        self.count, self.seed, self.points, self.split, self.role = count, int(seed), int(points), split, role
        self._ids = {
            c: tuple(f"{c}/{synthetic.shape_id(synthetic.shape_seed(self.seed, c, i, split))}" for i in range(count))
            for c in self._cats
        }

    def categories(self) -> tuple[str, ...]:
        return self._cats

    def part_names(self, category: str) -> tuple[str, ...]:
        from partlift.data import synthetic

        return synthetic.category_parts(category)

    def ids(self, category: str) -> tuple[str, ...]:
        return self._ids.get(category, ())

    def load(self, shape_id: str) -> Shape:
        """Generate shape ``"<Category>/synth_<seed>"`` (deterministic)."""
        from partlift.data import synthetic

        cat, _, name = shape_id.partition("/")
        m = _SYNTH_ID.match(name)
        if cat not in self._ids or m is None:
            raise InputError(f"synthetic: unknown shape id {shape_id!r}; expected '<Category>/synth_<seed>'")
        shape = synthetic.generate(cat, int(m.group(1)), n_points=self.points)
        return shape if shape.name == shape_id else shape.replace(name=shape_id)

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "categories": list(self._cats), "count": self.count, "seed": self.seed,
                "points": self.points, "split": self.split, "role": self.role}


def shape_set_from_spec(spec: dict[str, Any]) -> ShapeSet:
    """Rebuild a :class:`ShapeSet` from its :meth:`spec` (e.g. in a Ray worker)."""
    kw = dict(spec)
    kind = kw.pop("kind", None)
    if kind == "partnete":
        return PartNetESet(kw.pop("root"), **kw)
    if kind == "shapenetpart":
        return ShapeNetPartSet(kw.pop("root"), **kw)
    if kind == "synthetic":
        return SyntheticSet(kw.pop("categories"), kw.pop("count"), **kw)
    raise InputError(f"unknown shape-set kind {kind!r}; expected partnete, shapenetpart or synthetic")


# ------------------------------------------------------------------------------- builders


def _official_partnete(root: Path) -> bool:
    return (root / "data").is_dir()


def _shapenetpart_has_split(root: Path, split: str) -> bool:
    name = f"shuffled_{split}_file_list.json"
    return (root / name).is_file() or (root / "train_test_split" / name).is_file()


def _test_split(settings: BenchSettings) -> str | None:
    if settings.split is not None:
        return settings.split
    if settings.dataset == "shapenetpart" and _shapenetpart_has_split(Path(settings.root or ""), "test"):
        return "test"
    return None  # PartNet-E: "test" by default in the official layout, every shape in a flat one


def _root_shots(settings: BenchSettings) -> tuple[ShapeSet | None, dict[str, str]]:
    """The ``root:K`` few-shot shapes of every category that has more than K shapes."""
    spec = parse_source_spec(settings.shots, "--shots")
    if spec is None or spec[0] != "root":
        return None, {}
    k = int(spec[1])
    cls = PartNetESet if settings.dataset == "partnete" else ShapeNetPartSet
    full = cls(settings.root, split=_test_split(settings), categories=settings.categories)
    reasons: dict[str, str] = {}
    cats = []
    for c in full.categories():
        n = len(full.ids(c))
        if n <= k:
            reasons[c] = (f"--shots root:{k}: {c} has only {n} shape(s) in {settings.root}; taking {k} "
                          "would leave no test shape, so none were taken")
        else:
            cats.append(c)
    if not cats:
        return None, reasons
    shots = cls(settings.root, split=_test_split(settings), categories=cats, take=k, role="shots")
    return shots, reasons


def build_test_set(settings: BenchSettings) -> tuple[ShapeSet, ShapeSet | None, dict[str, str]]:
    """The test shapes of a run, the ``root:K`` few-shot shapes taken out of them, and reasons.

    Returns:
        (test set, root few-shot set or None, {category: why no root shots were taken}).

    Raises:
        InputError: a missing root, no shapes, or an unknown category.
    """
    if settings.dataset == "synthetic":
        spec = parse_source_spec(settings.shots, "--shots")
        if spec is not None and spec[0] == "root":
            raise InputError("--dataset synthetic has no root to take few-shot shapes from; "
                             "use --shots synthetic:N")
        test = SyntheticSet(settings.categories or (), settings.test_count or 3, seed=settings.seed,
                            points=settings.points, split="test")
        return test, None, {}
    shots, reasons = _root_shots(settings)
    exclude = [s for c in shots.categories() for s in shots.ids(c)] if shots is not None else []
    cls = PartNetESet if settings.dataset == "partnete" else ShapeNetPartSet
    test = cls(settings.root, split=_test_split(settings), categories=settings.categories,
               exclude=exclude, limit=settings.count)
    return test, shots, reasons


def _generated(category: str, n: int, settings: BenchSettings, split: str, role: str) -> ShapeSet | str:
    from partlift.data import synthetic

    if category not in synthetic.list_categories():
        return (f"the generator cannot make {category} shapes (it knows "
                f"{', '.join(synthetic.list_categories())}), so 'synthetic:{n}' has none")
    return SyntheticSet([category], n, seed=settings.seed, points=settings.points, split=split, role=role)


def _folder(path: str, category: str, settings: BenchSettings, role: str, split: str | None) -> ShapeSet | str:
    root = Path(path)
    if not root.is_dir():
        return f"{role} folder {root} does not exist"
    try:
        if settings.dataset == "shapenetpart":
            sp = split if split and _shapenetpart_has_split(root, split) else None
            s: ShapeSet = ShapeNetPartSet(root, split=sp, categories=[category], role=role)
        else:
            sp = "few_shot" if _official_partnete(root) else None
            s = PartNetESet(root, split=sp, categories=[category], role=role)
    except InputError as exc:
        return f"no {role} shapes of {category} in {root}: {' '.join(str(exc).split())}"
    return s if s.ids(category) else f"no {role} shapes of {category} in {root}"


def shots_for(category: str, settings: BenchSettings, root_shots: ShapeSet | None,
              root_reasons: dict[str, str]) -> ShapeSet | str:
    """The few-shot (labelled) shapes of ``category``, or the reason there are none."""
    spec = parse_source_spec(settings.shots, "--shots")
    if spec is None:
        return "no few-shot source: pass --shots DIR, --shots synthetic:N or --shots root:K"
    kind, value = spec
    if kind == "synthetic":
        return _generated(category, int(value), settings, "shots", "shots")
    if kind == "root":
        if category in root_reasons:
            return root_reasons[category]
        if root_shots is None or not root_shots.ids(category):
            return f"--shots root:{value}: no shapes of {category} to take"
        return root_shots
    return _folder(str(value), category, settings, "few-shot", "train" if settings.dataset == "shapenetpart" else "few_shot")


def collection_for(category: str, settings: BenchSettings, root_shots: ShapeSet | None) -> ShapeSet | str:
    """The unlabelled collection for PartDistill pre-alignment of ``category``, or why there is none.

    Labels of collection shapes are used only by the simulated teacher (which renders ground
    truth); the student never sees them.
    """
    spec = parse_source_spec(settings.collection, "--collection")
    if spec is None:
        return "no collection: pass --collection synthetic:N, root:K or a folder"
    kind, value = spec
    if kind == "synthetic":
        return _generated(category, int(value), settings, "collection", "collection")
    if kind == "root":
        if settings.dataset == "shapenetpart":
            root = Path(settings.root or "")
            if not _shapenetpart_has_split(root, "train"):
                return f"--collection root:{value}: {root} has no train split file"
            try:
                return ShapeNetPartSet(root, split="train", categories=[category], take=int(value), role="collection")
            except InputError as exc:
                return f"--collection root:{value}: {' '.join(str(exc).split())}"
        if root_shots is not None and root_shots.ids(category):
            return root_shots
        return (f"--collection root:{value}: PartNet-E has no train split (METHODS §4.1) and no "
                f"--shots root:K shapes of {category} were taken; use --collection synthetic:N")
    return _folder(str(value), category, settings, "collection", "train" if settings.dataset == "shapenetpart" else None)


def shared_shapes(a: ShapeSet, b: ShapeSet, category: str) -> list[str]:
    """Ids of ``category`` that both sets hold (same kind, same folder or same generated stream)."""
    if a.kind != b.kind:
        return []
    sa, sb = a.spec(), b.spec()
    if a.kind == "synthetic":
        same = True  # a generated id names its seed: equal ids are the same shape
    else:
        same = Path(sa["root"]).resolve() == Path(sb["root"]).resolve()
    return sorted(set(a.ids(category)) & set(b.ids(category))) if same else []


# ------------------------------------------------------------------------------- evaluation


def protocol_of(kind: str) -> str:
    """The metric protocol of a set kind: "partnete" (§1.6.1-2) or "shapenetpart" (§1.6.3)."""
    return "shapenetpart" if kind == "shapenetpart" else "partnete"


def eval_index(shape_id: str, n_points: int, protocol: str) -> np.ndarray | None:
    """Indices of the points a shape is scored on: None = all; ShapeNetPart: a seeded subsample.

    The ShapeNetPart subsample draws :data:`SHAPENETPART_EVAL_POINTS` points without replacement
    (all points, sorted, when the shape has fewer) with a seed derived from the shape id, so it
    is the same in every run and every process.
    """
    if protocol != "shapenetpart" or n_points <= SHAPENETPART_EVAL_POINTS:
        return None
    rng = np.random.default_rng(seed_of(shape_id))
    return np.sort(rng.choice(n_points, SHAPENETPART_EVAL_POINTS, replace=False))
