"""PartNet-E dataset reader (METHODS §1.5.1).

Two layouts are recognised under ``root``:

* **flat** (e.g. the dev set ``partnete_real_dev``, or ``data/test`` itself)::

      <root>/<Category>/<id>/pc.ply, label.npy [, mesh.glb, face_labels.npy]
      <root>/PartNetE_meta.json   (optional)   <root>/split.json (optional: {"split", "shape_ids"})

* **official** (HF dataset ``minghua/PartSLIP``)::

      <root>/data/<split>/<Category>/<id>/...     split = "test" | "few_shot" | ...
      <root>/split/<split>.txt  (optional id list; "few-shot.txt" for few_shot)
      <root>/PartNetE_meta.json (optional)

Part names come from the root's ``PartNetE_meta.json`` when present, else from the packaged table.
Shapes are addressed by ``"<Category>/<id>"`` and listed sorted by category, then id (numeric ids
in numeric order). Loading a shape is :func:`partlift.io.load_partnete_dir`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from partlift.categories import META_FILENAME, check_category, read_meta_file
from partlift.categories import partnete_meta as packaged_meta
from partlift.errors import InputError, PartliftError, ShapeFileError
from partlift.io import load_partnete_dir
from partlift.types import Shape

__all__ = ["PartNetEDataset", "shape_id_key", "PC_FILE", "DEV_SPLIT_FILE"]

logger = logging.getLogger(__name__)

PC_FILE = "pc.ply"
DEV_SPLIT_FILE = "split.json"
_DATA_DIR = "data"
_SPLIT_DIR = "split"
_DEFAULT_OFFICIAL_SPLIT = "test"
_LAYOUT_HELP = (
    "expected <root>/<Category>/<id>/pc.ply (flat, e.g. the dev set) or "
    "<root>/data/<split>/<Category>/<id>/pc.ply (official PartNet-E release)"
)


def shape_id_key(shape_id: str) -> tuple[str, int, int, str]:
    """Sort key of ``"<Category>/<id>"``: category name, then numeric ids numerically."""
    cat, _, sid = shape_id.partition("/")
    if re.fullmatch(r"\d+", sid):
        return (cat, 0, int(sid), sid)
    return (cat, 1, 0, sid)


def _split_variants(split: str) -> tuple[str, ...]:
    """Spellings of a split name: ``few_shot`` / ``few-shot``."""
    return tuple(dict.fromkeys((split, split.replace("-", "_"), split.replace("_", "-"))))


class PartNetEDataset:
    """The shapes of a PartNet-E root (METHODS §1.5.1).

    Args:
        root: dataset root (flat or official layout, see the module docstring).
        split: flat layout: None = every shape, or a split named by ``<root>/split.json`` or listed
            in ``<root>/split/<split>.txt``. Official layout: the ``data/<split>`` folder
            ("test", "few_shot"/"few-shot", ...); None = "test". When ``split/<split>.txt``
            exists, only the shapes it lists are kept.
        categories: category names to keep (case-sensitive, validated against the meta table);
            default all found.

    Attributes:
        root: the root path. layout: "flat" or "official". split: the split used (or None).
        meta: {category: part names} in use. categories: the sorted categories with shapes.

    Raises:
        InputError: root missing, unknown category or split, or no shapes found.
        ShapeFileError: an unreadable meta or split file, or a split listing missing shapes.
    """

    def __init__(
        self,
        root: str | Path,
        *,
        split: str | None = None,
        categories: Sequence[str] | None = None,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise InputError(f"PartNet-E root {self.root} is not a directory; {_LAYOUT_HELP}")
        meta_path = self.root / META_FILENAME
        self.meta: dict[str, tuple[str, ...]] = (
            read_meta_file(meta_path) if meta_path.is_file() else packaged_meta()
        )
        if split is not None and (not isinstance(split, str) or not split.strip()):
            raise InputError(f"split must be a non-empty string or None, got {split!r}")
        wanted = self._check_categories(categories)

        if (self.root / _DATA_DIR).is_dir() and not self._has_shapes(self.root):
            self.layout = "official"
            self.split, base = self._official_split(split)
        else:
            self.layout = "flat"
            self.split, base = split, self.root
        found = self._discover(base, wanted)
        listed = self._listed_ids(self.split) if self.split is not None else None
        if listed is not None:
            listed = [s for s in listed if wanted is None or s.partition("/")[0] in wanted]
            missing = sorted(set(listed) - set(found), key=shape_id_key)
            if missing:
                raise ShapeFileError(
                    f"split {self.split!r} of {self.root} lists {len(missing)} shape(s) without a "
                    f"{PC_FILE} under {base}, e.g. {missing[:3]}; complete the download or pass "
                    "categories=[...] to read only the categories you have"
                )
            ids = set(listed)
        else:
            ids = set(found)
        if not ids:
            which = f" of categories {sorted(wanted)}" if wanted is not None else ""
            raise InputError(
                f"no PartNet-E shapes{which} found under {base}"
                + (f" for split {self.split!r}" if self.split else "")
                + f"; {_LAYOUT_HELP}"
            )
        self._ids: tuple[str, ...] = tuple(sorted(ids, key=shape_id_key))
        self._dirs = {sid: found[sid] for sid in self._ids}
        self.categories: tuple[str, ...] = tuple(sorted({s.partition("/")[0] for s in self._ids}))
        logger.debug("PartNet-E %s (%s layout, split %s): %d shapes", self.root, self.layout,
                     self.split, len(self._ids))

    # ---- discovery ---------------------------------------------------------------------------

    def _check_categories(self, categories: Sequence[str] | None) -> set[str] | None:
        if categories is None:
            return None
        if isinstance(categories, str):
            categories = [categories]
        cats = list(categories)
        if not cats:
            raise InputError("categories: expected at least one PartNet-E category name, got none")
        return {check_category(c, self.meta) for c in cats}

    @staticmethod
    def _has_shapes(base: Path) -> bool:
        return any(base.glob(f"*/*/{PC_FILE}"))

    def _official_split(self, split: str | None) -> tuple[str, Path]:
        data = self.root / _DATA_DIR
        available = sorted(p.name for p in data.iterdir() if p.is_dir())
        if split is None:
            split = _DEFAULT_OFFICIAL_SPLIT
            logger.info("PartNet-E %s: no split given; using %r", self.root, split)
        for name in _split_variants(split):
            if (data / name).is_dir():
                return name, data / name
        raise InputError(
            f"split {split!r} not found: {data} holds the splits {available}; "
            "pass one of them as split"
        )

    def _discover(self, base: Path, wanted: set[str] | None) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for cat_dir in sorted(p for p in base.iterdir() if p.is_dir()):
            shape_dirs = sorted(p.parent for p in cat_dir.glob(f"*/{PC_FILE}") if p.is_file())
            if not shape_dirs:
                continue
            if cat_dir.name not in self.meta:
                logger.warning(
                    "%s: folder %r holds shapes but is not a category of the meta table; skipped",
                    base, cat_dir.name,
                )
                continue
            if wanted is not None and cat_dir.name not in wanted:
                continue
            for d in shape_dirs:
                found[f"{cat_dir.name}/{d.name}"] = d
        return found

    def _listed_ids(self, split: str) -> list[str] | None:
        """Shape ids of ``split`` from ``split.json`` or ``split/<split>.txt``; None = no list."""
        dev = self.root / DEV_SPLIT_FILE
        if dev.is_file():
            try:
                info = json.loads(dev.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ShapeFileError(f"cannot read {dev} as JSON: {exc}") from exc
            if isinstance(info, Mapping) and info.get("split") in _split_variants(split):
                ids = info.get("shape_ids")
                if not isinstance(ids, list) or not all(isinstance(s, str) for s in ids):
                    raise ShapeFileError(f"{dev}: 'shape_ids' must be a list of 'Category/id'")
                return [self._normalise_entry(s, dev) for s in ids]
        for name in _split_variants(split):
            txt = self.root / _SPLIT_DIR / f"{name}.txt"
            if txt.is_file():
                lines = txt.read_text(encoding="utf-8").splitlines()
                return [self._normalise_entry(s, txt) for s in lines if s.strip()]
        if self.layout == "flat":
            raise InputError(
                f"split {split!r} requested but {self.root} has no {DEV_SPLIT_FILE} for it and no "
                f"{_SPLIT_DIR}/{split}.txt; pass split=None to read every shape"
            )
        return None

    @staticmethod
    def _normalise_entry(entry: str, source: Path) -> str:
        """``"Cat/id"`` from entries like ``Cat/id``, ``Cat id`` or ``data/test/Cat/id``."""
        parts = [p for p in re.split(r"[\\/\s]+", entry.strip()) if p]
        if len(parts) < 2:
            raise ShapeFileError(
                f"{source}: entry {entry!r} is not of the form '<Category>/<id>'"
            )
        return f"{parts[-2]}/{parts[-1]}"

    # ---- access ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[Shape]:
        for sid in self._ids:
            yield self.load(sid)

    def __repr__(self) -> str:
        return (
            f"PartNetEDataset({str(self.root)!r}, layout={self.layout!r}, split={self.split!r}, "
            f"{len(self._ids)} shapes in {len(self.categories)} categories)"
        )

    def shape_ids(self, category: str | None = None) -> tuple[str, ...]:
        """Shape ids ``"<Category>/<id>"``, sorted (optionally of one category only)."""
        if category is None:
            return self._ids
        check_category(category, self.meta)
        return tuple(s for s in self._ids if s.partition("/")[0] == category)

    def part_names(self, category: str) -> tuple[str, ...]:
        """Ordered part names of ``category`` in this dataset's meta table (index = label id)."""
        return self.meta[check_category(category, self.meta)]

    def path(self, shape_id: str) -> Path:
        """The folder of ``shape_id``."""
        if not isinstance(shape_id, str) or shape_id not in self._dirs:
            cat = shape_id.partition("/")[0] if isinstance(shape_id, str) else ""
            same = [s for s in self._ids if s.startswith(f"{cat}/")][:5]
            hint = f"; ids of {cat}: {same}" if same else f"; e.g. {list(self._ids[:3])}"
            raise InputError(
                f"unknown shape id {shape_id!r} in {self.root} ({len(self._ids)} shapes, "
                f"expected '<Category>/<id>'){hint}"
            )
        return self._dirs[shape_id]

    def load(self, shape_id: str, *, with_mesh: bool = False) -> Shape:
        """Read shape ``shape_id`` (METHODS §1.5.1).

        Returns:
            Shape with xyz (N, 3) float32 (object frame), rgb (N, 3) float32, semantic and
            instance (N,) int64 (-1 = none; instance None when ``label.npy`` has no
            ``instance_seg``), ``category``, ``part_names`` from this dataset's
            meta, ``name = shape_id``; with ``with_mesh`` also the mesh and per-face labels.

        Raises:
            InputError: unknown shape id.
            ShapeFileError: unreadable or malformed files (the message names the shape id).
        """
        shape_dir = self.path(shape_id)
        try:
            shape = load_partnete_dir(shape_dir, with_mesh=with_mesh, meta=self.meta)
        except PartliftError as exc:
            raise type(exc)(f"shape {shape_id}: {exc}") from exc
        if shape.semantic is None:
            raise ShapeFileError(
                f"shape {shape_id}: no label.npy in {shape_dir}; a PartNet-E shape folder holds "
                "pc.ply and label.npy (dict 'semantic_seg', 'instance_seg')"
            )
        if shape.name != shape_id:
            shape = shape.replace(name=shape_id)
        return shape

    def iter_shapes(
        self, *, with_mesh: bool = False, ids: Iterable[str] | None = None
    ) -> Iterator[Shape]:
        """Load shapes in id order (or in the order of ``ids``)."""
        for sid in self._ids if ids is None else ids:
            yield self.load(sid, with_mesh=with_mesh)
