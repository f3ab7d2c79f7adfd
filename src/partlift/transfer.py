"""Carry labels between point sets and from sampled points to mesh faces."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from partlift.errors import InputError


def nearest_neighbour_labels(
    src_xyz: np.ndarray, src_labels: np.ndarray, dst_xyz: np.ndarray
) -> np.ndarray:
    """Label each of ``dst_xyz`` (M, 3) with the label of its nearest point in ``src_xyz`` (N, 3).

    ``src_labels`` may be (N,) or (N, K); the result has shape (M,) or (M, K). Both point sets
    must be in the same frame.
    """
    if src_xyz.shape[0] != src_labels.shape[0]:
        raise InputError(
            f"nearest_neighbour_labels: {src_xyz.shape[0]} source points but "
            f"{src_labels.shape[0]} labels"
        )
    if src_xyz.shape[0] == 0:
        raise InputError("nearest_neighbour_labels: the source point set is empty")
    _, idx = cKDTree(src_xyz).query(dst_xyz, k=1)
    return src_labels[idx]


def points_to_faces(
    face_index: np.ndarray,
    labels: np.ndarray,
    n_faces: int,
    face_centers: np.ndarray,
    point_xyz: np.ndarray,
) -> np.ndarray:
    """Per-face labels from labels of points sampled on a mesh.

    Each face takes the most frequent label among the points sampled on it (ties: the smaller
    label, -1 counting as a label). Faces that received no sample take the label of the sampled
    point nearest to their centre.

    Args:
        face_index: (N,) int64 face each point was sampled from.
        labels: (N,) int64 point labels (-1 allowed).
        n_faces: F, the number of faces.
        face_centers: (F, 3) face centroids, same frame as ``point_xyz``.
        point_xyz: (N, 3) sampled points.

    Returns:
        (F,) int64 face labels.
    """
    n = labels.shape[0]
    if face_index.shape != (n,) or point_xyz.shape != (n, 3):
        raise InputError(
            f"points_to_faces: expected face_index (N,) and point_xyz (N, 3) for N={n} labels, "
            f"got {face_index.shape} and {point_xyz.shape}"
        )
    shifted = labels.astype(np.int64) + 1  # -1 -> 0
    n_labels = int(shifted.max()) + 1 if n else 1
    counts = np.zeros((n_faces, n_labels), np.int64)
    np.add.at(counts, (face_index, shifted), 1)
    out = counts.argmax(axis=1) - 1
    empty = counts.sum(axis=1) == 0
    if empty.any() and n:
        out[empty] = nearest_neighbour_labels(point_xyz, labels, face_centers[empty])
    return out.astype(np.int64)
