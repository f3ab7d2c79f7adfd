"""OWLv2 through Hugging Face ``transformers``: an open-vocabulary box VLM.

One forward pass per view with one text query per part name (``template.format(name)``, default
``"a photo of a {}"``, the CLIP-style query OWL-ViT was evaluated with). OWLv2 predicts one box per
image patch; its label is the query with the highest logit and its score ``sigmoid`` of that
logit (what ``post_process_object_detection`` reports). Boxes scoring above ``score_threshold``
(default 0.1, the library's default for OWLv2) are clipped to the image, NMSed per part at IoU
0.6 and capped at 100 per view (GLIP's post-processing, METHODS §1.3). Each box's feature is its
patch's class embedding (``class_embeds``: the unit-normalised image embedding that is matched
against the queries; 512 floats for the base models).

Coordinates: OWLv2 pads each image at the bottom and right to a square of side ``S = max(H, W)``
before resizing, so its normalised boxes are fractions of ``S``, not of ``W`` and ``H``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

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
    check_template,
    dtype_tag,
    normalized_cxcywh_to_screen_xyxy,
    resolve_runtime,
)
from partlift.teachers.hf.weights import DEFAULT_MODELS
from partlift.types import Predictions, Shape, Views

__all__ = ["DEFAULT_MODEL", "SCORE_THRESHOLD", "TEMPLATE", "build", "Owlv2Teacher"]

logger = logging.getLogger(__name__)

#: The released checkpoint used by default.
DEFAULT_MODEL = DEFAULT_MODELS["owlv2"]
#: Score threshold: ``Owlv2ImageProcessor.post_process_object_detection``'s default. OWLv2's
#: sigmoid scores run lower than GLIP's, so GLIP's 0.5 (METHODS §1.3) would drop most parts.
SCORE_THRESHOLD = 0.1
#: Query template: one query per part name.
TEMPLATE = "a photo of a {}"


def build(
    *,
    model: str = DEFAULT_MODEL,
    device: str = "cpu",
    dtype: str = "float32",
    batch_size: int = DEFAULT_BATCH_SIZE,
    score_threshold: float = SCORE_THRESHOLD,
    template: str = TEMPLATE,
    nms_iou: float = NMS_IOU,
    max_detections: int = MAX_DETECTIONS,
    local_files_only: bool = False,
) -> Owlv2Teacher:
    """Build the OWLv2 box teacher, loading its weights now.

    Args:
        model: Hugging Face model id (from the local cache; the hub only when online and
            ``local_files_only`` is False) or a directory written by ``save_pretrained`` holding
            the model and its processor.
        device: torch device for the forward passes ("cpu", "cuda", "cuda:1").
        dtype: weights and activations precision: "float32", "float16" or "bfloat16".
        batch_size: views per forward pass.
        score_threshold: keep boxes whose score is above this, in [0, 1].
        template: the text query of a part, with ``{}`` for its name.
        nms_iou: class-wise NMS IoU threshold.
        max_detections: boxes kept per view after NMS.
        local_files_only: never contact the hub.

    Raises:
        UnavailableError: ``transformers`` is missing, the weights cannot be found, or the device
            does not exist here.
        InputError: an option is out of range.
    """
    dev, dt, batch_size = resolve_runtime(device, dtype, batch_size)
    score_threshold = check_probability("score_threshold", score_threshold)
    template = check_template(template, what=Owlv2Teacher.what)
    nms_iou = check_probability("nms_iou", nms_iou)
    max_detections = check_batch_size(max_detections)
    return Owlv2Teacher.load(
        model,
        local_files_only=local_files_only,
        device=dev,
        dtype=dt,
        batch_size=batch_size,
        score_threshold=score_threshold,
        template=template,
        nms_iou=nms_iou,
        max_detections=max_detections,
    )


class Owlv2Teacher(HFBoxTeacher):
    """OWLv2 as a partlift box teacher (see the module doc for the exact semantics).

    Attributes:
        name: ``"owlv2(<model>,th=<score_threshold>)"`` plus any non-default option.
        kind: ``"box"``.
        needs_ground_truth: False.
    """

    what = "owlv2"
    model_types = ("owlv2",)
    model_class = "Owlv2ForObjectDetection"

    def __init__(
        self,
        net: torch.nn.Module,
        processor: object,
        *,
        model_name: str,
        device: torch.device,
        dtype: torch.dtype,
        batch_size: int,
        score_threshold: float,
        template: str = TEMPLATE,
        nms_iou: float = NMS_IOU,
        max_detections: int = MAX_DETECTIONS,
    ) -> None:
        super().__init__(
            net, processor, model_name=model_name, device=device, dtype=dtype, batch_size=batch_size
        )
        self.score_threshold = score_threshold
        self.template = template
        self.nms_iou = nms_iou
        self.max_detections = max_detections

    @property
    def name(self) -> str:
        extra = dtype_tag(self.dtype)
        if self.template != TEMPLATE:
            extra += f",q={self.template!r}"
        extra += self.nms_tag()
        return f"owlv2({self.model_name},th={self.score_threshold:g}{extra})"

    @property
    def feature_dim(self) -> int:
        """F of the per-box features: the class-embedding width (the text encoder's)."""
        return int(self.net.config.text_config.hidden_size)

    def _queries(self, names: tuple[str, ...]) -> dict[str, torch.Tensor]:
        """Tokenised queries (C, L) on the device; a query too long for the text encoder is an error."""
        queries = [self.template.format(n.strip()) for n in names]
        tok = self.processor.tokenizer(queries, padding="longest", return_tensors="pt")
        max_len = int(self.net.config.text_config.max_position_embeddings)
        lengths = tok["attention_mask"].sum(dim=1)
        too_long = [names[i] for i in range(len(names)) if int(lengths[i]) > max_len]
        if too_long:
            raise InputError(
                f"owlv2: the queries for part names {too_long} are longer than the {max_len} tokens "
                "the text encoder reads; shorten the names or the template"
            )
        if bool((tok["input_ids"][:, 0] == 0).any()):
            # OWL models read a query whose first token id is 0 as padding and never detect it.
            raise InputError("owlv2: the tokenizer's start token has id 0, which OWLv2 treats as padding")
        return {k: tok[k].to(self.device) for k in ("input_ids", "attention_mask")}

    def predict(self, views: Views, part_names: Sequence[str], shape: Shape | None = None) -> Predictions:
        """Detect every part on every view.

        Args:
            views: V rendered views, (V, H, W, 3) uint8 RGB.
            part_names: C distinct part names; labels index them.
            shape: unused (the teacher sees only the images).

        Returns:
            Box predictions, view by view, each view's boxes by decreasing score: ``boxes`` (D, 4)
            float32 screen ``xyxy`` pixels, ``score`` (D,) float32 in [0, 1], ``features``
            (D, F) float32 class embeddings.
        """
        del shape
        names = self.check_inputs(views, part_names)
        text = self._queries(names)
        h, w = views.image_size
        side = max(h, w)  # OWLv2 normalises boxes by the padded square
        parts = []
        for batch, images in self.image_batches(views):
            out = self.infer(text, len(batch), pixel_values=self.pixels(images))  # text (b * C, L)
            scores, labels = out.logits.float().sigmoid().max(dim=-1)  # (b, P)
            boxes = normalized_cxcywh_to_screen_xyxy(out.pred_boxes.float(), side, side)
            feats = out.class_embeds.float()
            parts += self.keep_detections(
                batch, scores, labels, boxes, feats, threshold=self.score_threshold, image_size=(h, w)
            )
        return assemble_box_predictions(parts, names, (h, w), self.feature_dim, self.name)
