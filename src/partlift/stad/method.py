"""PartSTAD as a registered method (:mod:`partlift.methods`, METHODS §3.7–3.8).

``Segmenter(method="partstad", method_options={"weights": "chair.safetensors"})``: the checkpoint
is read on each call (small) and checked against the run's teacher, the asked part names
and the teacher's feature size; a mismatch raises :class:`~partlift.errors.CheckpointError`.
Config: :class:`PartstadRun`.

Labelling (§3.7): per valid superpoint the part probabilities go through PartSLIP's thresholded,
small-part-first rule (:func:`partlift.lifting.voting.label_superpoints`) at ``0.5 - 1e-4``;
invalid superpoints get -1. Instances (§3.8, not in the released code): PartSLIP's union-find
grouping (§2.5) on top of these labels, with the predictions' boxes, so PartSTAD also gives mAP50.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from partlift.config import Settings
from partlift.errors import InputError
from partlift.methods import MethodContext
from partlift.stad.config import INFERENCE_THRESHOLD
from partlift.types import MethodResult, Predictions, PreparedShape

__all__ = ["PartstadRun", "run_partstad", "stad_labels"]

logger = logging.getLogger(__name__)


def stad_labels(
    model: Any,
    st: Any,
    vote_config: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """(M,) int64 superpoint labels (-1 for invalid ones) and (M, C) float32 part probabilities.

    Args:
        model: a :class:`~partlift.stad.net.StadModel`.
        st: the shape's :class:`~partlift.stad.data.ShapeTensors`.
        vote_config: small-part priority settings (:class:`~partlift.lifting.voting.VoteConfig`).
    """
    from partlift.stad.fit import forward, label_valid

    with torch.no_grad():
        probs = forward(model, st)
    labels = np.full(st.n_superpoints, -1, np.int64)
    scores = np.zeros((st.n_superpoints, st.n_parts), np.float32)
    if st.n_valid:
        labels[st.superpoint_ids] = label_valid(probs, st, vote_config)
        scores[st.superpoint_ids] = probs[:, 1:].cpu().numpy()
    return labels, scores


@dataclass(frozen=True)
class PartstadRun(Settings):
    """Run settings of PartSTAD.

    Attributes:
        weights: the trained weight-net checkpoint (``partlift fit-weights``); required to run.
        masks: None = vote with the region the weights were trained with; False = vote with boxes
            (the ``partstad-box`` row); True = with masks (needs a mask teacher).
    """

    weights: Any = None
    masks: bool | None = None

    def __post_init__(self) -> None:
        if self.masks is not None and not isinstance(self.masks, bool):
            raise InputError(f"PartstadRun.masks: expected true, false or none, got {self.masks!r}")

    @classmethod
    def from_options(cls, options: Any, context: MethodContext | None = None) -> PartstadRun:
        """From ``method_options``: ``weights`` (path) and ``masks``; other keys are an error."""
        del context  # the interface's; not needed here
        opts = dict(options or {})
        cls.check_keys(opts, "partstad options")
        return cls(**opts)


def run_partstad(
    prepared: PreparedShape, predictions: Predictions, config: PartstadRun, context: MethodContext
) -> MethodResult:
    """Weighted voting with a trained weight net and null score; PartSLIP grouping for instances."""
    from partlift.lifting.config import VoteConfig
    from partlift.lifting.instances import group_instances
    from partlift.stad.data import from_prepared
    from partlift.stad.fit import check_compatible, load_checkpoint

    vote = context.vote if context.vote is not None else VoteConfig()
    path = config.weights
    if not path or isinstance(path, bool):
        raise InputError(
            "method 'partstad' needs trained weights: pass method_options={'weights': FILE} "
            "(CLI: --weights FILE; train them with `partlift fit-weights`)"
        )
    ckpt = load_checkpoint(path, device=context.device)
    check_compatible(
        ckpt,
        teacher=context.teacher,
        part_names=predictions.part_names,
        feature_dim=predictions.feature_dim,
        source=f"weights {path}",
    )
    stad = ckpt.config
    if config.masks is not None and config.masks != stad.masks:
        stad = stad.replace(masks=config.masks)
    if stad.masks and predictions.masks is None:
        logger.warning("weights %s were trained with masks but teacher %s gives boxes only; "
                       "voting with boxes", path, context.teacher)
        stad = stad.replace(masks=False)
    n = prepared.shape.n_points
    c = len(predictions.part_names)
    sp = prepared.superpoints
    if len(predictions) == 0:
        return MethodResult(np.full(n, -1, np.int64), np.full(n, -1, np.int64), np.zeros((n, c), np.float32),
                            {"stad": {"weights": str(path), "n_valid": 0}})
    st = from_prepared(prepared, predictions, stad, vote_config=vote, device=context.device, with_gt=False)
    sp_labels, sp_scores = stad_labels(ckpt.model, st, vote)
    instance = group_instances(prepared.views, predictions, sp, sp_labels, prepared.shape.xyz, vote)
    meta = {
        "stad": {
            "weights": str(path),
            "category": ckpt.meta.get("category"),
            "best_epoch": ckpt.meta.get("best_epoch"),
            "region": "mask" if stad.masks else "box",
            "threshold": INFERENCE_THRESHOLD,
            "null_score": float(ckpt.model.null().detach()),
            "n_valid": st.n_valid,
        }
    }
    return MethodResult(sp_labels[sp], instance, sp_scores[sp], meta)
