"""``partlift speed throughput``: the rig's record on a tiny batch (figures, not timings)."""

from __future__ import annotations

import pytest

from partlift.errors import InputError


def test_throughput_record_fields() -> None:
    from partlift.bench.speed import get_stage, list_stages
    from partlift.bench.speed.throughput import speed_throughput

    assert "throughput" in list_stages() and get_stage("throughput") is speed_throughput
    r = speed_throughput(1500, "cpu", shapes=2)
    assert r["stage"] == "throughput" and r["shapes"] == 2 and r["points"] == 1500
    assert len(r["categories"]) == 2 and r["categories"][0] != r["categories"][1]
    steps = r["seconds_by_step"]
    assert {"prepare", "method", "teacher", "prepare.render", "prepare.superpoints"} <= set(steps)
    # teacher excluded = prepare + method (pass 1); included = pass 2's segment calls' wall time,
    # the teacher overlapping the superpoints (so not necessarily >= the sum of the parts)
    assert r["seconds"] == pytest.approx(steps["prepare"] + steps["method"], abs=2e-3)
    assert r["teacher_seconds"] == pytest.approx(steps["teacher"], abs=1e-3) and r["teacher_seconds"] > 0
    assert r["seconds_with_teacher"] > 0
    assert r["shapes_per_minute"] == pytest.approx(60 * 2 / r["seconds"], rel=2e-2)
    assert r["shapes_per_minute_with_teacher"] == pytest.approx(60 * 2 / r["seconds_with_teacher"], rel=2e-2)
    per = r["seconds_per_shape"]
    assert 0 < per["min"] <= per["median"] <= per["max"] <= r["seconds"]
    assert r["cpu_seconds"] > 0 and r["load_average_1min"] >= 0


def test_throughput_rejects_bad_batch() -> None:
    from partlift.bench.speed.throughput import speed_throughput

    with pytest.raises(InputError, match="shapes must be an int >= 1"):
        speed_throughput(1500, "cpu", shapes=0)
    with pytest.raises(InputError, match="points must be >= 100"):
        speed_throughput(10, "cpu", shapes=1)
