"""Shared plumbing of the Hugging Face teachers: the extra, weights, device/dtype, batching, boxes.

:class:`HFAdapter` (and :class:`HFBoxTeacher` for the box teachers) holds what every adapter holds:
the loaded model and processor, the device, dtype and batch size, and the loops around the forward
passes; each adapter module keeps its model-specific pre- and post-processing.

Nothing here imports ``transformers`` at module level: :func:`require_transformers` does, inside
the builders, and turns its absence into an :class:`~partlift.errors.UnavailableError` that says
how to install it.

Coordinate conventions (METHODS §1.2, :mod:`partlift.types`): screen pixels with ``x`` = column and
``y`` = row, origin at the *centre* of the top-left pixel, so pixel ``(r, c)`` covers
``[c - 0.5, c + 0.5) x [r - 0.5, r + 0.5)`` and an ``H x W`` image spans
``[-0.5, W - 0.5] x [-0.5, H - 0.5]``. Hugging Face models and processors use *normalised* boxes
in ``[0, 1]`` over the image extent, and "absolute" boxes whose origin is the top-left *corner*
of the image; both convert to screen pixels by subtracting half a pixel
(:func:`normalized_cxcywh_to_screen_xyxy`, :func:`screen_to_corner_xyxy`).
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any, TypeVar

import numpy as np
import torch

from partlift.boxes import batched_nms, clip_boxes, nms
from partlift.boxes import pairwise_box_iou as box_iou
from partlift.device import resolve_device
from partlift.errors import InputError, UnavailableError
from partlift.names import check_part_names as _check_names
from partlift.teachers.hf import weights
from partlift.types import Predictions, Views

__all__ = [
    "INSTALL_HINT",
    "DEFAULT_BATCH_SIZE",
    "NMS_IOU",
    "MAX_DETECTIONS",
    "require_transformers",
    "resolve_device",
    "resolve_dtype",
    "dtype_tag",
    "model_label",
    "load_pretrained",
    "resolve_runtime",
    "check_batch_size",
    "check_probability",
    "check_part_names",
    "check_template",
    "batched",
    "view_images",
    "normalized_cxcywh_to_screen_xyxy",
    "screen_to_corner_xyxy",
    "clip_boxes",
    "box_iou",
    "nms",
    "batched_nms",
    "mask_to_box",
    "PRE_NMS_TOP_N",
    "select_detections",
    "check_views",
    "assemble_box_predictions",
    "HFAdapter",
    "HFBoxTeacher",
]

logger = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'partlift[hf]'"

#: Views per forward pass unless the builder is told otherwise.
DEFAULT_BATCH_SIZE = 4
#: Class-wise NMS IoU threshold of the box teachers (GLIP's ``ATSS.NMS_TH``, METHODS §1.3).
NMS_IOU = 0.6
#: Detections kept per image after NMS (GLIP's ``DETECTIONS_PER_IMG``, METHODS §1.3).
MAX_DETECTIONS = 100
#: Candidates per image entering NMS, by score (GLIP's ``ATSS.PRE_NMS_TOP_N``, METHODS §1.3).
PRE_NMS_TOP_N = 1000

_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "half": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
}


def require_transformers() -> ModuleType:
    """Import and return ``transformers``, or raise :class:`UnavailableError` with the install hint."""
    try:
        return importlib.import_module("transformers")
    except ImportError as err:
        raise UnavailableError(
            f"the Hugging Face teachers need the 'transformers' package, which is not importable "
            f"({err}); install it with: {INSTALL_HINT}"
        ) from err


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    """The floating torch dtype named by ``dtype`` ("float32", "float16", "bfloat16" or a dtype)."""
    if isinstance(dtype, torch.dtype):
        if dtype in (torch.float32, torch.float16, torch.bfloat16):
            return dtype
    elif isinstance(dtype, str) and dtype.lower() in _DTYPES:
        return _DTYPES[dtype.lower()]
    raise InputError(f"dtype: expected one of 'float32', 'float16', 'bfloat16', got {dtype!r}")


def dtype_tag(dtype: torch.dtype) -> str:
    """'' for float32 (the default), else ',fp16' / ',bf16': the part of a teacher name it changes."""
    return {torch.float32: "", torch.float16: ",fp16", torch.bfloat16: ",bf16"}[dtype]


def model_label(model: str) -> str:
    """A short label for a model id or directory, used in the teacher's name (a cache key).

    A hub id is returned as is. A local directory gives ``basename@xxxxxxxx``: its basename and
    8 hex digits of a hash of its absolute path and of the names, sizes and modification times
    of its files, so that two checkpoint folders of the same name (or one folder re-trained in
    place) never share cached predictions. The weights themselves are not read (they can be GBs).
    """
    if not os.path.isdir(model):
        return model
    root = os.path.abspath(model)
    digest = hashlib.sha1(root.encode())
    for name in sorted(os.listdir(root)):
        st = os.stat(os.path.join(root, name))
        digest.update(f"\0{name}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    base = os.path.basename(os.path.normpath(model)) or "model"
    return f"{base}@{digest.hexdigest()[:8]}"


def _looks_like_path(model: str) -> bool:
    """True for strings that can only be a path (a hub id is ``name`` or ``org/name``)."""
    return model.startswith(("/", ".", "~")) or model.count("/") > 1 or "\\" in model


def load_pretrained(
    model: str,
    *,
    model_types: Sequence[str],
    model_class: str,
    local_files_only: bool,
    device: torch.device,
    dtype: torch.dtype,
    what: str,
) -> tuple[Any, Any]:
    """Load ``(model, processor)`` from a Hugging Face model id or a local directory.

    Args:
        model: a Hugging Face model id (resolved through the local cache, and the hub unless
            offline) or a directory written by ``save_pretrained`` (model and processor files).
        model_types: the ``config.model_type`` values this adapter understands.
        model_class: name of the ``transformers`` model class to instantiate.
        local_files_only: never contact the hub (a directory is always read locally).
        device, dtype: where and in which precision the weights live.
        what: the teacher's name for messages ("grounding-dino").

    Raises:
        UnavailableError: weights or processor files cannot be found or read; the message says
            how to provide them offline.
        InputError: ``model`` is malformed, a missing directory, or a checkpoint of another kind.
    """
    tf = require_transformers()
    if not isinstance(model, (str, os.PathLike)) or not str(model):
        raise InputError(f"{what}: model must be a Hugging Face model id or a directory, got {model!r}")
    model = os.path.expanduser(str(model))
    is_dir = os.path.isdir(model)
    if not is_dir and (os.path.exists(model) or _looks_like_path(model)):
        raise InputError(
            f"{what}: model={model!r} is not an existing directory; pass a directory written by "
            "save_pretrained (config.json, weights, processor files) or a Hugging Face model id"
        )
    local = bool(local_files_only) or is_dir
    if not local:
        # Cached: read it offline (no etag round trips). Not cached: fail in seconds when the hub
        # cannot be reached, instead of huggingface_hub's retry loop (36 s of warnings measured).
        if weights.cached_config(model) is not None:
            local = True
        elif not weights.hub_reachable():
            raise UnavailableError(
                f"{what}: weights {model!r} are not in the Hugging Face cache "
                f"({weights.hf_cache_dir()}) and the hub cannot be reached; download them on a "
                f"connected machine with `hf download {model}` and copy the cache (HF_HOME), or "
                f"give a folder written by save_pretrained: {weights.spec_hint(what)}"
            )
    try:
        config = tf.AutoConfig.from_pretrained(model, local_files_only=local)
        if config.model_type not in model_types:
            raise InputError(
                f"{what}: {model!r} is a {config.model_type!r} checkpoint; expected one of "
                f"{sorted(model_types)}"
            )
        processor = tf.AutoProcessor.from_pretrained(model, local_files_only=local)
        net = getattr(tf, model_class).from_pretrained(model, local_files_only=local, dtype=dtype)
    except InputError:
        raise
    except (OSError, ValueError, KeyError, TypeError, ImportError) as err:
        # OSError: files missing (not cached, hub unreachable); the others: unreadable files.
        reason = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
        if is_dir:
            raise UnavailableError(
                f"{what}: could not load the checkpoint in directory {model!r} ({reason}); it must "
                "hold what save_pretrained writes for both the model and its processor "
                "(config.json, model.safetensors, preprocessor/processor and tokenizer files)"
            ) from err
        if not isinstance(err, OSError):
            raise UnavailableError(f"{what}: could not load {model!r} ({reason})") from err
        raise UnavailableError(
            f"{what}: could not load {model!r} (not in the Hugging Face cache and the hub is "
            f"unreachable, or no such model; {reason}); download it on a connected machine with "
            f"`hf download {model}` (older huggingface_hub: `huggingface-cli download {model}`) and "
            f"copy the cache (HF_HOME), or give a folder written by save_pretrained: {weights.spec_hint(what)}"
        ) from err
    net = net.to(device).eval()
    logger.info("%s: loaded %s on %s (%s)", what, model, device, str(dtype).replace("torch.", ""))
    return net, processor


def resolve_runtime(
    device: str | torch.device, dtype: str | torch.dtype, batch_size: int
) -> tuple[torch.device, torch.dtype, int]:
    """The options every builder takes, checked in this order: ``(device, dtype, batch_size)``.

    See :func:`resolve_device`, :func:`resolve_dtype` and :func:`check_batch_size` for the errors.
    """
    return resolve_device(device), resolve_dtype(dtype), check_batch_size(batch_size)


def check_batch_size(batch_size: int) -> int:
    """``batch_size`` as a positive int, else :class:`InputError`."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise InputError(f"batch_size: expected a positive integer, got {batch_size!r}")
    return int(batch_size)


def check_probability(name: str, value: float) -> float:
    """``value`` as a float in [0, 1], else :class:`InputError` naming the option ``name``."""
    try:
        v = float(value)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name}: expected a number in [0, 1], got {value!r}") from err
    if not 0.0 <= v <= 1.0:
        raise InputError(f"{name}: expected a number in [0, 1], got {value!r}")
    return v


def check_part_names(part_names: Sequence[str], *, what: str) -> tuple[str, ...]:
    """The part names as a tuple, checked to be non-empty strings, distinct up to case and spaces
    (:func:`partlift.names.check_part_names` with ``fold=True``)."""
    return _check_names(part_names, what=what, fold=True)


def check_template(template: str, *, what: str) -> str:
    """A prompt template with exactly one ``{}`` for the part name."""
    if not isinstance(template, str) or template.count("{}") != 1:
        raise InputError(
            f"{what}: template must be a string with one '{{}}' for the part name, such as "
            f"'a photo of a {{}}', got {template!r}"
        )
    return template


def check_views(views: Views, *, what: str) -> None:
    """Raise :class:`InputError` unless ``views`` is a non-empty :class:`Views`."""
    if not isinstance(views, Views):
        raise InputError(f"{what}: expected partlift.types.Views, got {type(views).__name__}")
    if views.n_views == 0:
        raise InputError(f"{what}: views hold no images (V = 0)")
    if views.rgb.dtype != np.uint8:
        raise InputError(f"{what}: views.rgb must be uint8 0-255 RGB, got {views.rgb.dtype}")


def batched(n: int, batch_size: int) -> Iterator[range]:
    """Consecutive ranges covering ``0 .. n-1`` in chunks of at most ``batch_size``."""
    for start in range(0, n, batch_size):
        yield range(start, min(start + batch_size, n))


def view_images(views: Views, index: Sequence[int]) -> list[Any]:
    """The RGB images ``views.rgb[index]`` as PIL images (what Hugging Face processors expect)."""
    from PIL import Image

    return [Image.fromarray(np.ascontiguousarray(views.rgb[i])) for i in index]


def normalized_cxcywh_to_screen_xyxy(
    boxes: torch.Tensor, width: float, height: float
) -> torch.Tensor:
    """Model boxes (normalised ``cx, cy, w, h`` over a ``width x height`` extent) → screen ``xyxy``.

    Args:
        boxes: (..., 4) float, ``cx, cy, w, h`` in [0, 1] where 0 and 1 are the *edges* of the
            frame the model normalised by (DETR / Grounding DINO / OWL convention).
        width, height: that frame in pixels. For Grounding DINO it is the image (W, H); for
            OWLv2, which pads the image to a square at the bottom/right, it is (S, S), S = max(H, W).

    Returns:
        (..., 4) float ``x1, y1, x2, y2`` in screen pixels (x = column, y = row, origin at the
        top-left pixel *centre*): ``x = u * width - 0.5``. A box whose normalised edges are
        ``c0 / W`` and ``(c1 + 1) / W`` becomes ``[c0 - 0.5, c1 + 0.5]``, exactly the extent of
        pixel columns ``c0 .. c1``.
    """
    cx, cy, w, h = boxes.unbind(-1)
    x1 = (cx - 0.5 * w) * width - 0.5
    x2 = (cx + 0.5 * w) * width - 0.5
    y1 = (cy - 0.5 * h) * height - 0.5
    y2 = (cy + 0.5 * h) * height - 0.5
    return torch.stack([x1, y1, x2, y2], dim=-1)


def screen_to_corner_xyxy(boxes: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
    """Screen ``xyxy`` (origin at the top-left pixel centre) → corner-origin ``xyxy`` (+0.5 px).

    Corner-origin coordinates are what SAM's prompt encoder and HF processors take: 0 is the left
    edge of the image and ``W`` its right edge.
    """
    return boxes + 0.5


def mask_to_box(mask: np.ndarray) -> np.ndarray:
    """The screen ``xyxy`` box (4,) float32 of a non-empty (H, W) bool mask.

    The box is the outer extent of the mask's pixels: ``x1 = min_col - 0.5``, ``x2 = max_col + 0.5``
    (and the same for rows), so the centre of every mask pixel lies strictly inside it.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        raise InputError("mask_to_box: the mask is empty; it has no bounding box")
    return np.array(
        [cols[0] - 0.5, rows[0] - 0.5, cols[-1] + 0.5, rows[-1] + 0.5], dtype=np.float32
    )


def select_detections(
    scores: torch.Tensor,
    labels: torch.Tensor,
    boxes: torch.Tensor,
    *,
    threshold: float,
    image_size: tuple[int, int],
    nms_iou: float = NMS_IOU,
    max_detections: int = MAX_DETECTIONS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The detections of one image that a box teacher keeps, GLIP-style (METHODS §1.3).

    Steps: score ``> threshold``; boxes clipped to the image; empty boxes dropped; the best
    :data:`PRE_NMS_TOP_N` by score; class-wise NMS at ``nms_iou``; the best ``max_detections``.

    Args:
        scores: (Q,) float scores in [0, 1] of the Q candidates (queries or patches).
        labels: (Q,) int64 part index of each candidate.
        boxes: (Q, 4) float screen ``xyxy`` pixels.
        image_size: (H, W) to clip to.

    Returns:
        ``(index, clipped_boxes)``: (K,) int64 indices into the candidates by decreasing score,
        and their (K, 4) clipped boxes.
    """
    h, w = image_size
    boxes = clip_boxes(boxes.float(), h, w)
    ok = (scores > threshold) & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    idx = torch.nonzero(ok).flatten()
    if idx.numel() > PRE_NMS_TOP_N:
        top = torch.sort(scores[idx], descending=True, stable=True).indices[:PRE_NMS_TOP_N]
        idx = idx[top]
    kept = batched_nms(boxes[idx], scores[idx].float(), labels[idx], nms_iou)[:max_detections]
    idx = idx[kept]
    return idx, boxes[idx]


def assemble_box_predictions(
    parts: list[tuple[int, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]],
    names: tuple[str, ...],
    image_size: tuple[int, int],
    feature_dim: int,
    teacher: str,
) -> Predictions:
    """Concatenate per-view (view, scores, labels, boxes, features) into :class:`Predictions`."""
    n = sum(int(p[1].shape[0]) for p in parts)
    logger.debug("%s: %d boxes over %d views", teacher, n, len(parts))
    if n == 0:
        return Predictions.empty(names, image_size, feature_dim, teacher=teacher)
    return Predictions(
        view=np.concatenate([np.full(p[1].shape[0], p[0], np.int64) for p in parts]),
        label=torch.cat([p[2] for p in parts]).cpu().numpy().astype(np.int64),
        score=torch.cat([p[1] for p in parts]).cpu().numpy().astype(np.float32),
        boxes=torch.cat([p[3] for p in parts]).cpu().numpy().astype(np.float32),
        features=torch.cat([p[4] for p in parts]).cpu().numpy().astype(np.float32),
        part_names=names,
        image_size=image_size,
        teacher=teacher,
    )


_Adapter = TypeVar("_Adapter", bound="HFAdapter")


class HFAdapter:
    """What every Hugging Face adapter holds and does around its model-specific code.

    Subclasses set :attr:`what` (the teacher's name in messages), :attr:`model_types` and
    :attr:`model_class` (see :func:`load_pretrained`), and keep their own options and outputs.

    Attributes:
        net: the ``transformers`` model, in eval mode on ``device``.
        processor: its processor (``image_processor``, and ``tokenizer`` for text models).
        model_name: the label shown in the teacher's name (:func:`model_label`: the hub id, or a
            local directory's ``basename@hash``).
        device, dtype: where and in which precision the forward passes run.
        batch_size: views per forward pass.
    """

    what: str = ""
    model_types: tuple[str, ...] = ()
    model_class: str = ""

    def __init__(
        self,
        net: torch.nn.Module,
        processor: object,
        *,
        model_name: str,
        device: torch.device,
        dtype: torch.dtype,
        batch_size: int,
    ) -> None:
        self.net = net
        self.processor = processor
        self.model_name = model_name
        self.device = device
        self.dtype = dtype
        self.batch_size = batch_size

    @classmethod
    def load(
        cls: type[_Adapter],
        model: str,
        *,
        local_files_only: bool,
        device: torch.device,
        dtype: torch.dtype,
        batch_size: int,
        **options: Any,
    ) -> _Adapter:
        """Load ``model`` (:func:`load_pretrained`) and wrap it with the adapter's ``options``."""
        net, processor = load_pretrained(
            model,
            model_types=cls.model_types,
            model_class=cls.model_class,
            local_files_only=local_files_only,
            device=device,
            dtype=dtype,
            what=cls.what,
        )
        return cls(
            net,
            processor,
            model_name=model_label(str(model)),
            device=device,
            dtype=dtype,
            batch_size=batch_size,
            **options,
        )

    def check_inputs(self, views: Views, part_names: Sequence[str]) -> tuple[str, ...]:
        """Check ``views`` (:func:`check_views`), then return the checked part names."""
        check_views(views, what=self.what)
        return check_part_names(part_names, what=self.what)

    def image_batches(
        self, views: Views, index: Sequence[int] | None = None
    ) -> Iterator[tuple[list[int], Any]]:
        """Yield ``(view ids, image processor output)`` for ``views`` ``index`` (default: all), by batch."""
        if index is None:
            index = range(views.n_views)
        for batch in batched(len(index), self.batch_size):
            ids = [int(index[i]) for i in batch]
            yield ids, self.processor.image_processor(images=view_images(views, ids), return_tensors="pt")

    def pixels(self, images: Any) -> torch.Tensor:
        """The processor's ``pixel_values`` (b, 3, h', w') on the adapter's device and in its dtype."""
        return images["pixel_values"].to(self.device, self.dtype)

    def infer(self, text: dict[str, torch.Tensor], n_images: int, **inputs: Any) -> Any:
        """The model's output (no grad) on ``inputs`` plus ``text`` repeated for ``n_images`` images.

        ``text`` holds (T, L) tensors (T = 1 prompt or C queries); they are repeated image-major, so
        row ``i * T + k`` is text row ``k`` for image ``i``.
        """
        inputs.update({k: v.repeat(n_images, 1) for k, v in text.items()})
        with torch.inference_mode():
            return self.net(**inputs)


class HFBoxTeacher(HFAdapter):
    """An :class:`HFAdapter` that is a box teacher with GLIP's post-processing (METHODS §1.3).

    Subclasses set, besides :class:`HFAdapter`'s attributes:

    Attributes:
        nms_iou: class-wise NMS IoU threshold.
        max_detections: boxes kept per view after NMS.
    """

    kind = "box"
    needs_ground_truth = False
    nms_iou: float
    max_detections: int

    def nms_tag(self) -> str:
        """The part of the teacher's name that non-default ``nms_iou`` / ``max_detections`` add."""
        extra = ""
        if self.nms_iou != NMS_IOU:
            extra += f",nms={self.nms_iou:g}"
        if self.max_detections != MAX_DETECTIONS:
            extra += f",max={self.max_detections}"
        return extra

    def keep_detections(
        self,
        ids: Sequence[int],
        scores: torch.Tensor,
        labels: torch.Tensor,
        boxes: torch.Tensor,
        feats: torch.Tensor,
        *,
        threshold: float,
        image_size: tuple[int, int],
    ) -> list[tuple[int, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
        """:func:`select_detections` on each view of a batch, as parts for :func:`assemble_box_predictions`.

        Args:
            ids: the b view ids of the batch.
            scores, labels: (b, Q) float scores and int64 part indices of the Q candidates.
            boxes: (b, Q, 4) float screen ``xyxy`` pixels.
            feats: (b, Q, F) float features.
            threshold: keep candidates scoring above this.
            image_size: (H, W) to clip to.
        """
        parts = []
        for j, v in enumerate(ids):
            idx, kept_boxes = select_detections(
                scores[j],
                labels[j],
                boxes[j],
                threshold=threshold,
                image_size=image_size,
                nms_iou=self.nms_iou,
                max_detections=self.max_detections,
            )
            parts.append((v, scores[j][idx], labels[j][idx], kept_boxes, feats[j][idx]))
        return parts
