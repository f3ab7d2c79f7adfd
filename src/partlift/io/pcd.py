"""PCD (Point Cloud Library) point clouds, ``DATA ascii`` and ``DATA binary``.

Fields read: ``x y z`` (required); colour from a packed ``rgb`` / ``rgba`` field (a float or
unsigned int whose low 24 bits are ``0xRRGGBB``, PCL's convention) or from separate ``r g b``
fields (typed: integers are 0-255, floats must be in [0, 1]); normals from
``normal_x normal_y normal_z``; labels from ``semantic`` / ``label`` and ``instance``.
``DATA binary_compressed`` (LZF) is not supported: the error says how to convert the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from partlift.errors import ShapeFileError
from partlift.io._common import (
    PathLike,
    coerce_labels,
    colours_from_typed,
    make_shape,
    unit_normals,
)
from partlift.types import Shape

_TYPES = {("F", 4): "<f4", ("F", 8): "<f8", ("U", 1): "u1", ("U", 2): "<u2", ("U", 4): "<u4",
          ("U", 8): "<u8", ("I", 1): "i1", ("I", 2): "<i2", ("I", 4): "<i4", ("I", 8): "<i8"}
_MAX_HEADER_LINES = 64


def _parse_header(path: Path, raw: bytes) -> tuple[dict[str, list[str]], int]:
    """Header keywords -> values, and the byte offset where the data starts."""
    header: dict[str, list[str]] = {}
    offset = 0
    for _ in range(_MAX_HEADER_LINES):
        end = raw.find(b"\n", offset)
        if end < 0:
            break
        line = raw[offset:end].decode("ascii", errors="replace").strip()
        offset = end + 1
        if not line or line.startswith("#"):
            continue
        key, *values = line.split()
        header[key.upper()] = values
        if key.upper() == "DATA":
            return header, offset
    raise ShapeFileError(
        f"{path}: not a PCD file (no 'DATA' line in the header); expected a PCL .pcd with "
        "FIELDS / SIZE / TYPE / POINTS / DATA lines"
    )


def _field_dtype(path: Path, header: dict[str, list[str]]) -> tuple[list[str], np.dtype]:
    try:
        fields = header["FIELDS"]
        sizes = [int(s) for s in header["SIZE"]]
        types = [t.upper() for t in header["TYPE"]]
        counts = [int(c) for c in header.get("COUNT", ["1"] * len(fields))]
    except (KeyError, ValueError) as exc:
        raise ShapeFileError(f"{path}: PCD header lacks or garbles FIELDS/SIZE/TYPE/COUNT ({exc})") from exc
    if not (len(fields) == len(sizes) == len(types) == len(counts)):
        raise ShapeFileError(
            f"{path}: PCD header lists {len(fields)} FIELDS but {len(sizes)} SIZE, "
            f"{len(types)} TYPE and {len(counts)} COUNT entries"
        )
    names, spec = [], []
    for i, (f, s, t, c) in enumerate(zip(fields, sizes, types, counts, strict=True)):
        if (t, s) not in _TYPES:
            raise ShapeFileError(f"{path}: PCD field {f!r} has unsupported TYPE {t} SIZE {s}")
        name = f if f != "_" and f not in names else f"_pad{i}"
        names.append(name)
        spec.append((name, _TYPES[(t, s)], (c,)) if c > 1 else (name, _TYPES[(t, s)]))
    return names, np.dtype(spec)


def read_pcd(path: PathLike, *, with_labels: bool = True) -> Shape:
    """Read a PCD point cloud (ascii or binary).

    Returns:
        Shape with ``xyz`` (N, 3) float32 (float64 where float32 would round it, far from the origin), ``rgb`` (N, 3) float32 in [0, 1] or None, unit
        ``normals`` or None, ``semantic`` / ``instance`` (N,) int64 or None, ``name`` = file stem.

    Raises:
        ShapeFileError: not a PCD, compressed or truncated data, missing ``x y z``, bad values.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ShapeFileError(f"{path}: cannot read ({exc})") from exc
    header, offset = _parse_header(path, raw)
    names, dtype = _field_dtype(path, header)
    missing = [c for c in "xyz" if c not in names]
    if missing:
        raise ShapeFileError(f"{path}: PCD has no {missing} field(s); FIELDS are {names}")
    try:
        n = int(header["POINTS"][0]) if "POINTS" in header else int(header["WIDTH"][0]) * int(header["HEIGHT"][0])
    except (KeyError, IndexError, ValueError) as exc:
        raise ShapeFileError(f"{path}: PCD header has no valid POINTS (or WIDTH and HEIGHT) count") from exc
    kind = header["DATA"][0].lower() if header["DATA"] else ""
    src = str(path)
    if kind == "binary":
        need = n * dtype.itemsize
        if len(raw) - offset < need:
            raise ShapeFileError(
                f"{path}: truncated binary PCD: header promises {n} points ({need} bytes) but only "
                f"{len(raw) - offset} bytes of data follow"
            )
        data = np.frombuffer(raw, dtype=dtype, count=n, offset=offset)
    elif kind == "ascii":
        data = _parse_ascii(path, raw[offset:], dtype, n)
    elif kind == "binary_compressed":
        raise ShapeFileError(
            f"{path}: 'DATA binary_compressed' PCD is not supported; convert it to binary or ascii "
            "first (e.g. `pcl_convert_pcd_ascii_binary in.pcd out.pcd 1`)"
        )
    else:
        raise ShapeFileError(f"{path}: unknown PCD DATA kind {kind!r}; expected ascii or binary")
    xyz = np.stack([data[c].astype(np.float64) for c in "xyz"], axis=1)
    rgb = None
    packed = next((c for c in ("rgb", "rgba") if c in names), None)
    if packed is not None:
        v = data[packed]
        bits = v.astype(np.float32).view(np.uint32) if v.dtype.kind == "f" else v.astype(np.uint32)
        rgb8 = np.stack([(bits >> 16) & 255, (bits >> 8) & 255, bits & 255], axis=1).astype(np.uint8)
        rgb = colours_from_typed(rgb8, src)
    elif all(c in names for c in "rgb"):
        rgb = colours_from_typed(np.stack([data[c] for c in "rgb"], axis=1), src)
    normals = None
    if all(f"normal_{c}" in names for c in "xyz"):
        normals = unit_normals(np.stack([data[f"normal_{c}"] for c in "xyz"], axis=1), src)
    semantic = instance = None
    if with_labels:
        sem = next((c for c in ("semantic", "label") if c in names), None)
        if sem:
            semantic = coerce_labels(data[sem], n, "semantic", src)
        if "instance" in names:
            instance = coerce_labels(data["instance"], n, "instance", src)
    return make_shape(src, xyz=xyz, rgb=rgb, normals=normals, semantic=semantic, instance=instance, name=path.stem)


def _parse_ascii(path: Path, body: bytes, dtype: np.dtype, n: int) -> np.ndarray:
    """Parse ``DATA ascii`` rows into a structured array of ``dtype`` (packed floats kept bit-exact)."""
    n_cols = sum(int(np.prod(dtype[name].shape or (1,))) for name in dtype.names)
    try:
        values = np.array(body.split(), dtype=np.float64)
    except ValueError as exc:
        raise ShapeFileError(f"{path}: PCD ascii data has a non-numeric value ({exc})") from exc
    if values.size != n * n_cols:
        raise ShapeFileError(
            f"{path}: PCD ascii data has {values.size} values; expected {n} points x {n_cols} "
            f"columns = {n * n_cols} (the file may be truncated)"
        )
    cols = values.reshape(n, n_cols)
    out = np.empty(n, dtype=dtype)
    j = 0
    for name in dtype.names:
        width = int(np.prod(dtype[name].shape or (1,)))
        block = cols[:, j:j + width]
        out[name] = block if width > 1 else block[:, 0]
        j += width
    return out
