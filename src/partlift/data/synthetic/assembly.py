"""Assemble pieces with materials and part labels into one textured, labelled mesh.

A category generator creates an :class:`Assembly`, asks it for part instances by PartNet-E part
name (checked against the category's names from ``PartNetE_meta.json``), adds pieces with a
material to an instance (or to no part: label -1, like a cabinet's body in PartNet-E), and calls
:meth:`Assembly.build`. The result is a :class:`LabelledMesh`: a ``trimesh.Trimesh`` with a
texture atlas (one tile per textured piece) and per-face semantic labels and instance ids, faces
in the order the pieces were added.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh
from PIL import Image

from partlift.data.meta import part_names as meta_part_names
from partlift.data.synthetic.materials import Material, render_tile
from partlift.data.synthetic.primitives import Piece
from partlift.errors import InputError

__all__ = ["Assembly", "LabelledMesh", "TILE_PX"]

TILE_PX = 64
"""Texture tile edge in pixels (one tile per textured piece)."""

_MARGIN_PX = 2  # uv stays this far inside its tile so bilinear lookups never bleed across tiles


@dataclass(frozen=True, eq=False)
class LabelledMesh:
    """A generated mesh with per-face part labels.

    Attributes:
        mesh: ``trimesh.Trimesh`` (object frame: +Y up, metres, standing on y = 0) with
            ``TextureVisuals`` (per-vertex uv + a PIL atlas image).
        face_semantic: (F,) int64 index into ``part_names``; -1 = no named part.
        face_instance: (F,) int64 part-instance id, 0..K-1 in creation order; -1 = none.
        part_names: the category's PartNet-E part names (index = label id).
        category: PartNet-E category name.
        name: identifier, e.g. "Chair/synth_000007".
    """

    mesh: trimesh.Trimesh
    face_semantic: np.ndarray
    face_instance: np.ndarray
    part_names: tuple[str, ...]
    category: str
    name: str

    @property
    def n_instances(self) -> int:
        return int(self.face_instance.max()) + 1 if self.face_instance.size else 0


class Assembly:
    """Collects labelled, textured pieces of one shape (not thread-safe; one per shape)."""

    def __init__(self, category: str, rng: np.random.Generator) -> None:
        self.category = category
        self.part_names = meta_part_names(category)
        self.rng = rng
        self._pieces: list[tuple[Piece, Material, int, int]] = []
        self._instance_part: list[int] = []

    def instance(self, part: str) -> int:
        """A new instance id of part ``part`` (a PartNet-E name of this category)."""
        if part not in self.part_names:
            raise InputError(
                f"synthetic {self.category}: part {part!r} is not a PartNet-E part of "
                f"{self.category}; its parts are {list(self.part_names)}"
            )
        self._instance_part.append(self.part_names.index(part))
        return len(self._instance_part) - 1

    def add(self, piece: Piece, material: Material, instance: int | None = None) -> None:
        """Add ``piece`` with ``material`` to ``instance`` (from :meth:`instance`), or unlabelled."""
        if instance is None:
            sem, ins = -1, -1
        else:
            if not 0 <= instance < len(self._instance_part):
                raise InputError(f"synthetic {self.category}: unknown instance id {instance}")
            sem, ins = self._instance_part[instance], instance
        self._pieces.append((piece, material, sem, ins))

    def part(self, part: str, pieces: list[Piece] | Piece, material: Material) -> int:
        """Shortcut: a new instance of ``part`` made of ``pieces`` in one material; its id."""
        ins = self.instance(part)
        for p in pieces if isinstance(pieces, list) else [pieces]:
            self.add(p, material, ins)
        return ins

    def restyle(self, rng: np.random.Generator) -> None:
        """Make the pieces added so far realism ``v2`` (:func:`.restyle.restyle`), drawing from ``rng``."""
        from partlift.data.synthetic.restyle import restyle

        self._pieces = restyle(self._pieces, rng)

    def build(self, name: str) -> LabelledMesh:
        """The textured mesh with per-face labels, faces in the order pieces were added."""
        if not self._pieces:
            raise InputError(f"synthetic {self.category}: no pieces were added")
        used = sorted({ins for _, _, _, ins in self._pieces if ins >= 0})
        if used != list(range(len(self._instance_part))):
            raise InputError(f"synthetic {self.category}: instances without pieces: "
                             f"{sorted(set(range(len(self._instance_part))) - set(used))}")
        # one tile per textured piece; flat materials share a tile
        tile_of: list[int] = []
        tiles: list[np.ndarray] = []
        flat: dict[Material, int] = {}
        for piece, mat, _, _ in self._pieces:
            if mat.is_flat and mat in flat:
                tile_of.append(flat[mat])
                continue
            tiles.append(render_tile(mat, piece.size_uv, TILE_PX, self.rng))
            tile_of.append(len(tiles) - 1)
            if mat.is_flat:
                flat[mat] = len(tiles) - 1
        n = len(tiles)
        cols = int(np.ceil(np.sqrt(n)))
        rows = int(np.ceil(n / cols))
        atlas = np.zeros((rows * TILE_PX, cols * TILE_PX, 3), np.uint8)
        for k, t in enumerate(tiles):
            r, c = divmod(k, cols)
            atlas[r * TILE_PX:(r + 1) * TILE_PX, c * TILE_PX:(c + 1) * TILE_PX] = t
        h, w = atlas.shape[:2]
        inner = TILE_PX - 2 * _MARGIN_PX

        verts, faces, uvs, sem, ins = [], [], [], [], []
        off = 0
        for (piece, _, s, i), k in zip(self._pieces, tile_of, strict=True):
            r, c = divmod(k, cols)
            uv = np.empty_like(piece.uv)
            uv[:, 0] = (c * TILE_PX + _MARGIN_PX + piece.uv[:, 0] * inner) / w
            uv[:, 1] = 1.0 - ((r + 1) * TILE_PX - _MARGIN_PX - piece.uv[:, 1] * inner) / h
            verts.append(piece.vertices)
            faces.append(piece.faces + off)
            uvs.append(uv)
            off += len(piece.vertices)
            nf = len(piece.faces)
            sem.append(np.full(nf, s, np.int64))
            ins.append(np.full(nf, i, np.int64))
        visual = trimesh.visual.TextureVisuals(
            uv=np.concatenate(uvs),
            material=trimesh.visual.material.SimpleMaterial(image=Image.fromarray(atlas)),
        )
        mesh = trimesh.Trimesh(
            vertices=np.concatenate(verts),
            faces=np.concatenate(faces),
            visual=visual,
            process=False,
        )
        return LabelledMesh(
            mesh=mesh,
            face_semantic=np.concatenate(sem),
            face_instance=np.concatenate(ins),
            part_names=self.part_names,
            category=self.category,
            name=name,
        )
