"""Draw a teacher's 2D predictions on the rendered views (PNG outputs of ``partlift predict``).

Each prediction is drawn in its part's colour (:func:`partlift.palette.part_palette`): the mask,
when present, as its outline over a light tint (a strong fill read as texture); the box as an
outline; and a tag ``"<part> 0.87"`` whose text size scales with the image (~1/20 of its short
side, at least 11 px), so that it stays legible when the image is shown small.
Also writes the predictions as JSON (boxes, labels, names, scores; masks optionally as ``.npz``).
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from partlift import atomic
from partlift.errors import InputError
from partlift.palette import part_palette
from partlift.types import Predictions, Views

__all__ = [
    "draw_predictions",
    "scaled_font",
    "predictions_to_json",
    "save_prediction_pngs",
    "save_predictions_json",
    "save_prediction_masks",
]

MASK_ALPHA = 0.18
"""Opacity of a mask's tint (its outline is drawn opaque)."""


def scaled_font(image_height: int, fraction: float = 1 / 20, minimum: int = 11) -> ImageFont.ImageFont:
    """PIL's default font at ``max(minimum, fraction * image_height)`` pixels."""
    size = max(minimum, round(fraction * image_height))
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font
        return ImageFont.load_default()


def _mask_outline(mask: np.ndarray, width: int) -> np.ndarray:
    """Pixels of ``mask`` within ``width`` pixels of its border."""
    from scipy.ndimage import binary_erosion

    return mask & ~binary_erosion(mask, iterations=width, border_value=0)


def draw_predictions(image: np.ndarray, preds: Predictions, view: int) -> np.ndarray:
    """(H, W, 3) uint8 copy of ``image`` with the predictions of ``view`` drawn on it.

    Masks are blended in order of increasing score (so the most confident lies on top), then
    boxes and tags are drawn. Box coordinates are in the screen frame (pixel centres at integer
    coordinates); an outline is drawn on the pixels just outside the box.
    """
    if not (isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3):
        raise InputError(f"draw_predictions: expected an (H, W, 3) uint8 image, got {getattr(image, 'shape', image)}")
    if tuple(image.shape[:2]) != tuple(preds.image_size):
        raise InputError(
            f"draw_predictions: image is {image.shape[:2]} but predictions were made on {preds.image_size}"
        )
    pal = part_palette(len(preds.part_names)).astype(np.float32)
    idx = np.flatnonzero(preds.view == view)
    idx = idx[np.argsort(preds.score[idx], kind="stable")]
    out = image.astype(np.float32)
    h, w = preds.image_size
    width = max(1, round(min(h, w) / 300))
    if preds.masks is not None:
        for d in idx:
            m = preds.masks[d]
            out[m] = (1 - MASK_ALPHA) * out[m] + MASK_ALPHA * pal[preds.label[d]]
        for d in idx:
            out[_mask_outline(preds.masks[d], 2 * width)] = pal[preds.label[d]]
    pil = Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    font = scaled_font(min(h, w))
    for d in idx:
        col = tuple(int(c) for c in pal[preds.label[d]])
        x1, y1, x2, y2 = (float(t) for t in preds.boxes[d])
        # Outline on the pixels just outside the box (pixel c spans [c - 0.5, c + 0.5)).
        x1, y1, x2, y2 = math.floor(x1), math.floor(y1), math.ceil(x2), math.ceil(y2)
        draw.rectangle([x1, y1, x2, y2], outline=col, width=width)
        tag = f"{preds.part_names[preds.label[d]]} {preds.score[d]:.2f}"
        th = draw.textbbox((0, 0), tag, font=font)[3]
        tx, ty = max(0.0, x1), max(0.0, y1 - th - 2)
        bbox = draw.textbbox((tx, ty), tag, font=font)
        draw.rectangle(bbox, fill=col)
        draw.text((tx, ty), tag, fill=(0, 0, 0), font=font)
    return np.asarray(pil)




def save_prediction_pngs(views: Views, preds: Predictions, out_dir: str | Path) -> list[Path]:
    """Write ``view_XX.png`` (one per view, predictions drawn) into ``out_dir``; returns the paths."""
    out = Path(out_dir)
    paths = []
    for v in range(views.n_views):
        img = draw_predictions(views.rgb[v], preds, v)
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="PNG")
        path = out / f"view_{v:02d}.png"
        atomic.write_bytes(path, buf.getvalue())
        paths.append(path)
    return paths


def predictions_to_json(preds: Predictions) -> dict[str, Any]:
    """A JSON-ready dict: teacher, part names, image size and one record per prediction."""
    records = [
        {
            "view": int(preds.view[d]),
            "label": int(preds.label[d]),
            "part": preds.part_names[preds.label[d]],
            "score": round(float(preds.score[d]), 6),
            "box_xyxy": [round(float(t), 3) for t in preds.boxes[d]],
        }
        for d in range(len(preds))
    ]
    return {
        "teacher": preds.teacher,
        "part_names": list(preds.part_names),
        "image_size": list(preds.image_size),
        "box_frame": "screen pixels: x = column, y = row, origin at the top-left pixel centre",
        "n_predictions": len(preds),
        "predictions": records,
    }


def save_predictions_json(preds: Predictions, path: str | Path) -> Path:
    """Write :func:`predictions_to_json` to ``path`` atomically."""
    path = Path(path)
    atomic.write_bytes(path, (json.dumps(predictions_to_json(preds), indent=1) + "\n").encode())
    return path


def save_prediction_masks(preds: Predictions, path: str | Path) -> Path | None:
    """Write the masks as ``.npz`` (``masks``: (D, H, W//8) bit-packed along W, ``width``); None
    when the predictions have no masks."""
    if preds.masks is None:
        return None
    buf = io.BytesIO()
    np.savez_compressed(buf, masks=np.packbits(preds.masks, axis=-1), width=np.int64(preds.image_size[1]))
    path = Path(path)
    atomic.write_bytes(path, buf.getvalue())
    return path
