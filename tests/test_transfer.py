"""Label transfer: nearest neighbour between point sets, and points -> mesh faces."""

from __future__ import annotations

import numpy as np
import pytest

from partlift.errors import InputError
from partlift.transfer import nearest_neighbour_labels, points_to_faces


def test_nearest_neighbour_labels_hand_case():
    src = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], np.float32)
    lab = np.array([5, 6, 7])
    dst = np.array([[0.9, 0.1, 0], [0.1, 0.0, 0], [0, 2, 0]], np.float32)
    assert nearest_neighbour_labels(src, lab, dst).tolist() == [6, 5, 7]


def test_nearest_neighbour_labels_2d_and_errors():
    src = np.zeros((2, 3), np.float32)
    src[1, 0] = 1
    out = nearest_neighbour_labels(src, np.array([[1, 2], [3, 4]]), np.array([[0.8, 0, 0]], np.float32))
    assert out.tolist() == [[3, 4]]
    with pytest.raises(InputError, match="2 source points but 3 labels"):
        nearest_neighbour_labels(src, np.arange(3), src)
    with pytest.raises(InputError, match="empty"):
        nearest_neighbour_labels(np.zeros((0, 3)), np.zeros(0), src)


def test_points_to_faces_majority_ties_and_empty_faces():
    # 3 faces; face 0 gets labels [1, 1, -1] -> 1; face 1 gets [2, -1] -> tie -> -1 (smaller);
    # face 2 gets nothing -> label of the nearest point to its centre (the point at x=5, label 2).
    face_index = np.array([0, 0, 0, 1, 1])
    labels = np.array([1, 1, -1, 2, -1])
    xyz = np.array([[0, 0, 0], [0, 0, 0], [0, 0, 0], [5, 0, 0], [3, 0, 0]], np.float32)
    centers = np.array([[0, 0, 0], [4, 0, 0], [6, 0, 0]], np.float32)
    out = points_to_faces(face_index, labels, 3, centers, xyz)
    assert out.tolist() == [1, -1, 2]
    assert out.dtype == np.int64


def test_points_to_faces_shape_errors():
    with pytest.raises(InputError, match="expected face_index"):
        points_to_faces(np.zeros(2, int), np.zeros(3, int), 1, np.zeros((1, 3)), np.zeros((3, 3)))
