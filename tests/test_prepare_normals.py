"""prepare_shape's normals and superpoints: one kd-tree query shared, same arrays as computed apart."""

from __future__ import annotations

import numpy as np

from partlift.data import synthetic
from partlift.geometry import ensure_normals, normalize
from partlift.prepare import prepare_shape
from partlift.superpoints import SuperpointConfig, superpoints_for_shape


def test_prepare_shares_the_normal_search_with_the_graph_and_changes_nothing() -> None:
    shape = synthetic.generate("Chair", 0, n_points=4000)
    prepared = prepare_shape(shape, "tiny")
    apart = ensure_normals(normalize(shape).replace(normals=None), workers=-1)
    np.testing.assert_array_equal(prepared.shape.normals, apart.normals)
    np.testing.assert_array_equal(prepared.superpoints, superpoints_for_shape(apart))
    # a graph wider than the normals' 30-NN still gets one table (k + 1 columns)
    wide = SuperpointConfig(k=40)
    np.testing.assert_array_equal(prepare_shape(shape, "tiny", superpoint_config=wide).superpoints,
                                  superpoints_for_shape(apart, wide))
