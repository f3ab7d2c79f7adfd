"""Per-face colour sources of a mesh, kept in the mesh's face order.

Why not just ``mesh.visual``: when trimesh concatenates a multi-material scene into one mesh
(``trimesh.load(..., force="mesh")``) it packs every texture into one atlas and remaps the UVs
into it, which breaks UVs outside [0, 1] (repeat wrap): on the real PartNet-Mobility meshes the
packed texture gave colours far from the right ones (median |diff| 0.56 against the PartNet-E
cloud for StorageFurniture/40147, 0.014 with the per-part textures). :class:`FaceColours` keeps,
for every face, its own texture and unwrapped corner UVs, or its corner colours.

Colour of a point, per face (see :func:`partlift.io.sample_mesh`): a textured face looks its UV
up bilinearly with repeat wrap (GL texel centres, ``v = 0`` at the bottom row) and multiplies by
the glTF ``baseColorFactor``; an untextured face interpolates its corner colours (vertex
colours, else face colours, else the material's main colour).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import trimesh

from partlift.errors import InputError

# Metadata key under which load_mesh stores the FaceColours of a concatenated scene.
METADATA_KEY = "partlift_face_colours"
# Colour of uncoloured parts of an otherwise coloured mesh: trimesh's default grey.
DEFAULT_RGB = np.asarray(trimesh.visual.DEFAULT_COLOR[:3], dtype=np.float64) / 255.0


@dataclass(frozen=True, eq=False)
class FaceColours:
    """Colour sources of a mesh's F faces.

    Attributes:
        face_texture: (F,) int32 index into ``textures``; -1 = untextured (use ``corner_rgb``).
        face_uv: (F, 3, 2) float32 UVs of each face's corners (zero where untextured), unwrapped.
        corner_rgb: (F, 3, 3) float32 colours in [0, 1] of each face's corners (untextured faces).
        textures: (H, W, 3) uint8 base-colour images.
        factors: (T, 3) float64 multipliers in [0, 1] of the textures (glTF baseColorFactor).
    """

    face_texture: np.ndarray
    face_uv: np.ndarray
    corner_rgb: np.ndarray
    textures: tuple[np.ndarray, ...]
    factors: np.ndarray

    def __deepcopy__(self, memo: dict) -> FaceColours:
        # Immutable by convention: trimesh deep-copies mesh.metadata on every mesh.copy().
        return self

    @property
    def n_faces(self) -> int:
        return int(self.face_texture.shape[0])

    def sample(self, face_index: np.ndarray, bary: np.ndarray) -> np.ndarray:
        """(N, 3) float32 colours in [0, 1] of points on faces ``face_index`` ((N,) int) at
        barycentric weights ``bary`` ((N, 3), rows summing to 1)."""
        tex = self.face_texture[face_index]
        out = np.einsum("nk,nkd->nd", bary, self.corner_rgb[face_index].astype(np.float64))
        for t in np.unique(tex[tex >= 0]):
            sel = np.flatnonzero(tex == t)
            uv = np.einsum("nk,nkd->nd", bary[sel], self.face_uv[face_index[sel]].astype(np.float64))
            out[sel] = bilinear_lookup(self.textures[t], uv) * self.factors[t]
        return np.clip(out, 0.0, 1.0).astype(np.float32)

    @classmethod
    def from_meshes(cls, meshes: Sequence[trimesh.Trimesh]) -> FaceColours | None:
        """The colour sources of the concatenation of ``meshes`` (in order), or None if no mesh
        has any colour."""
        tex_ids, uvs, corners, coloured = [], [], [], []
        textures: list[np.ndarray] = []
        factors: list[np.ndarray] = []
        seen: dict[tuple, int] = {}  # (id(image), factor) -> texture slot
        for m in meshes:
            faces = np.asarray(m.faces, dtype=np.int64)
            f = len(faces)
            tid = np.full(f, -1, np.int32)
            uv = np.zeros((f, 3, 2), np.float32)
            rgb = np.broadcast_to(DEFAULT_RGB, (f, 3, 3)).astype(np.float32)
            has = True
            visual = m.visual
            kind = getattr(visual, "kind", None)
            if kind == "texture":
                material = getattr(visual, "material", None)
                image = material_image(material)
                vuv = getattr(visual, "uv", None)
                if image is not None and vuv is not None and len(vuv) == len(m.vertices):
                    factor = material_factor(material)[:3]
                    key = (id(image), tuple(factor))
                    if key not in seen:
                        seen[key] = len(textures)
                        textures.append(image_array(image))
                        factors.append(factor)
                    tid[:] = seen[key]
                    uv = np.asarray(vuv, dtype=np.float32)[faces]
                elif material is not None:
                    rgb[:] = np.asarray(material.main_color, dtype=np.float64)[:3] / 255.0
                else:
                    has = False
            elif kind == "vertex":
                rgb = (np.asarray(visual.vertex_colors, dtype=np.float32)[:, :3] / 255.0)[faces]
            elif kind == "face":
                fc = np.asarray(visual.face_colors, dtype=np.float32)[:, :3] / 255.0
                rgb = np.repeat(fc[:, None, :], 3, axis=1)
            else:
                has = False
            tex_ids.append(tid)
            uvs.append(uv)
            corners.append(rgb)
            coloured.append(has)
        if not any(coloured):
            return None
        return cls(
            face_texture=np.concatenate(tex_ids),
            face_uv=np.concatenate(uvs),
            corner_rgb=np.concatenate(corners),
            textures=tuple(textures),
            factors=np.asarray(factors, dtype=np.float64).reshape(-1, 3),
        )


def material_image(material: Any) -> Any:
    """The base-colour image of a trimesh material (PBR ``baseColorTexture`` or simple ``image``)."""
    for attr in ("baseColorTexture", "image"):
        image = getattr(material, attr, None)
        if image is not None:
            return image
    return None


def material_factor(material: Any) -> np.ndarray:
    """(4,) RGBA multiplier in [0, 1] of a material's texture: glTF ``baseColorFactor``, else white."""
    factor = getattr(material, "baseColorFactor", None)
    if factor is None:
        return np.ones(4)
    raw = np.asarray(factor)
    f = raw.astype(np.float64).reshape(-1)
    if f.size == 3:
        f = np.append(f, 255.0 if raw.dtype.kind in "iu" or f.max() > 1.0 else 1.0)
    return f / 255.0 if raw.dtype.kind in "iu" or f.max() > 1.0 else f


def image_array(image: Any) -> np.ndarray:
    """A PIL image (any mode) or an array as an (H, W, 3) uint8 array."""
    if hasattr(image, "convert"):
        return np.asarray(image.convert("RGB"))
    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] < 3:
        raise InputError(f"expected an (H, W, 3) texture image, got shape {img.shape}")
    if img.dtype != np.uint8:
        img = np.clip(np.round(img.astype(np.float64) * (255.0 if img.dtype.kind == "f" else 1.0)), 0, 255).astype(np.uint8)
    return img[:, :, :3]


def bilinear_lookup(image: Any, uv: np.ndarray) -> np.ndarray:
    """Bilinear texture lookup with repeat wrap (GL texel centres; ``v = 0`` is the bottom row).

    Args:
        image: a PIL image or an (H, W, 3) uint8 array.
        uv: (N, 2) float texture coordinates, any range (wrapped).

    Returns:
        (N, 3) float64 colours in [0, 1].
    """
    img = image_array(image)
    h, w = img.shape[:2]
    x = uv[:, 0] * w - 0.5
    y = (1.0 - uv[:, 1]) * h - 0.5
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    x0 = x0.astype(np.int64) % w
    y0 = y0.astype(np.int64) % h
    x1, y1 = (x0 + 1) % w, (y0 + 1) % h
    top = img[y0, x0].astype(np.float64) * (1 - fx) + img[y0, x1].astype(np.float64) * fx
    bottom = img[y1, x0].astype(np.float64) * (1 - fx) + img[y1, x1].astype(np.float64) * fx
    return (top * (1 - fy) + bottom * fy) / 255.0
