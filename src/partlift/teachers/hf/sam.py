"""SAM through Hugging Face ``transformers``: a mask refiner that turns box predictions into masks.

METHODS §3.2 step 4 (PartSTAD): per view, one image embedding; every box of that view goes in as a
box prompt, with no point prompts; ``multimask_output=False``, so SAM returns its single default
mask per box (``multimask="single"``, the default). PartSLIP++ (METHODS §5.1) instead asks for
SAM's three masks and keeps the one with the highest predicted IoU (``multimask="best"``).

Masks are SAM's low-resolution logits upsampled exactly as ``SamImageProcessor.post_process_masks``
does (bilinear to the padded input size, crop the padding, bilinear to H x W) and thresholded at 0.
Boxes go in as corner-origin pixel coordinates of the original image (screen ``xyxy`` + 0.5,
METHODS §1.2), scaled by the processor's resize factors.

Unlike PartSLIP++'s code, which passed a BGR image by mistake, the image goes in as RGB.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F

from partlift.errors import InputError
from partlift.teachers.hf.adapter import (
    DEFAULT_BATCH_SIZE,
    HFAdapter,
    check_views,
    dtype_tag,
    resolve_runtime,
    screen_to_corner_xyxy,
)
from partlift.teachers.hf.weights import DEFAULT_MODELS
from partlift.types import Predictions, Views

__all__ = [
    "DEFAULT_MODEL",
    "MULTIMASK",
    "BOX_CHUNK",
    "build",
    "SamRefiner",
    "resize_shape",
    "upsample_mask_logits",
]

logger = logging.getLogger(__name__)

#: The released checkpoint used by default: ViT-H, as PartSTAD and PartSLIP++ use.
DEFAULT_MODEL = DEFAULT_MODELS["sam"]
#: Mask choice: "single" = SAM's single-mask output (PartSTAD); "best" = highest-scoring of three
#: (PartSLIP++).
MULTIMASK = ("single", "best")
#: Box prompts decoded at once (bounds the memory of full-resolution masks).
BOX_CHUNK = 32


def build(
    *,
    model: str = DEFAULT_MODEL,
    device: str = "cpu",
    dtype: str = "float32",
    batch_size: int = DEFAULT_BATCH_SIZE,
    multimask: str = "single",
    local_files_only: bool = False,
) -> SamRefiner:
    """Build the SAM mask refiner, loading its weights now.

    Args:
        model: Hugging Face model id (from the local cache; the hub only when online and
            ``local_files_only`` is False) or a directory written by ``save_pretrained`` holding
            the model and its processor.
        device: torch device ("cpu", "cuda", "cuda:1").
        dtype: weights and activations precision: "float32", "float16" or "bfloat16".
        batch_size: views embedded per forward pass of the image encoder.
        multimask: "single" (METHODS §3.2, one mask per box) or "best" (PartSLIP++ §5.1: the
            highest predicted-IoU mask of three).
        local_files_only: never contact the hub.

    Raises:
        UnavailableError: ``transformers`` is missing, the weights cannot be found, or the device
            does not exist here.
        InputError: an option is invalid.
    """
    if multimask not in MULTIMASK:
        raise InputError(f"sam: multimask must be one of {list(MULTIMASK)}, got {multimask!r}")
    dev, dt, batch_size = resolve_runtime(device, dtype, batch_size)
    return SamRefiner.load(
        model,
        local_files_only=local_files_only,
        device=dev,
        dtype=dt,
        batch_size=batch_size,
        multimask=multimask,
    )


def _size(value: object, key: str) -> int | None:
    """``value[key]`` for dict-like or attribute-style (``SizeDict``) processor sizes."""
    if isinstance(value, dict):
        return value.get(key)
    return getattr(value, key, None)


def resize_shape(height: int, width: int, longest_edge: int) -> tuple[int, int]:
    """(h, w) SAM resizes an ``height x width`` image to: longest side ``longest_edge``, rounded."""
    scale = longest_edge / max(height, width)
    return int(height * scale + 0.5), int(width * scale + 0.5)


class SamRefiner(HFAdapter):
    """SAM as a partlift :class:`~partlift.teachers.base.MaskRefiner`.

    Attributes:
        name: ``"sam(<model>)"``, with ``",mm=best"`` for the highest-of-three choice.
    """

    what = "sam"
    model_types = ("sam",)
    model_class = "SamModel"

    def __init__(
        self,
        net: torch.nn.Module,
        processor: object,
        *,
        model_name: str,
        device: torch.device,
        dtype: torch.dtype,
        batch_size: int,
        multimask: str = "single",
    ) -> None:
        super().__init__(
            net, processor, model_name=model_name, device=device, dtype=dtype, batch_size=batch_size
        )
        self.multimask = multimask

    @property
    def name(self) -> str:
        extra = dtype_tag(self.dtype) + (",mm=best" if self.multimask == "best" else "")
        return f"sam({self.model_name}{extra})"

    def refine(self, views: Views, predictions: Predictions) -> Predictions:
        """The same predictions (order, labels, scores, boxes, features) with ``masks`` set.

        Args:
            views: the V views the predictions were made on, (V, H, W, 3) uint8 RGB.
            predictions: D predictions whose ``boxes`` (screen ``xyxy`` pixels) become prompts.

        Returns:
            ``predictions`` with ``masks`` (D, H, W) bool (SAM's mask of each box; it may be
            empty) and ``teacher`` suffixed with ``"+<name>"``.
        """
        check_views(views, what=self.what)
        if not isinstance(predictions, Predictions):
            raise InputError(f"sam: expected partlift.types.Predictions, got {type(predictions).__name__}")
        h, w = views.image_size
        if tuple(predictions.image_size) != (h, w):
            raise InputError(
                f"sam: predictions were made on {tuple(predictions.image_size)} images but the views "
                f"are {(h, w)}; refine with the views the predictions came from"
            )
        if len(predictions) and int(predictions.view.max()) >= views.n_views:
            raise InputError(
                f"sam: a prediction refers to view {int(predictions.view.max())} but there are "
                f"{views.n_views} views"
            )
        masks = np.zeros((len(predictions), h, w), dtype=bool)
        todo = np.unique(predictions.view)  # only views with boxes are embedded
        ip = self.processor.image_processor
        pad = (int(_size(ip.pad_size, "height")), int(_size(ip.pad_size, "width")))
        resized = resize_shape(h, w, int(_size(ip.size, "longest_edge")))
        for vids, images in self.image_batches(views, todo):
            with torch.inference_mode():
                emb = self.net.get_image_embeddings(self.pixels(images))
            for j, v in enumerate(vids):
                rows = np.flatnonzero(predictions.view == v)
                for start in range(0, rows.size, BOX_CHUNK):
                    chunk = rows[start : start + BOX_CHUNK]
                    logits = self.mask_logits(emb[j : j + 1], self.model_boxes(predictions.boxes[chunk], (h, w)))
                    masks[chunk] = (upsample_mask_logits(logits, pad, resized, (h, w)) > 0.0).cpu().numpy()
        return replace(
            predictions,
            masks=masks,
            teacher=f"{predictions.teacher}+{self.name}" if predictions.teacher else self.name,
        )

    def model_boxes(self, boxes: np.ndarray, image_size: tuple[int, int]) -> torch.Tensor:
        """(n, 4) float32 box prompts in SAM's input frame from (n, 4) screen ``xyxy`` pixels.

        Screen coordinates become corner-origin ones (+0.5 px), then are scaled by the resize that
        takes the ``image_size`` view to SAM's input (longest side ``size["longest_edge"]``),
        exactly as ``SamProcessor`` transforms ``input_boxes``.
        """
        h, w = image_size
        rh, rw = resize_shape(h, w, int(_size(self.processor.image_processor.size, "longest_edge")))
        scale = torch.tensor([rw / w, rh / h, rw / w, rh / h], dtype=torch.float32)
        return screen_to_corner_xyxy(torch.as_tensor(boxes, dtype=torch.float32)) * scale

    def mask_logits(self, embedding: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """(n, h', w') float32 low-resolution mask logits of ``boxes`` (n, 4) on one image embedding.

        With ``multimask="best"`` the mask of the three with the highest predicted IoU is kept.
        """
        best = self.multimask == "best"
        with torch.inference_mode():
            out = self.net(
                image_embeddings=embedding,
                input_boxes=boxes[None].to(self.device, self.dtype),
                multimask_output=best,
            )
        logits = out.pred_masks[0].float()  # (n, k, h', w'), k = 3 when best else 1
        if not best:
            return logits[:, 0]
        pick = out.iou_scores[0].float().argmax(dim=-1)  # (n,)
        return logits[torch.arange(logits.shape[0], device=logits.device), pick]


def upsample_mask_logits(
    logits: torch.Tensor, pad: tuple[int, int], resized: tuple[int, int], size: tuple[int, int]
) -> torch.Tensor:
    """SAM's mask logits (n, h', w') → (n, H, W) logits on the original image.

    As ``SamImageProcessor.post_process_masks``: bilinear to the padded input ``pad`` (h, w),
    crop to the resized image ``resized`` (h, w), bilinear to the original ``size`` (H, W).
    """
    x = F.interpolate(logits[:, None].float(), pad, mode="bilinear", align_corners=False)
    x = x[..., : resized[0], : resized[1]]
    return F.interpolate(x, size, mode="bilinear", align_corners=False)[:, 0]
