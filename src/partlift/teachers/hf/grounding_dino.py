"""Grounding DINO through Hugging Face ``transformers``: a box VLM, GLIP's closest pip relative.

One forward pass per view with every part name in a single GLIP-style prompt (METHODS §1.3):
lower-cased names joined as ``"arm . back . leg . "``. Each of the model's queries gives at most
one box: its per-phrase score is the highest token probability ``sigmoid(logit)`` over the
phrase's tokens (Grounding DINO's own max-over-tokens score, restricted to one phrase), its
label the phrase with the highest score, its score that probability. Boxes scoring above
``box_threshold`` are clipped to the image, NMSed per part at IoU 0.6 and capped at 100 per view
(GLIP's post-processing, METHODS §1.3). Each box's feature is the decoder's last hidden state of
its query (``d_model`` = 256 floats for the released models), the embedding the class and box
heads read.

Token → phrase mapping uses the tokenizer's character offsets, so names of several words or
word pieces ("door frame", "lampshade") map to the right part whatever the vocabulary.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch

from partlift.errors import InputError
from partlift.teachers.hf.adapter import (
    DEFAULT_BATCH_SIZE,
    MAX_DETECTIONS,
    NMS_IOU,
    HFBoxTeacher,
    assemble_box_predictions,
    check_batch_size,
    check_probability,
    dtype_tag,
    normalized_cxcywh_to_screen_xyxy,
    resolve_runtime,
)
from partlift.teachers.hf.weights import DEFAULT_MODELS
from partlift.types import Predictions, Shape, Views

__all__ = ["DEFAULT_MODEL", "BOX_THRESHOLD", "build", "make_prompt", "phrase_token_map", "GroundingDinoTeacher"]

logger = logging.getLogger(__name__)

#: The released checkpoint used by default (Swin-B backbone, BERT-base text encoder).
DEFAULT_MODEL = DEFAULT_MODELS["grounding-dino"]
#: Box score threshold: Grounding DINO's customary ``box_threshold`` (its README and demos).
#: GLIP's 0.5 (METHODS §1.3) is calibrated for GLIP's sqrt(p * centerness) score, not this one.
BOX_THRESHOLD = 0.35

_SEPARATOR = " . "


def build(
    *,
    model: str = DEFAULT_MODEL,
    device: str = "cpu",
    dtype: str = "float32",
    batch_size: int = DEFAULT_BATCH_SIZE,
    box_threshold: float = BOX_THRESHOLD,
    nms_iou: float = NMS_IOU,
    max_detections: int = MAX_DETECTIONS,
    local_files_only: bool = False,
) -> GroundingDinoTeacher:
    """Build the Grounding DINO box teacher, loading its weights now.

    Args:
        model: Hugging Face model id (from the local cache; the hub only when online and
            ``local_files_only`` is False) or a directory written by ``save_pretrained`` holding
            the model and its processor.
        device: torch device for the forward passes ("cpu", "cuda", "cuda:1").
        dtype: weights and activations precision: "float32", "float16" or "bfloat16".
        batch_size: views per forward pass.
        box_threshold: keep boxes whose score is above this, in [0, 1].
        nms_iou: class-wise NMS IoU threshold.
        max_detections: boxes kept per view after NMS.
        local_files_only: never contact the hub.

    Raises:
        UnavailableError: ``transformers`` is missing, the weights cannot be found, or the device
            does not exist here.
        InputError: an option is out of range.
    """
    dev, dt, batch_size = resolve_runtime(device, dtype, batch_size)
    box_threshold = check_probability("box_threshold", box_threshold)
    nms_iou = check_probability("nms_iou", nms_iou)
    max_detections = check_batch_size(max_detections)
    return GroundingDinoTeacher.load(
        model,
        local_files_only=local_files_only,
        device=dev,
        dtype=dt,
        batch_size=batch_size,
        box_threshold=box_threshold,
        nms_iou=nms_iou,
        max_detections=max_detections,
    )


def make_prompt(part_names: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """The GLIP-style prompt and each name's character span in it.

    ``["Arm", "back"]`` → ``("arm . back . ", [(0, 3), (6, 10)])`` (METHODS §1.3: names lower-cased,
    each followed by ``" . "``).
    """
    prompt = ""
    spans = []
    for name in part_names:
        if "." in name:
            raise InputError(
                f"grounding-dino: part name {name!r} contains '.', which separates phrases in the "
                "prompt; remove it from the name"
            )
        start = len(prompt)
        prompt += name.lower()
        spans.append((start, len(prompt)))
        prompt += _SEPARATOR
    return prompt, spans


def phrase_token_map(
    offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]
) -> np.ndarray:
    """(C, L) bool: ``[c, t]`` iff token ``t`` (character span ``offsets[t]``) lies in phrase ``c``.

    Special tokens have empty spans ``(0, 0)`` and belong to no phrase.
    """
    out = np.zeros((len(spans), len(offsets)), dtype=bool)
    for t, (start, end) in enumerate(offsets):
        if end <= start:
            continue
        for c, (ps, pe) in enumerate(spans):
            if start < pe and end > ps:
                out[c, t] = True
    return out


class GroundingDinoTeacher(HFBoxTeacher):
    """Grounding DINO as a partlift box teacher (see the module doc for the exact semantics).

    Attributes:
        name: ``"grounding-dino(<model>,th=<box_threshold>)"`` plus any non-default option.
        kind: ``"box"``.
        needs_ground_truth: False.
    """

    what = "grounding-dino"
    model_types = ("grounding-dino",)
    model_class = "GroundingDinoForObjectDetection"

    def __init__(
        self,
        net: torch.nn.Module,
        processor: object,
        *,
        model_name: str,
        device: torch.device,
        dtype: torch.dtype,
        batch_size: int,
        box_threshold: float,
        nms_iou: float = NMS_IOU,
        max_detections: int = MAX_DETECTIONS,
    ) -> None:
        super().__init__(
            net, processor, model_name=model_name, device=device, dtype=dtype, batch_size=batch_size
        )
        self.box_threshold = box_threshold
        self.nms_iou = nms_iou
        self.max_detections = max_detections

    @property
    def name(self) -> str:
        extra = dtype_tag(self.dtype) + self.nms_tag()
        return f"grounding-dino({self.model_name},th={self.box_threshold:g}{extra})"

    @property
    def feature_dim(self) -> int:
        """F of the per-box features: the decoder width ``d_model``."""
        return int(self.net.config.d_model)

    def predict(self, views: Views, part_names: Sequence[str], shape: Shape | None = None) -> Predictions:
        """Detect every part on every view.

        Args:
            views: V rendered views, (V, H, W, 3) uint8 RGB.
            part_names: C distinct part names; labels index them.
            shape: unused (the teacher sees only the images).

        Returns:
            Box predictions, view by view, each view's boxes by decreasing score: ``boxes`` (D, 4)
            float32 screen ``xyxy`` pixels, ``score`` (D,) float32 in [0, 1], ``features``
            (D, d_model) float32.
        """
        del shape
        names = self.check_inputs(views, part_names)
        prompt, spans = make_prompt([n.strip() for n in names])
        tok = self.processor.tokenizer(prompt, return_offsets_mapping=True)
        n_tokens = len(tok["input_ids"])
        max_len = int(self.net.config.max_text_len)
        if n_tokens > max_len:
            raise InputError(
                f"grounding-dino: the prompt for {len(names)} part names is {n_tokens} tokens; the "
                f"model reads at most {max_len}; give fewer or shorter part names"
            )
        token_map = phrase_token_map(tok["offset_mapping"], spans)
        empty = [names[c] for c in np.flatnonzero(~token_map.any(axis=1))]
        if empty:
            raise InputError(f"grounding-dino: part names {empty} produced no tokens; use words")
        tmap = torch.from_numpy(token_map).to(self.device)
        text = {
            k: torch.tensor([tok[k]], dtype=torch.long, device=self.device)
            for k in ("input_ids", "token_type_ids", "attention_mask")
            if k in tok
        }

        h, w = views.image_size
        parts: list[tuple[int, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]] = []
        for batch, images in self.image_batches(views):
            inputs = {"pixel_values": self.pixels(images)}
            if "pixel_mask" in images:
                inputs["pixel_mask"] = images["pixel_mask"].to(self.device)
            out = self.infer(text, len(batch), **inputs)
            probs = out.logits[..., :n_tokens].float().sigmoid()  # (b, Q, L)
            # Per-phrase score: max token probability over the phrase's tokens -> (b, Q, C).
            phrase = (probs[:, :, None, :] * tmap[None, None]).amax(dim=-1)
            scores, labels = phrase.max(dim=-1)
            boxes = normalized_cxcywh_to_screen_xyxy(out.pred_boxes.float(), w, h)
            feats = out.last_hidden_state.float()
            parts += self.keep_detections(
                batch, scores, labels, boxes, feats, threshold=self.box_threshold, image_size=(h, w)
            )
        return assemble_box_predictions(parts, names, (h, w), self.feature_dim, self.name)

