"""Shape IO: round trips for every format, mesh sampling and colours, labels, bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import plyfile
import pytest
import trimesh
from PIL import Image

from partlift.errors import InputError, ShapeFileError
from partlift.geometry import normalize
from partlift.io import (
    atomic_write,
    load_labels,
    load_mesh,
    load_partnete_dir,
    load_shape,
    sample_mesh,
    save_face_labels,
    save_labels,
    write_glb,
    write_ply,
)
from partlift.io.mesh_colour import bilinear_lookup

N = 64


@pytest.fixture
def cloud() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    nrm = rng.normal(size=(N, 3))
    return {
        "xyz": rng.normal(size=(N, 3)).astype(np.float32),
        "rgb8": rng.integers(0, 256, size=(N, 3), dtype=np.uint8),
        "normals": (nrm / np.linalg.norm(nrm, axis=1, keepdims=True)).astype(np.float32),
        "semantic": rng.integers(-1, 3, size=N),
        "instance": rng.integers(-1, 5, size=N),
    }


def _write_raw_ply(path: Path, arr: np.ndarray, *, text: bool = False, byte_order: str = "<") -> Path:
    plyfile.PlyData([plyfile.PlyElement.describe(arr, "vertex")], text=text, byte_order=byte_order).write(str(path))
    return path


def _xyz_struct(xyz: np.ndarray, extra: list[tuple[str, str, np.ndarray]] = ()) -> np.ndarray:
    arr = np.empty(len(xyz), dtype=[("x", "f4"), ("y", "f4"), ("z", "f4")] + [(n, t) for n, t, _ in extra])
    for i, c in enumerate("xyz"):
        arr[c] = xyz[:, i]
    for n, _, v in extra:
        arr[n] = v
    return arr


def _write_pcd(path: Path, cols: list[tuple[str, str, int, np.ndarray]], *, binary: bool, data_kind: str | None = None) -> Path:
    """A PCD file written independently of partlift: cols = (name, TYPE, SIZE, values)."""
    n = len(cols[0][3])
    header = (
        "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\n"
        f"FIELDS {' '.join(c[0] for c in cols)}\nSIZE {' '.join(str(c[2]) for c in cols)}\n"
        f"TYPE {' '.join(c[1] for c in cols)}\nCOUNT {' '.join('1' for _ in cols)}\n"
        f"WIDTH {n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {n}\n"
        f"DATA {data_kind or ('binary' if binary else 'ascii')}\n"
    )
    np_types = {("F", 4): "<f4", ("U", 1): "u1", ("U", 4): "<u4", ("I", 4): "<i4"}
    arr = np.empty(n, dtype=[(c[0], np_types[(c[1], c[2])]) for c in cols])
    for c in cols:
        arr[c[0]] = c[3]
    if binary:
        body = arr.tobytes()
    else:
        body = "\n".join(
            " ".join(repr(float(v)) if c[1] == "F" else str(int(v)) for c, v in zip(cols, row, strict=True))
            for row in arr.tolist()
        ).encode() + b"\n"
    path.write_bytes(header.encode() + body)
    return path


def _pack_rgb(rgb8: np.ndarray) -> np.ndarray:
    return (rgb8[:, 0].astype(np.uint32) << 16) | (rgb8[:, 1].astype(np.uint32) << 8) | rgb8[:, 2].astype(np.uint32)


# --- PLY ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("with_colour", [True, False])
def test_ply_round_trip(tmp_path, cloud, binary, with_colour):
    rgb = cloud["rgb8"] if with_colour else None
    path = write_ply(tmp_path / "c.ply", cloud["xyz"], rgb=rgb, normals=cloud["normals"],
                     semantic=cloud["semantic"], instance=cloud["instance"], binary=binary)
    shape = load_shape(path)
    np.testing.assert_allclose(shape.xyz, cloud["xyz"], atol=1e-6 if not binary else 0)
    if with_colour:
        np.testing.assert_allclose(shape.rgb, cloud["rgb8"] / 255.0, atol=1e-7)
        assert shape.rgb.dtype == np.float32
    else:
        assert shape.rgb is None
    np.testing.assert_allclose(shape.normals, cloud["normals"], atol=1e-5)
    np.testing.assert_array_equal(shape.semantic, cloud["semantic"])
    np.testing.assert_array_equal(shape.instance, cloud["instance"])
    assert shape.semantic.dtype == np.int64 and shape.name == "c" and shape.mesh is None
    assert load_shape(path, with_labels=False).semantic is None


def test_ply_float_rgb_input_is_written_as_uchar(tmp_path, cloud):
    path = write_ply(tmp_path / "c.ply", cloud["xyz"], rgb=cloud["rgb8"] / 255.0)
    np.testing.assert_allclose(load_shape(path).rgb, cloud["rgb8"] / 255.0, atol=1e-7)
    assert plyfile.PlyData.read(str(path))["vertex"].data.dtype["red"] == np.uint8


def test_ply_big_endian_float_colour(tmp_path, cloud):
    rgb = (cloud["rgb8"] / 255.0).astype(np.float32)
    arr = _xyz_struct(cloud["xyz"], [(c, ">f4", rgb[:, i]) for i, c in enumerate(("red", "green", "blue"))])
    shape = load_shape(_write_raw_ply(tmp_path / "be.ply", arr, byte_order=">"))
    np.testing.assert_array_equal(shape.xyz, cloud["xyz"])
    np.testing.assert_allclose(shape.rgb, rgb)


def test_ply_ushort_colours_and_label_property(tmp_path, cloud):
    rgb16 = cloud["rgb8"].astype(np.uint16) * 257
    arr = _xyz_struct(cloud["xyz"], [(c, "u2", rgb16[:, i]) for i, c in enumerate("rgb")] + [("label", "i4", cloud["semantic"])])
    shape = load_shape(_write_raw_ply(tmp_path / "u16.ply", arr, text=True))
    np.testing.assert_allclose(shape.rgb, cloud["rgb8"] / 255.0, atol=1e-6)
    np.testing.assert_array_equal(shape.semantic, cloud["semantic"])
    assert shape.instance is None


def test_real_dev_pc_ply_format(real_dev_root):
    shape = load_shape(real_dev_root / "Bottle" / "3763" / "pc.ply")
    assert shape.n_points == 50000 and shape.rgb is not None and shape.semantic is None


# --- PCD ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("binary", [True, False])
def test_pcd_packed_rgb_normals_label(tmp_path, cloud, binary):
    packed = _pack_rgb(cloud["rgb8"]).view(np.float32)
    cols = [(c, "F", 4, cloud["xyz"][:, i]) for i, c in enumerate("xyz")]
    cols += [("rgb", "F", 4, packed)]
    cols += [(f"normal_{c}", "F", 4, cloud["normals"][:, i]) for i, c in enumerate("xyz")]
    cols += [("label", "I", 4, cloud["semantic"])]
    if not binary:  # ascii text can't carry a float's NaN-like bit patterns: use the uint form
        cols[3] = ("rgb", "U", 4, _pack_rgb(cloud["rgb8"]))
    shape = load_shape(_write_pcd(tmp_path / "c.pcd", cols, binary=binary))
    np.testing.assert_allclose(shape.xyz, cloud["xyz"], rtol=1e-6)
    np.testing.assert_allclose(shape.rgb, cloud["rgb8"] / 255.0, atol=1e-7)
    np.testing.assert_allclose(shape.normals, cloud["normals"], atol=1e-5)
    np.testing.assert_array_equal(shape.semantic, cloud["semantic"])


def test_pcd_separate_rgb_fields(tmp_path, cloud):
    cols = [(c, "F", 4, cloud["xyz"][:, i]) for i, c in enumerate("xyz")]
    cols += [(c, "U", 1, cloud["rgb8"][:, i]) for i, c in enumerate("rgb")]
    shape = load_shape(_write_pcd(tmp_path / "c.pcd", cols, binary=True))
    np.testing.assert_allclose(shape.rgb, cloud["rgb8"] / 255.0, atol=1e-7)
    assert shape.normals is None


def test_pcd_truncated_binary(tmp_path, cloud):
    cols = [(c, "F", 4, cloud["xyz"][:, i]) for i, c in enumerate("xyz")]
    path = _write_pcd(tmp_path / "c.pcd", cols, binary=True)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(ShapeFileError, match="truncated"):
        load_shape(path)


def test_pcd_binary_compressed_is_refused_with_advice(tmp_path, cloud):
    cols = [(c, "F", 4, cloud["xyz"][:, i]) for i, c in enumerate("xyz")]
    path = _write_pcd(tmp_path / "c.pcd", cols, binary=True, data_kind="binary_compressed")
    with pytest.raises(ShapeFileError, match="binary_compressed"):
        load_shape(path)


# --- npz / npy / text -------------------------------------------------------------------------


def test_npz_round_trip(tmp_path, cloud):
    np.savez(tmp_path / "c.npz", xyz=cloud["xyz"], rgb=cloud["rgb8"], normals=cloud["normals"],
             semantic=cloud["semantic"], instance=cloud["instance"], extra=np.zeros(3))
    shape = load_shape(tmp_path / "c.npz")
    np.testing.assert_array_equal(shape.xyz, cloud["xyz"])
    np.testing.assert_allclose(shape.rgb, cloud["rgb8"] / 255.0, atol=1e-7)
    np.testing.assert_array_equal(shape.instance, cloud["instance"])


def test_npz_alias_keys_and_float_colours(tmp_path, cloud):
    np.savez(tmp_path / "c.npz", points=cloud["xyz"].astype(np.float64), colors=cloud["rgb8"] / 255.0, label=cloud["semantic"])
    shape = load_shape(tmp_path / "c.npz")
    np.testing.assert_allclose(shape.rgb, cloud["rgb8"] / 255.0, atol=1e-7)
    np.testing.assert_array_equal(shape.semantic, cloud["semantic"])


def test_npz_without_coordinates_lists_keys(tmp_path):
    np.savez(tmp_path / "c.npz", foo=np.zeros((3, 3)))
    with pytest.raises(ShapeFileError, match="foo"):
        load_shape(tmp_path / "c.npz")


@pytest.mark.parametrize("width", [3, 6, 9])
def test_npy_layouts(tmp_path, cloud, width):
    parts = [cloud["xyz"], cloud["rgb8"].astype(np.float32), cloud["normals"]][: width // 3]
    np.save(tmp_path / "c.npy", np.concatenate(parts, axis=1))
    shape = load_shape(tmp_path / "c.npy")
    np.testing.assert_array_equal(shape.xyz, cloud["xyz"])
    assert (shape.rgb is None) == (width == 3)
    if width >= 6:  # 0-255 floats are detected by max > 1
        np.testing.assert_allclose(shape.rgb, cloud["rgb8"] / 255.0, atol=1e-6)
    assert (shape.normals is None) == (width < 9)


def test_npy_unknown_width(tmp_path):
    np.save(tmp_path / "c.npy", np.zeros((5, 4)))
    with pytest.raises(ShapeFileError, match=r"\(N, 6\)"):
        load_shape(tmp_path / "c.npy")


def test_xyz_text_layouts(tmp_path, cloud):
    xyz, rgb8 = cloud["xyz"].astype(np.float64), cloud["rgb8"]
    np.savetxt(tmp_path / "a.xyz", xyz)
    np.testing.assert_allclose(load_shape(tmp_path / "a.xyz").xyz, xyz, rtol=1e-6)
    np.savetxt(tmp_path / "b.txt", np.concatenate([xyz, rgb8], axis=1), delimiter=",", header="x,y,z,r,g,b")
    shape = load_shape(tmp_path / "b.txt")
    np.testing.assert_allclose(shape.rgb, rgb8 / 255.0, atol=1e-6)
    unit = np.concatenate([xyz, rgb8 / 255.0], axis=1)
    np.savetxt(tmp_path / "c.txt", unit)
    np.testing.assert_allclose(load_shape(tmp_path / "c.txt").rgb, rgb8 / 255.0, atol=1e-6)
    snp = np.concatenate([xyz, cloud["normals"], cloud["semantic"][:, None].clip(0)], axis=1)
    np.savetxt(tmp_path / "d.txt", snp)  # ShapeNetPart: xyz normals label
    shape = load_shape(tmp_path / "d.txt")
    assert shape.rgb is None
    np.testing.assert_allclose(shape.normals, cloud["normals"], atol=1e-5)
    np.testing.assert_array_equal(shape.semantic, cloud["semantic"].clip(0))


def test_text_ragged_rows(tmp_path):
    (tmp_path / "r.xyz").write_text("0 0 0\n1 1 1 1\n")
    with pytest.raises(ShapeFileError, match="column counts"):
        load_shape(tmp_path / "r.xyz")


# --- meshes ----------------------------------------------------------------------------------------


def _box(face_colours: bool = True) -> trimesh.Trimesh:
    box = trimesh.creation.box(extents=(2.0, 2.0, 2.0))
    if face_colours:
        fc = np.zeros((len(box.faces), 4), np.uint8)
        fc[:, 3] = 255
        fc[np.arange(len(box.faces)) % 2 == 0, 0] = 255
        fc[np.arange(len(box.faces)) % 2 == 1, 2] = 255
        box.visual.face_colors = fc
    return box


@pytest.mark.parametrize("ext", [".obj", ".off", ".stl", ".glb", ".ply"])
def test_mesh_formats_are_sampled(tmp_path, ext):
    path = tmp_path / f"box{ext}"
    _box(face_colours=False).export(path)
    shape = load_shape(path, n_points=500, seed=3)
    assert shape.n_points == 500 and shape.mesh is not None and len(shape.mesh.faces) == 12
    assert shape.face_index.dtype == np.int64 and shape.face_index.max() < 12
    np.testing.assert_allclose(np.abs(shape.xyz).max(axis=1), 1.0, atol=1e-5)  # on the surface
    np.testing.assert_allclose(np.linalg.norm(shape.normals, axis=1), 1.0, atol=1e-5)
    # face normals of a box are axis-aligned and point outwards
    dots = (shape.normals * shape.xyz).sum(axis=1)
    assert (dots > 0.99).all()


def test_ply_with_faces_keeps_face_colours(tmp_path):
    box = _box()
    box.export(tmp_path / "box.ply")
    shape = load_shape(tmp_path / "box.ply", n_points=300)
    expected = box.visual.face_colors[shape.face_index, :3] / 255.0
    np.testing.assert_allclose(shape.rgb, expected, atol=1e-6)


def test_sample_mesh_vertex_colours_are_interpolated():
    tri = trimesh.Trimesh(
        vertices=[[0, 0, 0], [1, 0, 0], [0, 1, 0]], faces=[[0, 1, 2]],
        vertex_colors=[[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255]], process=False,
    )
    xyz, rgb, normals, fi = sample_mesh(tri, 200, seed=0)
    # barycentric weights of (x, y) on this triangle are (1 - x - y, x, y)
    expected = np.stack([1 - xyz[:, 0] - xyz[:, 1], xyz[:, 0], xyz[:, 1]], axis=1)
    np.testing.assert_allclose(rgb, expected, atol=1e-5)
    np.testing.assert_allclose(normals, np.tile([0, 0, 1], (200, 1)))
    assert (fi == 0).all()


def double_sided_quad(back_rgb):
    """A red unit quad (2 faces) plus its coincident, opposite-facing twins coloured ``back_rgb``."""
    v = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], float)
    front = [[0, 1, 2], [0, 2, 3]]
    back = [[0, 2, 1], [0, 3, 2]]
    colours = [[255, 0, 0, 255]] * 2 + [[*back_rgb, 255]] * 2
    return trimesh.Trimesh(vertices=v, faces=front + back, face_colors=colours, process=False)


def test_sample_mesh_skips_default_white_back_faces_of_double_sided_faces():
    from partlift.io.mesh import face_colours, white_backface_twins

    mesh = double_sided_quad((255, 255, 255))
    np.testing.assert_array_equal(white_backface_twins(mesh, face_colours(mesh)), [False, False, True, True])
    _, rgb, _, fi = sample_mesh(mesh, 500, seed=0)
    assert set(fi.tolist()) <= {0, 1}
    np.testing.assert_allclose(rgb, np.tile([1.0, 0, 0], (500, 1)))
    # a coloured (not default-white) back side is real and kept; so is a lone white face
    grey = double_sided_quad((200, 200, 200))
    assert not white_backface_twins(grey, face_colours(grey)).any()
    assert set(sample_mesh(grey, 500, seed=0)[3].tolist()) == {0, 1, 2, 3}
    lone = trimesh.Trimesh(vertices=mesh.vertices, faces=mesh.faces[2:], face_colors=[[255] * 4] * 2, process=False)
    assert not white_backface_twins(lone, face_colours(lone)).any()


def test_sample_mesh_is_area_uniform_and_seeded():
    # two triangles of areas 0.5 and 1.5
    mesh = trimesh.Trimesh(vertices=[[0, 0, 0], [1, 0, 0], [0, 1, 0], [5, 0, 0], [8, 0, 0], [5, 1, 0]],
                           faces=[[0, 1, 2], [3, 4, 5]], process=False)
    xyz, rgb, _, fi = sample_mesh(mesh, 20000, seed=7)
    assert rgb is None
    assert abs((fi == 0).mean() - 0.25) < 0.015
    again = sample_mesh(mesh, 20000, seed=7)
    np.testing.assert_array_equal(again[0], xyz)
    assert not np.array_equal(sample_mesh(mesh, 20000, seed=8)[0], xyz)


def test_sample_mesh_rejects_bad_input():
    with pytest.raises(InputError, match="trimesh"):
        sample_mesh(np.zeros((3, 3)), 10)
    flat = trimesh.Trimesh(vertices=[[0, 0, 0], [1, 0, 0], [2, 0, 0]], faces=[[0, 1, 2]], process=False)
    with pytest.raises(InputError, match="area"):
        sample_mesh(flat, 10)
    with pytest.raises(InputError, match="n_points"):
        sample_mesh(_box(), 0)


def _quadrant_texture(colours: list[list[int]], size: int = 64) -> Image.Image:
    """A size x size image: top-left, top-right, bottom-left, bottom-right quadrants."""
    img = np.zeros((size, size, 3), np.uint8)
    h = size // 2
    img[:h, :h], img[:h, h:], img[h:, :h], img[h:, h:] = colours
    return Image.fromarray(img)


def _textured_quad(x0: float, image: Image.Image, uv_scale: float, uv_shift: float) -> trimesh.Trimesh:
    v = np.array([[x0, 0, 0], [x0 + 1, 0, 0], [x0 + 1, 1, 0], [x0, 1, 0]], float)
    uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float) * uv_scale + uv_shift
    material = trimesh.visual.material.PBRMaterial(baseColorTexture=image)
    return trimesh.Trimesh(v, [[0, 1, 2], [0, 2, 3]], visual=trimesh.visual.TextureVisuals(uv=uv, material=material), process=False)


QUAD_COLOURS = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]]


def _expected_quadrant(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected colour of texture coordinates (wrapped) and a mask of points far from texel seams."""
    fu, fv = u % 1.0, v % 1.0
    right, top = fu >= 0.5, fv >= 0.5  # v = 1 is the image's top row
    idx = np.where(top, 0, 2) + right.astype(int)
    far = (np.abs(fu - 0.5) > 0.05) & (np.minimum(fu, 1 - fu) > 0.05) & (np.abs(fv - 0.5) > 0.05) & (np.minimum(fv, 1 - fv) > 0.05)
    return np.asarray(QUAD_COLOURS, float)[idx] / 255.0, far


def test_textured_mesh_colours_follow_the_texture():
    quad = _textured_quad(0.0, _quadrant_texture(QUAD_COLOURS), uv_scale=1.0, uv_shift=0.0)
    xyz, rgb, _, _ = sample_mesh(quad, 2000, seed=0)
    expected, far = _expected_quadrant(xyz[:, 0], xyz[:, 1])
    assert far.sum() > 1000
    np.testing.assert_allclose(rgb[far], expected[far], atol=1e-6)


def test_glb_scene_with_repeat_wrapped_uvs_keeps_each_parts_texture(tmp_path):
    # trimesh's own concatenation packs textures into an atlas and breaks UVs outside [0, 1]
    a = _textured_quad(0.0, _quadrant_texture(QUAD_COLOURS), uv_scale=2.0, uv_shift=-1.0)
    b = _textured_quad(2.0, _quadrant_texture(QUAD_COLOURS[::-1]), uv_scale=1.0, uv_shift=0.0)
    path = tmp_path / "two.glb"
    path.write_bytes(trimesh.Scene([a, b]).export(file_type="glb"))
    shape = load_shape(path, n_points=4000, seed=1)
    on_a = shape.xyz[:, 0] < 1.5
    ua, va = shape.xyz[on_a, 0] * 2.0 - 1.0, shape.xyz[on_a, 1] * 2.0 - 1.0
    exp_a, far_a = _expected_quadrant(ua, va)
    np.testing.assert_allclose(shape.rgb[on_a][far_a], exp_a[far_a], atol=1e-6)
    exp_b, far_b = _expected_quadrant(shape.xyz[~on_a, 0] - 2.0, shape.xyz[~on_a, 1])
    flipped = np.asarray(QUAD_COLOURS[::-1], float) / 255.0
    exp_b = flipped[[QUAD_COLOURS.index([int(c) for c in row]) for row in np.round(exp_b * 255).astype(int)]]
    np.testing.assert_allclose(shape.rgb[~on_a][far_b], exp_b[far_b], atol=1e-6)
    # face order is trimesh.load(force="mesh")'s
    ref = trimesh.load(path, force="mesh")
    np.testing.assert_array_equal(shape.mesh.vertices[shape.mesh.faces], ref.vertices[ref.faces])


def test_bilinear_lookup_wraps_and_interpolates():
    img = np.array([[[0, 0, 0], [255, 255, 255]]], np.uint8)  # 1 x 2: black | white
    out = bilinear_lookup(img, np.array([[0.25, 0.5], [0.5, 0.5], [1.25, 0.5], [0.0, 0.5]]))
    np.testing.assert_allclose(out[:, 0], [0.0, 0.5, 0.0, 0.5])  # texel centres, halfway, wrap


def test_write_glb_round_trip(tmp_path):
    box = _box(face_colours=False)
    colours = np.zeros((12, 3), np.uint8)
    colours[:, 0] = np.arange(12) * 20
    path = write_glb(tmp_path / "out" / "box.glb", box, colours)
    back = trimesh.load(path, force="mesh", process=False)
    assert len(back.faces) == 12
    per_corner = back.visual.vertex_colors[back.faces][:, :, :3]
    np.testing.assert_array_equal(per_corner, np.repeat(colours[:, None, :], 3, axis=1))
    np.testing.assert_allclose(back.vertices[back.faces], box.vertices[box.faces], atol=1e-6)
    with pytest.raises(InputError, match=r"\(12, 3\)"):
        write_glb(path, box, colours[:5])


# --- labels -----------------------------------------------------------------------------------------


def test_labels_round_trip_partnete_dict(tmp_path, cloud):
    path = save_labels(tmp_path / "label.npy", cloud["semantic"], cloud["instance"])
    raw = np.load(path, allow_pickle=True).item()
    assert set(raw) == {"semantic_seg", "instance_seg"}
    sem, ins = load_labels(path, N)
    np.testing.assert_array_equal(sem, cloud["semantic"])
    np.testing.assert_array_equal(ins, cloud["instance"])
    assert sem.dtype == np.int64
    save_face_labels(tmp_path / "face_labels.npy", cloud["semantic"], None)
    sem, ins = load_labels(tmp_path / "face_labels.npy")
    assert ins is None and len(sem) == N


def test_labels_plain_array_and_text(tmp_path, cloud):
    np.save(tmp_path / "a.npy", cloud["semantic"])
    assert load_labels(tmp_path / "a.npy", N)[1] is None
    np.save(tmp_path / "b.npy", np.stack([cloud["semantic"], cloud["instance"]], axis=1))
    np.testing.assert_array_equal(load_labels(tmp_path / "b.npy", N)[1], cloud["instance"])
    np.savetxt(tmp_path / "c.txt", np.stack([cloud["semantic"], cloud["instance"]], axis=1), fmt="%d")
    sem, ins = load_labels(tmp_path / "c.txt", N)
    np.testing.assert_array_equal(sem, cloud["semantic"])
    np.testing.assert_array_equal(ins, cloud["instance"])


def test_atomic_write_leaves_target_untouched_on_error(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target, "w") as fh:
        fh.write("new")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["keep.txt"]


# --- PartNet-E folders --------------------------------------------------------------------------


def _partnete_dir(root: Path, category: str, cloud: dict, *, labels: bool = True) -> Path:
    d = root / category / "0001"
    write_ply(d / "pc.ply", cloud["xyz"], rgb=cloud["rgb8"])
    if labels:
        save_labels(d / "label.npy", cloud["semantic"], cloud["instance"])
    return d


def test_partnete_folder_uses_packaged_meta(tmp_path, cloud):
    shape = load_shape(_partnete_dir(tmp_path, "StorageFurniture", cloud))
    assert shape.category == "StorageFurniture" and shape.part_names == ("door", "drawer", "handle")
    assert shape.name == "StorageFurniture/0001" and shape.has_labels
    np.testing.assert_array_equal(shape.instance, cloud["instance"])


def test_partnete_folder_root_meta_wins_and_unknown_category(tmp_path, cloud):
    (tmp_path / "PartNetE_meta.json").write_text(json.dumps({"Thing": ["a", "b", "c"]}))
    shape = load_partnete_dir(_partnete_dir(tmp_path, "Thing", cloud))
    assert shape.part_names == ("a", "b", "c")
    other = load_partnete_dir(_partnete_dir(tmp_path / "x", "NoSuchCategory", cloud))
    assert other.part_names is None and other.semantic is not None


def test_partnete_folder_without_labels_and_missing_mesh(tmp_path, cloud):
    d = _partnete_dir(tmp_path, "Bottle", cloud, labels=False)
    assert load_shape(d).semantic is None
    with pytest.raises(ShapeFileError, match="mesh.glb"):
        load_partnete_dir(d, with_mesh=True)


def test_real_dev_shape_with_mesh_and_face_labels(real_dev_root):
    shape = load_shape(real_dev_root / "KitchenPot" / "15", with_mesh=True)
    assert shape.n_points == 50000 and shape.part_names == ("lid", "handle")
    assert shape.category == "KitchenPot" and shape.rgb is not None
    assert len(shape.face_semantic) == len(shape.mesh.faces) == 13818
    assert shape.instance.max() == 2  # lid 1, handle 2 (README table)
    # face order matches trimesh.load(force="mesh"), the order face_labels.npy was written for
    ref = trimesh.load(real_dev_root / "KitchenPot" / "15" / "mesh.glb", force="mesh")
    np.testing.assert_array_equal(shape.mesh.faces.shape, ref.faces.shape)
    np.testing.assert_allclose(shape.mesh.vertices[shape.mesh.faces], ref.vertices[ref.faces])
    # labels carried by sampled faces have the proportions of the point labels
    _, rgb, _, fi = sample_mesh(shape.mesh, 20000, seed=0)
    from_faces = np.bincount(shape.face_semantic[fi] + 1, minlength=3) / len(fi)
    from_points = np.bincount(shape.semantic + 1, minlength=3) / shape.n_points
    np.testing.assert_allclose(from_faces, from_points, atol=0.02)
    # sampled colours agree with the cloud's (the cloud was coloured from the same textures)
    from scipy.spatial import cKDTree

    xyz = sample_mesh(shape.mesh, 20000, seed=0)[0]
    _, nearest = cKDTree(shape.xyz).query(xyz)
    assert np.median(np.abs(rgb - shape.rgb[nearest]).mean(axis=1)) < 0.06


def test_real_double_sided_cabinet_samples_its_coloured_side(real_dev_root):
    # StorageFurniture/45940's GLB repeats every face with a default-white twin: sampling both
    # made half the points white (median colour error 0.39 against the ray-tested pc.ply).
    from scipy.spatial import cKDTree

    shape = load_shape(real_dev_root / "StorageFurniture" / "45940", with_mesh=True)
    xyz, rgb, _, _ = sample_mesh(shape.mesh, 20000, seed=0)
    _, nearest = cKDTree(xyz).query(shape.xyz)
    assert np.median(np.abs(rgb[nearest] - shape.rgb).max(axis=1)) < 0.05


# --- bad input: one test per case --------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(ShapeFileError, match="no such file"):
        load_shape(tmp_path / "nope.ply")


def test_unknown_extension(tmp_path):
    (tmp_path / "a.foo").write_text("1 2 3\n")
    with pytest.raises(ShapeFileError, match=r"unknown shape file extension '\.foo'.*\.ply"):
        load_shape(tmp_path / "a.foo")


def test_folder_without_pc_ply(tmp_path):
    with pytest.raises(ShapeFileError, match="pc.ply"):
        load_shape(tmp_path)


@pytest.mark.parametrize("ext", [".ply", ".npz", ".npy", ".glb", ".obj", ".pcd"])
def test_corrupt_file(tmp_path, ext):
    path = tmp_path / f"bad{ext}"
    path.write_bytes(b"ply\nformat nonsense\n" + os.urandom(64) if ext == ".ply" else os.urandom(200))
    with pytest.raises(ShapeFileError, match=str(path.name)):
        load_shape(path)


def test_truncated_binary_ply(tmp_path, cloud):
    path = write_ply(tmp_path / "t.ply", cloud["xyz"], rgb=cloud["rgb8"])
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(ShapeFileError, match="t.ply"):
        load_shape(path)


def test_empty_cloud(tmp_path):
    path = write_ply(tmp_path / "e.ply", np.zeros((0, 3), np.float32))
    with pytest.raises(ShapeFileError, match="0 points"):
        load_shape(path)


def test_nan_coordinates(tmp_path, cloud):
    xyz = cloud["xyz"].copy()
    xyz[3, 1] = np.nan
    xyz[5, 0] = np.inf
    np.save(tmp_path / "n.npy", xyz)
    with pytest.raises(ShapeFileError, match="2 of 64 points have NaN or infinite"):
        load_shape(tmp_path / "n.npy")


def test_all_points_identical_fail_at_normalisation(tmp_path):
    path = write_ply(tmp_path / "same.ply", np.full((10, 3), 0.3, np.float32))
    shape = load_shape(path)  # loading is fine; the cloud has no size
    with pytest.raises(InputError, match="identical"):
        normalize(shape)


def test_label_length_mismatch(tmp_path, cloud):
    save_labels(tmp_path / "label.npy", cloud["semantic"][:10])
    with pytest.raises(ShapeFileError, match="length 10 but the cloud has 64 points"):
        load_labels(tmp_path / "label.npy", N)


def test_label_length_mismatch_inside_npz(tmp_path, cloud):
    np.savez(tmp_path / "c.npz", xyz=cloud["xyz"], semantic=cloud["semantic"][:5])
    with pytest.raises(ShapeFileError, match="length 5"):
        load_shape(tmp_path / "c.npz")


def test_colours_out_of_range_float_ply(tmp_path, cloud):
    rgb = np.full((N, 3), 2.0, np.float32)
    arr = _xyz_struct(cloud["xyz"], [(c, "f4", rgb[:, i]) for i, c in enumerate(("red", "green", "blue"))])
    with pytest.raises(ShapeFileError, match=r"colours out of range.*divide 0-255 colours by 255"):
        load_shape(_write_raw_ply(tmp_path / "c.ply", arr))


def test_colours_out_of_range_text(tmp_path):
    (tmp_path / "c.xyz").write_text("0 0 0 300 0 0\n1 1 1 0 0 0\n")
    with pytest.raises(ShapeFileError, match="colours out of range"):
        load_shape(tmp_path / "c.xyz")


def test_bad_load_arguments(tmp_path):
    with pytest.raises(InputError, match="n_points"):
        load_shape(tmp_path / "x.ply", n_points=-5)
    with pytest.raises(InputError, match="write_ply"):
        write_ply(tmp_path / "x.ply", np.zeros((4, 2)))
    with pytest.raises(InputError, match="colours"):
        write_ply(tmp_path / "x.ply", np.zeros((4, 3)), rgb=np.full((4, 3), 3.0))


def test_load_mesh_without_faces(tmp_path):
    write_ply(tmp_path / "p.ply", np.zeros((4, 3), np.float32))
    with pytest.raises(ShapeFileError, match="no faces"):
        load_mesh(tmp_path / "p.ply")
