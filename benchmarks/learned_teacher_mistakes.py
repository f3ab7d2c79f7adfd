"""How the learned teacher's 2D mistakes differ from the simulated profiles' on the real dev shapes.

    python benchmarks/learned_teacher_mistakes.py [--teacher learned[:FILE]] \
        [--root ../shared/data/partnete_real_dev] [--compare simulated:zeroshot simulated:fewshot] \
        [--preset partslip] [--picture KitchenPot/15 Bucket/448 StorageFurniture/45940] \
        [--out out/learned_mistakes]

For every real dev shape whose category the learned checkpoint knows, the shape is prepared as the
pipeline does (normalised, normals estimated, rendered with ``--preset``;
:func:`partlift.prepare.prepare_shape`) and every teacher predicts the shape's own part names on
the same views. Each teacher's predictions become per-pixel label maps (highest score wins) and are
compared with the ground truth rendered through the same pixel -> point maps
(:mod:`partlift.teachers.learned.diagnose`):

(a) cross-view consistency: for points seen in >= 2 views, the fraction of view pairs that give the
    point the same label ("none" included), over all points, part points and unlabelled points;
(b) missed small parts: per ground-truth part instance and view, hit rate (>= 50 % of its visible
    pixels given its part) and mean recall by size bin (visible pixels / the view's object pixels);
(c) confusions between parts: the largest part -> other part pixel rates;
(d) leaks into unlabelled regions: of the object pixels (and seen (view, point) pairs) given a
    part, the fraction whose ground truth is unlabelled (-1); also the miss rate and pixel mIoU.

Writes ``mistakes.json``, ``mistakes.md`` (the tables) and ``mistakes.png`` (for the ``--picture``
shapes, one view each — the view showing the most ground-truth parts, then the most part pixels:
rendered RGB, ground truth, the learned teacher, the first ``--compare`` teacher) into ``--out``.
The simulated profiles use their frozen seeds. Any learned checkpoint works (``learned:FILE``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from partlift.teachers.learned import diagnose as dg

DEFAULT_PICTURE = ("KitchenPot/15", "Bucket/448", "StorageFurniture/45940")


def _new_stats() -> dict[str, Any]:
    return {"agree": {k: [0, 0] for k in ("all", "part", "unlabelled")}, "records": [], "conf_pix": {},
            "gt_pix": {}, "pix": np.zeros(4, np.int64), "pts": np.zeros(4, np.int64), "miou": {},
            "seconds": 0.0, "shapes": {}}


def _counts(m: np.ndarray) -> np.ndarray:
    """(leaked, predicted-as-part, missed, part) counts of a confusion matrix."""
    return np.array([m[0, 1:].sum(), m[:, 1:].sum(), m[1:, 0].sum(), m[1:].sum()], np.int64)


def _ratio(a: int, b: int) -> float | None:
    return float(a / b) if b else None


def _pick_view(gsem: np.ndarray) -> int:
    """The view showing the most distinct ground-truth parts, then the most part pixels."""
    keys = [(len(np.unique(g[g >= 0])), int((g >= 0).sum())) for g in gsem]
    return max(range(len(keys)), key=lambda v: (keys[v], -v))


def analyse_shape(shape: Any, teachers: dict[str, Any], preset: str, stats: dict[str, dict], picture: dict,
                  want_picture: bool) -> int:
    """Add one shape's diagnostics to ``stats`` (and its picture view); returns its view count."""
    from partlift.prepare import prepare_shape

    prep = prepare_shape(shape, preset, superpoints=False)
    norm, views = prep.shape, prep.views
    names = tuple(shape.part_names)
    sem = np.asarray(norm.semantic, np.int64)
    ins = np.asarray(norm.instance if norm.instance is not None else norm.semantic, np.int64)
    gsem, gins = dg.gt_maps(views, sem), dg.gt_maps(views, ins)
    view = _pick_view(gsem) if want_picture else None
    if want_picture:
        picture[shape.name] = {"view": view, "rgb": views.rgb[view], "gt": gsem[view], "names": names, "pred": {}}
    for spec, teacher in teachers.items():
        st = stats[spec]
        t = time.perf_counter()
        preds = teacher.predict(views, names, norm)
        st["seconds"] += time.perf_counter() - t
        maps = dg.label_maps(preds, views.n_views)
        plab = dg.point_labels(maps, views.pix2point, views.n_points)
        for key, subset in (("all", None), ("part", sem >= 0), ("unlabelled", sem < 0)):
            a = dg.cross_view_agreement(plab, subset)
            st["agree"][key][0] += a["agreeing"]
            st["agree"][key][1] += a["pairs"]
        for v in range(views.n_views):
            for r in dg.instance_records(maps[v], gsem[v], gins[v]):
                st["records"].append({**r, "shape": shape.name, "view": v, "part": names[r["part"]]})
        m = dg.confusion_matrix(maps, gsem, len(names))
        gt_pts = np.where(plab == dg.UNSEEN, dg.BACKGROUND, np.broadcast_to(sem, plab.shape))
        mp = dg.confusion_matrix(np.where(plab == dg.UNSEEN, dg.NONE, plab), gt_pts, len(names))
        st["pix"] += _counts(m)
        st["pts"] += _counts(mp)
        st["miou"].setdefault(shape.category, []).append(m)
        for k, name in enumerate(names):
            key = (shape.category, name)
            st["gt_pix"][key] = st["gt_pix"].get(key, 0) + int(m[k + 1].sum())
        for c in dg.top_confusions(m, names, k=len(names) ** 2):
            key = (shape.category, c["gt"], c["pred"])
            st["conf_pix"][key] = st["conf_pix"].get(key, 0) + c["pixels"]
        ious = [x for x in dg.pixel_iou(m) if x is not None]
        a_all = dg.cross_view_agreement(plab)
        st["shapes"][shape.name] = {
            "pixel_miou": float(np.mean(ious)) if ious else None, "leak": dg.leak_rate(m), "miss": dg.miss_rate(m),
            "agreement": a_all["agreement"], "n_predictions": len(preds)}
        if want_picture:
            picture[shape.name]["pred"][spec] = maps[view]
    return views.n_views


def summarise(stats: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec, st in stats.items():
        cat_miou = {}
        conf_all = []
        for cat, ms in st["miou"].items():
            m = np.sum(ms, axis=0)
            vals = [x for x in dg.pixel_iou(m) if x is not None]
            cat_miou[cat] = float(np.mean(vals)) if vals else None
        # confusions pooled per category (pixels summed over its shapes)
        for (cat, g, p), px in st["conf_pix"].items():
            conf_all.append({"category": cat, "gt": g, "pred": p, "pixels": px, "rate": px / st["gt_pix"][(cat, g)]})
        conf_all.sort(key=lambda r: (-r["rate"], -r["pixels"]))
        vals = [v for v in cat_miou.values() if v is not None]
        out[spec] = {
            "pixel_miou": float(np.mean(vals)) if vals else None, "pixel_miou_per_category": cat_miou,
            "agreement": {k: _ratio(*v) for k, v in st["agree"].items()},
            "agreement_pairs": {k: v[1] for k, v in st["agree"].items()},
            "leak_pixels": _ratio(st["pix"][0], st["pix"][1]), "leak_points": _ratio(st["pts"][0], st["pts"][1]),
            "leak_shape_mean": _mean([r["leak"] for r in st["shapes"].values()]),
            "miss_pixels": _ratio(st["pix"][2], st["pix"][3]), "miss_points": _ratio(st["pts"][2], st["pts"][3]),
            "recall_by_size": dg.recall_by_size(st["records"]),
            "instances": len(st["records"]),
            "top_confusions": conf_all[:8],
            "teacher_seconds": st["seconds"], "shapes": st["shapes"],
        }
    return out


def _mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}"


def markdown(summary: dict[str, Any], names: dict[str, str], meta: dict[str, Any]) -> str:
    specs = list(summary)
    lines = [(f"Shapes: {', '.join(meta['shapes'])} (preset `{meta['preset']}`, {meta['views']} views each). "
             f"Teachers: {', '.join(f'`{s}` = {names[s]}' for s in specs)}."), ""]
    lines += [("| teacher | pixel mIoU | cross-view agreement: all / part / unlabelled points | leak: pixels / points / "
              "mean of shapes "
              "| missed part pixels | teacher s/shape |"), "|---|---|---|---|---|---|"]
    for s in specs:
        r = summary[s]
        a = r["agreement"]
        lines.append(f"| `{s}` | {_pct(r['pixel_miou'])} | {_pct(a['all'])} / {_pct(a['part'])} / "
                     f"{_pct(a['unlabelled'])} | {_pct(r['leak_pixels'])} / {_pct(r['leak_points'])} / "
                     f"{_pct(r['leak_shape_mean'])} | "
                     f"{_pct(r['miss_pixels'])} | {r['teacher_seconds'] / max(1, len(meta['shapes'])):.2f} |")
    bins = summary[specs[0]]["recall_by_size"]
    head = " | ".join(f"{100 * b['lo']:g}–{100 * b['hi']:g} %" for b in bins)
    lines += ["", ("Part instances per view by visible size (share of the view's object pixels): hit rate "
              "(>= 50 % of the instance's pixels given its part) / mean pixel recall, "
              f"n = {', '.join(str(b['instances']) for b in bins)} instances per bin."), "",
              f"| teacher | {head} |", "|---|" + "---|" * len(bins)]
    for s in specs:
        cells = [f"{_pct(b['hit_rate'])} / {_pct(b['recall'])}" for b in summary[s]["recall_by_size"]]
        lines.append(f"| `{s}` | {' | '.join(cells)} |")
    lines += ["", ("Largest confusions between parts (pixels of the ground-truth part given the other part, "
              "pooled over the category's shapes):"), "", "| teacher | top confusions |", "|---|---|"]
    for s in specs:
        conf = summary[s]["top_confusions"][:5]
        txt = "; ".join(f"{c['category']} {c['gt']} → {c['pred']} {_pct(c['rate'])} %" for c in conf) or "none"
        lines.append(f"| `{s}` | {txt} |")
    shapes = list(summary[specs[0]]["shapes"])
    lines += ["", "Per shape: pixel mIoU / leak (pixels) / cross-view agreement (all points):", "",
              "| shape | " + " | ".join(f"`{s}`" for s in specs) + " |", "|---|" + "---|" * len(specs)]
    for sh in shapes:
        cells = []
        for s in specs:
            r = summary[s]["shapes"][sh]
            cells.append(f"{_pct(r['pixel_miou'])} / {_pct(r['leak'])} / {_pct(r['agreement'])}")
        lines.append(f"| {sh} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def draw(picture: dict[str, Any], specs: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from partlift.palette import UNLABELLED_RGB, part_palette

    def colour(labels: np.ndarray, fg: np.ndarray, n: int) -> np.ndarray:
        pal = np.vstack([part_palette(n), np.asarray(UNLABELLED_RGB, np.uint8)[None]])
        img = pal[np.where(labels < 0, n, labels)]
        img[~fg] = 255
        return img

    rows = list(picture)
    cols = ["rendered view", "ground truth", *specs]
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(2.1 * len(cols), 2.25 * len(rows)), squeeze=False)
    for i, name in enumerate(rows):
        p = picture[name]
        fg = p["gt"] != dg.BACKGROUND
        ys, xs = np.nonzero(fg)
        pad = 12
        y0, y1 = max(0, ys.min() - pad), min(fg.shape[0], ys.max() + pad + 1)
        x0, x1 = max(0, xs.min() - pad), min(fg.shape[1], xs.max() + pad + 1)
        n = len(p["names"])
        panels = [p["rgb"], colour(p["gt"], fg, n), *[colour(p["pred"][s], fg, n) for s in specs]]
        for j, img in enumerate(panels):
            ax = axes[i, j]
            ax.imshow(img[y0:y1, x0:x1], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(cols[j], fontsize=8)
        axes[i, 0].set_ylabel(f"{name}\nview {p['view']}", fontsize=8)
        pal = part_palette(n) / 255.0
        handles = [Patch(color=pal[k], label=nm) for k, nm in enumerate(p["names"])]
        handles.append(Patch(color=np.asarray(UNLABELLED_RGB) / 255.0, label="no part"))
        axes[i, -1].legend(handles=handles, loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> int:
    from partlift.data.partnete import PartNetEDataset
    from partlift.teachers.registry import build_teacher

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher", default="learned", help="learned or learned:FILE (default: the packaged one)")
    ap.add_argument("--root", default="../shared/data/partnete_real_dev")
    ap.add_argument("--compare", nargs="+", default=["simulated:zeroshot", "simulated:fewshot"])
    ap.add_argument("--preset", default="partslip")
    ap.add_argument("--picture", nargs="*", default=list(DEFAULT_PICTURE), help="shapes drawn in mistakes.png")
    ap.add_argument("--out", default="out/learned_mistakes")
    args = ap.parse_args()
    if not args.teacher.split(":")[0] == "learned":
        raise SystemExit(f"--teacher: expected learned or learned:FILE, got {args.teacher!r}")
    t_start = time.perf_counter()
    teachers = {spec: build_teacher(spec) for spec in [args.teacher, *args.compare]}
    learned = teachers[args.teacher]
    ds = PartNetEDataset(args.root)
    shapes, skipped = [], []
    for sid in ds.shape_ids():
        s = ds.load(sid)
        (shapes if s.category in learned.vocab.categories else skipped).append(s)
    if not shapes:
        raise SystemExit(f"no shape under {args.root} of a category the checkpoint knows ({learned.vocab.categories})")
    stats = {spec: _new_stats() for spec in teachers}
    picture: dict[str, Any] = {}
    for s in shapes:
        t = time.perf_counter()
        n_views = analyse_shape(s, teachers, args.preset, stats, picture, s.name in args.picture)
        print(f"{s.name}: {time.perf_counter() - t:.1f}s", flush=True)
    summary = summarise(stats)
    names = {spec: t.name for spec, t in teachers.items()}
    meta = {"shapes": [s.name for s in shapes], "skipped": [s.name for s in skipped], "preset": args.preset,
            "views": n_views, "root": args.root, "teachers": names,
            "seconds": time.perf_counter() - t_start, "load_average": list(os.getloadavg())}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "mistakes.json").write_text(json.dumps({"meta": meta, "teachers": summary}, indent=1))
    md = markdown(summary, names, meta)
    (out / "mistakes.md").write_text(md)
    if picture:
        order = [n for n in args.picture if n in picture]
        draw({n: picture[n] for n in order}, [args.teacher, args.compare[0]], out / "mistakes.png")
    print(md)
    print(f"wrote {out}/ (mistakes.json, mistakes.md{', mistakes.png' if picture else ''}) in "
          f"{meta['seconds']:.0f} s, load average {meta['load_average'][0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
