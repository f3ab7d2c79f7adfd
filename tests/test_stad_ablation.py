"""The PartSTAD ablation script (benchmarks/partstad_ablation.py): its tables and files."""

from __future__ import annotations

import json

import pytest

from benchmark_scripts import load

ablation = load("partstad_ablation")


def _results():
    # two categories with hand-picked fractions: each mean is the plain mean of the two columns
    rows = ablation.ROWS
    chair = {"category": "Chair", "miou": dict(zip(rows, (0.5, 0.6, 0.7, 0.8, 0.9), strict=True)),
             "map50": dict(zip(rows, (0.1, 0.2, 0.3, 0.4, 0.5), strict=True))}
    lamp = {"category": "Lamp", "miou": dict(zip(rows, (0.25, 0.6, 0.5, 0.6, 0.1), strict=True)),
            "map50": dict(zip(rows, (0.3, 0.2, 0.1, 0.0, 0.5), strict=True))}
    return [chair, lamp]


def test_format_table_rows_columns_and_means():
    lines = ablation.format_table(_results(), "miou").splitlines()
    assert lines[0] == "| configuration | Chair | Lamp | mean |"
    assert lines[1] == "|---|---:|---:|---:|"
    assert lines[2:] == [
        "| partslip | 50.0 | 25.0 | **37.5** |",
        "| +masks | 60.0 | 60.0 | **60.0** |",
        "| +weights | 70.0 | 50.0 | **60.0** |",
        "| full | 80.0 | 60.0 | **70.0** |",
        "| masks+null | 90.0 | 10.0 | **50.0** |",
    ]
    map_lines = ablation.format_table(_results(), "map50", rows=("full",)).splitlines()
    assert map_lines[2:] == ["| full | 40.0 | 0.0 | **20.0** |"]


def test_format_table_needs_every_row():
    res = _results()
    del res[1]["miou"]["full"]
    with pytest.raises(KeyError):
        ablation.format_table(res, "miou")


def test_write_keeps_json_and_markdown_in_step(tmp_path):
    ablation._write(tmp_path, _results(), {"seed": 0})
    data = json.loads((tmp_path / "ablation.json").read_text())
    assert data["settings"] == {"seed": 0} and data["results"] == _results()
    md = (tmp_path / "ablation.md").read_text()
    assert md.startswith("### mIoU (%)\n\n| configuration | Chair | Lamp | mean |")
    assert "### mAP50 (%)" in md and "| partslip | 10.0 | 30.0 | **20.0** |" in md
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ablation.json", "ablation.md"]


def test_main_rejects_an_unknown_option(capsys):
    with pytest.raises(SystemExit) as err:
        ablation.main(["--nonsense"])
    assert err.value.code == 2 and "partstad_ablation.py" in capsys.readouterr().err


def test_tiny_run_end_to_end(tmp_path, capsys):
    out = tmp_path / "ablation"
    assert ablation.main(["--categories", "Chair", "--shots", "2", "--val", "1", "--test", "1", "--preset", "tiny",
                          "--points", "1500", "--epochs", "3", "--out", str(out)]) == 0
    data = json.loads((out / "ablation.json").read_text())
    assert data["settings"]["epochs"] == 3 and data["settings"]["preset"] == "tiny"
    (res,) = data["results"]
    assert res["n_shapes"] == {"train": 2, "val": 1, "test": 1}
    assert set(res["miou"]) == set(res["map50"]) == set(ablation.ROWS)
    assert set(res["fit_seconds"]) == {"+weights", "full", "masks+null"}
    for metric in ("miou", "map50"):
        assert all(0.0 <= v <= 1.0 for v in res[metric].values())
    # the simulated few-shot teacher's boxes, voted, label a good part of the chair
    assert res["miou"]["partslip"] > 0.5
    md = (out / "ablation.md").read_text()
    assert ablation.format_table(data["results"], "miou") in md
    assert ablation.format_table(data["results"], "map50") in capsys.readouterr().out
