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


def test_prepare_overlapping_render_and_superpoints_changes_nothing() -> None:
    """Superpoints beside the render (torch may use 2 threads) == one after the other (1 thread)."""
    import torch

    shape = synthetic.generate("Chair", 1, n_points=4000)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        both = prepare_shape(shape, "tiny")
        torch.set_num_threads(1)
        serial = prepare_shape(shape, "tiny")
    finally:
        torch.set_num_threads(threads)
    assert list(both.timings) == list(serial.timings) == ["normalize", "render", "superpoints"]
    np.testing.assert_array_equal(both.superpoints, serial.superpoints)
    for field in ("rgb", "pix2point", "visible", "screen_xy", "depth"):
        np.testing.assert_array_equal(getattr(both.views, field), getattr(serial.views, field))
    assert prepare_shape(shape, "tiny", superpoints=False).superpoints is None
