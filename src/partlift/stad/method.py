"""PartSTAD as a :class:`~partlift.pipeline.Segmenter` method (METHODS §3.7–3.8).

``Segmenter(method="partstad", method_options={"weights": "chair.safetensors"})``: the checkpoint
is read on each call (small) and checked against the segmenter's teacher, the asked part names
and the teacher's feature size; a mismatch raises :class:`~partlift.errors.CheckpointError`.

Labelling (§3.7): per valid superpoint the part probabilities go through PartSLIP's thresholded,
small-part-first rule (:func:`partlift.lifting.voting.label_superpoints`) at ``0.5 - 1e-4``;
invalid superpoints get -1. Instances (§3.8, not in the released code): PartSLIP's union-find
grouping (§2.5) on top of these labels, with the predictions' boxes, so PartSTAD also gives mAP50.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from partlift.errors import InputError
from partlift.pipeline import MethodResult, PreparedShape
from partlift.stad.config import INFERENCE_THRESHOLD
from partlift.types import Predictions

__all__ = ["run_partstad", "stad_labels"]

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


def run_partstad(segmenter: Any, prepared: PreparedShape, predictions: Predictions) -> MethodResult:
    """Weighted voting with a trained weight net and null score; PartSLIP grouping for instances."""
    from partlift.lifting.instances import group_instances
    from partlift.stad.data import from_prepared
    from partlift.stad.fit import check_compatible, load_checkpoint

    path = segmenter.method_options.get("weights")
    if not path:
        raise InputError(
            "method 'partstad' needs trained weights: pass method_options={'weights': FILE} "
            "(CLI: --weights FILE; train them with `partlift fit-weights`)"
        )
    ckpt = load_checkpoint(path, device=segmenter.device)
    check_compatible(
        ckpt,
        teacher=segmenter.teacher.name,
        part_names=predictions.part_names,
        feature_dim=predictions.feature_dim,
        source=f"weights {path}",
    )
    config = ckpt.config
    if config.masks and predictions.masks is None:
        logger.warning("weights %s were trained with masks but teacher %s gives boxes only; "
                       "voting with boxes", path, segmenter.teacher.name)
        config = config.replace(masks=False)
    n = prepared.shape.n_points
    c = len(predictions.part_names)
    sp = prepared.superpoints
    if len(predictions) == 0:
        return MethodResult(np.full(n, -1, np.int64), np.full(n, -1, np.int64), np.zeros((n, c), np.float32),
                            {"stad": {"weights": str(path), "n_valid": 0}})
    st = from_prepared(segmenter, prepared, predictions, config, with_gt=False)
    sp_labels, sp_scores = stad_labels(ckpt.model, st, segmenter.vote_config)
    instance = group_instances(prepared.views, predictions, sp, sp_labels, prepared.shape.xyz, segmenter.vote_config)
    meta = {
        "stad": {
            "weights": str(path),
            "category": ckpt.meta.get("category"),
            "best_epoch": ckpt.meta.get("best_epoch"),
            "region": "mask" if config.masks else "box",
            "threshold": INFERENCE_THRESHOLD,
            "null_score": float(ckpt.model.null().detach()),
            "n_valid": st.n_valid,
        }
    }
    return MethodResult(sp_labels[sp], instance, sp_scores[sp], meta)
