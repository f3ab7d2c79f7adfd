"""CLIPSeg through Hugging Face ``transformers``: a pixel VLM (PartDistill's P-VLM role, METHODS §4.2).

For each view and part, CLIPSeg's logit map for the query ``template.format(name)`` (default
``"a photo of a {}"``, the template family CLIPSeg was trained with) is upsampled bilinearly to
the view's H x W (CLIPSeg's processor stretches the image to a square, so the map covers the
whole image) and turned into a probability with a sigmoid. The label map is "separated" into
per-part regions (METHODS §4.1):

    region[c] = (argmax over parts of prob == c) & (prob[c] > threshold) [& pixel shows a point]

with ``threshold`` 0.5 by default (the probability where CLIPSeg's binary cross-entropy
training puts the decision) and, when ``foreground_only`` (default), restricted to pixels that
show a point of the shape (``views.pix2point >= 0``), since background pixels lift to nothing but
would widen the box and dilute the score.

Each non-empty region gives one prediction: ``masks`` = the region, ``boxes`` = its bounding box
(``x1 = min_col - 0.5`` ... so every region pixel centre is strictly inside), ``score`` = mean
probability of the part over the region, ``features`` = the region-pooled CLIP visual tokens:
the last vision-encoder hidden state at the patch grid (before text conditioning, like PartSTAD's
pre-fusion GLIP feature, METHODS §3.2), averaged with weights = the fraction of each patch cell
the region covers (768 floats for the released model).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from partlift.errors import InputError
from partlift.teachers.hf.adapter import (
    DEFAULT_BATCH_SIZE,
    HFAdapter,
    check_part_names,
    check_probability,
    check_template,
    check_views,
    dtype_tag,
    mask_to_box,
    resolve_runtime,
)
from partlift.teachers.hf.weights import DEFAULT_MODELS
from partlift.types import Predictions, Shape, Views

__all__ = ["DEFAULT_MODEL", "THRESHOLD", "TEMPLATE", "build", "ClipSegTeacher", "separate_regions"]

logger = logging.getLogger(__name__)

#: The released checkpoint used by default (ViT-B/16, reduce_dim 64, refined decoder).
DEFAULT_MODEL = DEFAULT_MODELS["clipseg"]
#: Probability a pixel's best part must exceed to belong to that part's region.
THRESHOLD = 0.5
#: Query template: one query per part name.
TEMPLATE = "a photo of a {}"


def build(
    *,
    model: str = DEFAULT_MODEL,
    device: str = "cpu",
    dtype: str = "float32",
    batch_size: int = DEFAULT_BATCH_SIZE,
    threshold: float = THRESHOLD,
    template: str = TEMPLATE,
    foreground_only: bool = True,
    local_files_only: bool = False,
) -> ClipSegTeacher:
    """Build the CLIPSeg pixel teacher, loading its weights now.

    Args:
        model: Hugging Face model id (from the local cache; the hub only when online and
            ``local_files_only`` is False) or a directory written by ``save_pretrained`` holding
            the model and its processor.
        device: torch device ("cpu", "cuda", "cuda:1").
        dtype: weights and activations precision: "float32", "float16" or "bfloat16".
        batch_size: views per forward pass (each view is paired with every part name, so a pass
            holds ``batch_size * C`` image-query pairs).
        threshold: a pixel joins its best part's region when that probability is above this.
        template: the text query of a part, with ``{}`` for its name.
        foreground_only: restrict regions to pixels that show a point of the shape.
        local_files_only: never contact the hub.

    Raises:
        UnavailableError: ``transformers`` is missing, the weights cannot be found, or the device
            does not exist here.
        InputError: an option is out of range.
    """
    dev, dt, batch_size = resolve_runtime(device, dtype, batch_size)
    threshold = check_probability("threshold", threshold)
    template = check_template(template, what=ClipSegTeacher.what)
    return ClipSegTeacher.load(
        model,
        local_files_only=local_files_only,
        device=dev,
        dtype=dt,
        batch_size=batch_size,
        threshold=threshold,
        template=template,
        foreground_only=bool(foreground_only),
    )


def separate_regions(prob: torch.Tensor, threshold: float, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Per-part pixel regions of a (C, H, W) probability stack (see the module doc).

    Args:
        prob: (C, H, W) float per-part probabilities.
        threshold: minimum probability of the winning part.
        valid: optional (H, W) bool, pixels allowed in any region.

    Returns:
        (C, H, W) bool, disjoint regions; ties in the argmax go to the lower part index.
    """
    best, arg = prob.max(dim=0)
    keep = best > threshold
    if valid is not None:
        keep &= valid
    parts = torch.arange(prob.shape[0], device=prob.device)[:, None, None]
    return (arg[None] == parts) & keep[None]


class ClipSegTeacher(HFAdapter):
    """CLIPSeg as a partlift pixel teacher (see the module doc for the exact semantics).

    Attributes:
        name: ``"clipseg(<model>,th=<threshold>)"`` plus any non-default option.
        kind: ``"pixel"``.
        needs_ground_truth: False.
    """

    kind = "pixel"
    needs_ground_truth = False
    what = "clipseg"
    model_types = ("clipseg",)
    model_class = "CLIPSegForImageSegmentation"

    def __init__(
        self,
        net: torch.nn.Module,
        processor: object,
        *,
        model_name: str,
        device: torch.device,
        dtype: torch.dtype,
        batch_size: int,
        threshold: float = THRESHOLD,
        template: str = TEMPLATE,
        foreground_only: bool = True,
    ) -> None:
        super().__init__(
            net, processor, model_name=model_name, device=device, dtype=dtype, batch_size=batch_size
        )
        self.threshold = threshold
        self.template = template
        self.foreground_only = foreground_only

    @property
    def name(self) -> str:
        extra = dtype_tag(self.dtype)
        if self.template != TEMPLATE:
            extra += f",q={self.template!r}"
        if not self.foreground_only:
            extra += ",bg"
        return f"clipseg({self.model_name},th={self.threshold:g}{extra})"

    @property
    def feature_dim(self) -> int:
        """F of the per-region features: the vision encoder width."""
        return int(self.net.config.vision_config.hidden_size)

    def _queries(self, names: tuple[str, ...]) -> dict[str, torch.Tensor]:
        queries = [self.template.format(n.strip()) for n in names]
        tok = self.processor.tokenizer(queries, padding="longest", return_tensors="pt")
        max_len = int(self.net.config.text_config.max_position_embeddings)
        if tok["input_ids"].shape[1] > max_len:
            raise InputError(
                f"clipseg: a part query is longer than the {max_len} tokens the text encoder reads; "
                "shorten the part names or the template"
            )
        return {k: tok[k].to(self.device) for k in ("input_ids", "attention_mask")}

    def probabilities(self, views: Views, part_names: Sequence[str]) -> np.ndarray:
        """(V, C, H, W) float32 per-view, per-part probability maps (for inspection and plots)."""
        names = check_part_names(part_names, what="clipseg")
        check_views(views, what="clipseg")
        return np.concatenate(
            [p.cpu().numpy() for p, _ in self._forward(views, self._queries(names), len(names))]
        )

    def _forward(self, views: Views, text: dict[str, torch.Tensor], c: int):
        """Yield ``(prob (b, C, H, W), tokens (b, g, g, F))`` per batch of views."""
        h, w = views.image_size
        for batch, images in self.image_batches(views):
            b = len(batch)
            # text (b * C, L), image-major, each image repeated for its C queries
            out = self.infer(text, b, pixel_values=self.pixels(images).repeat_interleave(c, dim=0))
            logits = out.logits.float().reshape(b, c, *out.logits.shape[-2:])
            prob = F.interpolate(logits, (h, w), mode="bilinear", align_corners=False).sigmoid()
            tokens = out.vision_model_output.last_hidden_state.float()[::c, 1:]  # (b, g*g, F)
            g = int(round(tokens.shape[1] ** 0.5))
            yield prob, tokens.reshape(b, g, g, tokens.shape[-1])

    def predict(self, views: Views, part_names: Sequence[str], shape: Shape | None = None) -> Predictions:
        """Per-part pixel regions on every view.

        Args:
            views: V rendered views, (V, H, W, 3) uint8 RGB (and ``pix2point`` for the foreground).
            part_names: C distinct part names; labels index them.
            shape: unused (the teacher sees only the views).

        Returns:
            Pixel predictions ordered by view, then part: ``masks`` (D, H, W) bool regions,
            ``boxes`` (D, 4) float32 their screen ``xyxy`` bounding boxes, ``score`` (D,) float32
            mean probability in the region, ``features`` (D, F) float32.
        """
        del shape
        names = self.check_inputs(views, part_names)
        c = len(names)
        text = self._queries(names)
        h, w = views.image_size
        view_ids, labels, scores, boxes, feats, masks = [], [], [], [], [], []
        start = 0
        for prob, tokens in self._forward(views, text, c):
            for j in range(prob.shape[0]):
                v = start + j
                valid = None
                if self.foreground_only:
                    valid = torch.from_numpy(views.pix2point[v] >= 0).to(prob.device)
                regions = separate_regions(prob[j], self.threshold, valid)  # (C, H, W)
                g = tokens.shape[1]
                cover = F.adaptive_avg_pool2d(regions.float(), (g, g))  # (C, g, g) area fractions
                for k in range(c):
                    region = regions[k]
                    n_pix = int(region.sum())
                    if n_pix == 0:
                        continue
                    region_np = region.cpu().numpy()
                    weight = cover[k] / cover[k].sum()
                    view_ids.append(v)
                    labels.append(k)
                    scores.append(float(prob[j, k][region].mean()))
                    boxes.append(mask_to_box(region_np))
                    feats.append((weight[..., None] * tokens[j]).sum(dim=(0, 1)).cpu().numpy())
                    masks.append(region_np)
            start += prob.shape[0]
        if not view_ids:
            return Predictions.empty(names, (h, w), self.feature_dim, teacher=self.name, with_masks=True)
        return Predictions(
            view=np.asarray(view_ids, dtype=np.int64),
            label=np.asarray(labels, dtype=np.int64),
            score=np.asarray(scores, dtype=np.float32),
            boxes=np.stack(boxes).astype(np.float32),
            features=np.stack(feats).astype(np.float32),
            part_names=names,
            image_size=(h, w),
            masks=np.stack(masks),
            teacher=self.name,
        )
