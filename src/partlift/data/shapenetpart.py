"""ShapeNetPart readers (METHODS §1.5.2): the "normal" ``.txt`` release and the PointNet ``.h5``.

* ``.txt``: ``<root>/<synset>/<model_id>.txt``, one point per line ``x y z nx ny nz part_id`` with
  the *global* part id 0-49; split files ``shuffled_{train,val,test}_file_list.json`` (at the root
  or in ``<root>/train_test_split/``) list entries ``shape_data/<synset>/<model_id>``.
* ``.h5``: ``data`` (B, 2048, 3) float, ``label`` (B, 1) category index 0-15, ``pid`` (B, 2048)
  global part id.

Global part ids are turned into per-category local ids (global minus the category's offset), so
``Shape.semantic`` indexes ``Shape.part_names``. ShapeNetPart has no colour, every point has a
part (no -1) and there are no instance labels (``Shape.instance`` is None).

Lamp keeps its 4 standard parts (ids 24-27), as the evaluator iterates over 4 (METHODS §4.10
notes PartDistill's student uses 2).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from partlift.categories import check_category
from partlift.errors import InputError, ShapeFileError
from partlift.types import Shape

__all__ = [
    "ShapeNetPartCategory",
    "SHAPENETPART_CATEGORIES",
    "SHAPENETPART_SPLITS",
    "N_GLOBAL_PARTS",
    "shapenetpart_categories",
    "shapenetpart_category",
    "category_of_synset",
    "global_to_local",
    "load_shapenetpart_txt",
    "load_shapenetpart_h5",
    "ShapeNetPartDataset",
]


@dataclass(frozen=True)
class ShapeNetPartCategory:
    """One ShapeNetPart category.

    Attributes:
        name: category name, e.g. "Chair".
        synset: ShapeNet synset id (directory name), e.g. "03001627".
        offset: global part id of the category's first part; local id = global id - offset.
        parts: part names in local id order.
        index: category label 0-15 (the ``.h5`` ``label``), alphabetical order.
    """

    name: str
    synset: str
    offset: int
    parts: tuple[str, ...]
    index: int

    @property
    def global_ids(self) -> range:
        """The category's global part ids."""
        return range(self.offset, self.offset + len(self.parts))


# METHODS §1.5.2: category, synset, global part-id offset, part names in id order. The row order
# is the category label 0-15 of the .h5 release.
SHAPENETPART_CATEGORIES: tuple[ShapeNetPartCategory, ...] = tuple(
    ShapeNetPartCategory(name, synset, offset, parts, index)
    for index, (name, synset, offset, parts) in enumerate(
        (
            ("Airplane", "02691156", 0, ("body", "wing", "tail", "engine")),
            ("Bag", "02773838", 4, ("handle", "body")),
            ("Cap", "02954340", 6, ("panels", "peak")),
            ("Car", "02958343", 8, ("roof", "hood", "wheel", "body")),
            ("Chair", "03001627", 12, ("back", "seat", "leg", "arm")),
            ("Earphone", "03261776", 16, ("earcup", "headband", "data wire")),
            ("Guitar", "03467517", 19, ("head", "neck", "body")),
            ("Knife", "03624134", 22, ("blade", "handle")),
            ("Lamp", "03636649", 24, ("base", "lampshade", "canopy", "tube")),
            ("Laptop", "03642806", 28, ("keyboard", "screen")),
            ("Motorbike", "03790512", 30, ("gas tank", "seat", "wheel", "handle", "light", "frame")),
            ("Mug", "03797390", 36, ("handle", "cup")),
            ("Pistol", "03948459", 38, ("barrel", "handle", "trigger")),
            ("Rocket", "04099429", 41, ("body", "fin", "nose")),
            ("Skateboard", "04225987", 44, ("wheel", "deck", "belt")),
            ("Table", "04379243", 47, ("desktop", "leg", "drawer")),
        )
    )
)

N_GLOBAL_PARTS = 50
SHAPENETPART_SPLITS: tuple[str, ...] = ("train", "val", "test")
_SPLIT_FILE = "shuffled_{split}_file_list.json"
_SPLIT_DIRS: tuple[str, ...] = (".", "train_test_split")
_TXT_COLUMNS = 7


def _by_name() -> dict[str, ShapeNetPartCategory]:
    return {c.name: c for c in SHAPENETPART_CATEGORIES}


def shapenetpart_categories() -> tuple[str, ...]:
    """The 16 category names, sorted."""
    return tuple(sorted(c.name for c in SHAPENETPART_CATEGORIES))


def shapenetpart_category(name: str) -> ShapeNetPartCategory:
    """The table row of category ``name`` (e.g. "Chair").

    Raises:
        InputError: unknown name; the message lists close matches and the 16 valid names.
    """
    table = _by_name()
    return table[check_category(name, table, dataset="ShapeNetPart")]


def category_of_synset(synset: str) -> ShapeNetPartCategory:
    """The table row of ShapeNet synset ``synset`` (e.g. "03001627").

    Raises:
        InputError: not one of the 16 ShapeNetPart synsets.
    """
    for c in SHAPENETPART_CATEGORIES:
        if c.synset == synset:
            return c
    valid = ", ".join(f"{c.synset} ({c.name})" for c in SHAPENETPART_CATEGORIES)
    raise InputError(f"{synset!r} is not a ShapeNetPart synset; valid: {valid}")


def _category_of_global(pid: np.ndarray, where: str) -> ShapeNetPartCategory:
    lo, hi = int(pid.min()), int(pid.max())
    for c in SHAPENETPART_CATEGORIES:
        if c.offset <= lo and hi < c.offset + len(c.parts):
            return c
    raise ShapeFileError(
        f"{where}: global part ids span [{lo}, {hi}], which is not within one category's range; "
        "ShapeNetPart shapes hold the ids of one category only (METHODS §1.5.2)"
    )


def global_to_local(pid: np.ndarray, category: str, *, where: str = "labels") -> np.ndarray:
    """Map global part ids (0-49) of one category to local ids 0..n_parts-1.

    Args:
        pid: (N,) int global part ids.
        category: category name.
        where: the file or array name used in error messages.

    Returns:
        (N,) int64 local ids.

    Raises:
        ShapeFileError: an id outside the category's range.
    """
    cat = shapenetpart_category(category)
    pid = np.asarray(pid)
    if pid.ndim != 1 or pid.dtype.kind not in "iu":
        raise InputError(f"{where}: expected (N,) integer part ids, got {pid.dtype} {pid.shape}")
    local = pid.astype(np.int64) - cat.offset
    bad = (local < 0) | (local >= len(cat.parts))
    if bad.any():
        raise ShapeFileError(
            f"{where}: {int(bad.sum())} part id(s) (e.g. {int(pid[bad][0])}) are outside "
            f"{cat.name}'s global ids {cat.offset}-{cat.offset + len(cat.parts) - 1}"
        )
    return local


def load_shapenetpart_txt(
    path: str | Path, *, category: str | None = None, name: str | None = None
) -> Shape:
    """Read one normal-format ShapeNetPart ``.txt`` file (METHODS §1.5.2 b).

    Args:
        path: file of lines ``x y z nx ny nz part_id`` (global part id 0-49).
        category: the category name; default: from the parent directory's synset, else from the
            range of the part ids.
        name: ``Shape.name``; default ``"<Category>/<file stem>"``.

    Returns:
        Shape with xyz (N, 3) float32, normals (N, 3) float32, semantic (N,) int64 local ids,
        rgb None, instance None, part_names and category set.

    Raises:
        ShapeFileError: missing, unreadable, not 7 numeric columns, non-integer or foreign ids.
    """
    path = Path(path)
    if not path.is_file():
        raise ShapeFileError(f"ShapeNetPart file {path} does not exist")
    try:
        with warnings.catch_warnings():  # an empty file is reported below, not as a warning
            warnings.simplefilter("ignore", UserWarning)
            arr = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except (OSError, ValueError) as exc:
        raise ShapeFileError(
            f"{path}: cannot read as ShapeNetPart txt (lines 'x y z nx ny nz part_id'): {exc}"
        ) from exc
    if arr.shape[0] == 0:
        raise ShapeFileError(f"{path}: the file holds no points")
    if arr.shape[1] != _TXT_COLUMNS:
        raise ShapeFileError(
            f"{path}: expected {_TXT_COLUMNS} columns 'x y z nx ny nz part_id' per line, got "
            f"{arr.shape[1]}"
        )
    pid_f = arr[:, 6]
    if not np.all(np.isfinite(pid_f)) or not np.array_equal(pid_f, np.round(pid_f)):
        raise ShapeFileError(f"{path}: the 7th column (part id) must hold integers")
    pid = pid_f.astype(np.int64)
    if category is None:
        synset = path.parent.name
        known = {c.synset: c for c in SHAPENETPART_CATEGORIES}
        cat = known[synset] if synset in known else _category_of_global(pid, str(path))
    else:
        cat = shapenetpart_category(category)
    semantic = global_to_local(pid, cat.name, where=str(path))
    return Shape(
        xyz=arr[:, :3].astype(np.float32),
        normals=arr[:, 3:6].astype(np.float32),
        semantic=semantic,
        part_names=cat.parts,
        category=cat.name,
        name=name if name is not None else f"{cat.name}/{path.stem}",
    )


def load_shapenetpart_h5(
    path: str | Path, *, categories: Sequence[str] | None = None
) -> list[Shape]:
    """Read a PointNet ShapeNetPart ``.h5`` file (METHODS §1.5.2 a) into Shapes.

    Args:
        path: file with ``data`` (B, P, 3) float, ``label`` (B, 1) or (B,) int category 0-15,
            ``pid`` (B, P) int global part id; an optional ``normal`` (B, P, 3) is used.
        categories: keep only these category names (default: all).

    Returns:
        list of Shapes in file order, named ``"<Category>/<file stem>_<row>"``.

    Raises:
        ShapeFileError: missing file, missing datasets or inconsistent sizes.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise ShapeFileError(f"ShapeNetPart h5 file {path} does not exist")
    keep = None if categories is None else {shapenetpart_category(c).name for c in categories}
    try:
        with h5py.File(path, "r") as f:
            missing = [k for k in ("data", "label", "pid") if k not in f]
            if missing:
                raise ShapeFileError(
                    f"{path}: missing dataset(s) {missing}; expected 'data' (B, P, 3), "
                    f"'label' (B, 1) and 'pid' (B, P); found {sorted(f.keys())}"
                )
            data = np.asarray(f["data"])
            label = np.asarray(f["label"])
            pid = np.asarray(f["pid"])
            normal = np.asarray(f["normal"]) if "normal" in f else None
    except OSError as exc:
        raise ShapeFileError(f"{path}: cannot read as HDF5: {exc}") from exc
    if data.ndim != 3 or data.shape[2] != 3:
        raise ShapeFileError(f"{path}: 'data' must be (B, P, 3), got {data.shape}")
    b, p = data.shape[:2]
    label = label.reshape(-1) if label.ndim == 2 and label.shape[1] == 1 else label
    if label.shape != (b,) or label.dtype.kind not in "iu":
        raise ShapeFileError(f"{path}: 'label' must be (B, 1) ints with B={b}, got {label.shape}")
    if pid.shape != (b, p) or pid.dtype.kind not in "iu":
        raise ShapeFileError(f"{path}: 'pid' must be ({b}, {p}) ints, got {pid.dtype} {pid.shape}")
    if normal is not None and normal.shape != data.shape:
        raise ShapeFileError(f"{path}: 'normal' must be {data.shape}, got {normal.shape}")
    if b and (label.min() < 0 or label.max() >= len(SHAPENETPART_CATEGORIES)):
        raise ShapeFileError(
            f"{path}: category labels must be in [0, 15], got [{label.min()}, {label.max()}]"
        )
    shapes = []
    for i in range(b):
        cat = SHAPENETPART_CATEGORIES[int(label[i])]
        if keep is not None and cat.name not in keep:
            continue
        where = f"{path} row {i}"
        shapes.append(
            Shape(
                xyz=data[i].astype(np.float32),
                normals=None if normal is None else normal[i].astype(np.float32),
                semantic=global_to_local(pid[i], cat.name, where=where),
                part_names=cat.parts,
                category=cat.name,
                name=f"{cat.name}/{path.stem}_{i}",
            )
        )
    return shapes


class ShapeNetPartDataset:
    """The normal-format ShapeNetPart release: ``<root>/<synset>/<model_id>.txt``.

    Shape ids are ``"<Category>/<model_id>"`` (e.g. ``"Chair/1a6f615e8b1b5ae4dbbc9440457e303e"``),
    sorted by category name, then model id.

    Args:
        root: the release directory.
        split: "train", "val" or "test" to keep the shapes listed in
            ``shuffled_<split>_file_list.json`` (at the root or in ``train_test_split/``);
            None keeps every shape found.
        categories: category names to keep (default: all 16).

    Raises:
        InputError: missing root, unknown split or category, split file missing, no shapes.
        ShapeFileError: the split file is malformed or lists shapes whose file is missing.
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
            raise InputError(f"ShapeNetPart root {self.root} is not a directory")
        if isinstance(categories, str):
            categories = [categories]
        cats = (
            [shapenetpart_category(c) for c in categories]
            if categories is not None
            else list(SHAPENETPART_CATEGORIES)
        )
        if not cats:
            raise InputError("categories: expected at least one ShapeNetPart category, got none")
        self.categories = tuple(sorted({c.name for c in cats}))
        self.split = split
        wanted = {c.synset for c in cats}
        if split is None:
            entries = self._discover(wanted)
        else:
            entries = self._read_split(split, wanted)
        if not entries:
            raise InputError(
                f"no ShapeNetPart shapes found under {self.root} for categories "
                f"{list(self.categories)}" + (f" in split {split!r}" if split else "")
                + "; expected files <root>/<synset>/<model_id>.txt (e.g. 03001627/<id>.txt)"
            )
        items = sorted(
            ((category_of_synset(s).name, m) for s, m in entries), key=lambda t: (t[0], t[1])
        )
        self._ids = tuple(f"{c}/{m}" for c, m in items)

    def _discover(self, synsets: set[str]) -> list[tuple[str, str]]:
        out = []
        for synset in sorted(synsets):
            d = self.root / synset
            if d.is_dir():
                out.extend((synset, f.stem) for f in sorted(d.glob("*.txt")) if f.is_file())
        return out

    def _read_split(self, split: str, synsets: set[str]) -> list[tuple[str, str]]:
        if split not in SHAPENETPART_SPLITS:
            raise InputError(f"split must be one of {list(SHAPENETPART_SPLITS)} or None, got {split!r}")
        fname = _SPLIT_FILE.format(split=split)
        candidates = [self.root / d / fname for d in _SPLIT_DIRS]
        path = next((c for c in candidates if c.is_file()), None)
        if path is None:
            raise InputError(
                f"split {split!r} requested but {fname} is not in {self.root} or "
                f"{self.root / 'train_test_split'}; pass split=None to use every shape found"
            )
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ShapeFileError(f"cannot read split file {path} as JSON: {exc}") from exc
        if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
            raise ShapeFileError(
                f"{path}: expected a JSON list of 'shape_data/<synset>/<model_id>' strings"
            )
        out, missing = [], []
        for e in entries:
            parts = e.strip("/").split("/")
            if len(parts) < 2:
                raise ShapeFileError(
                    f"{path}: entry {e!r} is not of the form 'shape_data/<synset>/<model_id>'"
                )
            synset, model = parts[-2], parts[-1]
            if synset not in synsets:
                continue
            if not (self.root / synset / f"{model}.txt").is_file():
                missing.append(e)
                continue
            out.append((synset, model))
        if missing:
            raise ShapeFileError(
                f"{path} lists {len(missing)} shape(s) whose .txt is missing under {self.root}, "
                f"e.g. {missing[:3]}; check the root or download the full release"
            )
        return out

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[Shape]:
        for sid in self._ids:
            yield self.load(sid)

    def shape_ids(self) -> tuple[str, ...]:
        """Shape ids ``"<Category>/<model_id>"``, sorted."""
        return self._ids

    def part_names(self, category: str) -> tuple[str, ...]:
        """Ordered part names (local ids) of ``category``."""
        return shapenetpart_category(category).parts

    def path(self, shape_id: str) -> Path:
        """The ``.txt`` file of ``shape_id``."""
        if shape_id not in self._ids:
            hint = f" (first ids: {list(self._ids[:3])})" if self._ids else ""
            raise InputError(
                f"unknown shape id {shape_id!r} in ShapeNetPart dataset {self.root}; expected "
                f"'<Category>/<model_id>' from shape_ids(){hint}"
            )
        cat, model = shape_id.split("/", 1)
        return self.root / shapenetpart_category(cat).synset / f"{model}.txt"

    def load(self, shape_id: str) -> Shape:
        """Read shape ``shape_id`` (local part ids, normals, no colour, no instances)."""
        cat = shape_id.split("/", 1)[0]
        return load_shapenetpart_txt(self.path(shape_id), category=cat, name=shape_id)
