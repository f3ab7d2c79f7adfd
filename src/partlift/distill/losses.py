"""Forward distillation loss (METHODS §4.4) and backward re-scoring (METHODS §4.5).

Teacher knowledge is kept sparse: one entry per covered (point, prediction) pair instead of the
released code's dense (points, predictions, parts) ``conf_bbox`` array. :func:`forward_loss`
computes exactly the released ``DistillLoss`` on these pairs; :func:`forward_loss_dense_reference`
is a direct transcription of the dense formula, and the tests check that they agree.

Pairs of a batch are given as flat arrays over all items: ``pair_point`` indexes the flattened
(B·N) points, ``pair_class`` is the class of the pair's prediction and ``pair_conf`` the weight
of the pair (the teacher confidence in forward mode, the re-scored κ′ in backward mode). A listed
pair is covered by definition: the mask ``M = [conf > 0]`` of the released code is taken from the
*teacher* confidences when the knowledge is built, so a pair whose re-scored κ′ is 0 still counts
in its point's denominator, as in §4.5's ``L_bwd``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from partlift.errors import InputError

__all__ = [
    "class_weights",
    "forward_loss",
    "forward_loss_dense_reference",
    "rescore",
    "rescore_reference",
]


def class_weights(pair_class: torch.Tensor, n_classes: int, *, base: float = 4.0,
                  max_weight: float = 4.0, null_class: int | None = None) -> torch.Tensor:
    """(K,) float32 class-balance weights ω of METHODS §4.4 (``get_class_weight``, opt = 1).

    ``N_c`` = number of covered pairs of class c; ``ω_c = clip(log_base(Σ N / (C N_c)) + 1, 1,
    max_weight)``. A class absent from the pairs gets ``max_weight`` (the released division by
    zero gives ∞, clipped). With no pairs at all every class gets ``max_weight``.

    ``null_class``: index of the "none" output (our extension, see
    :class:`~partlift.distill.config.DistillConfig`), or None. When given, the balance is computed
    over the C part classes only (C = ``n_classes - 1``) and ω_null = 1: the null evidence is far
    more frequent than any part and would otherwise push every part to the upper clip, which
    in a one-part category labels most of the object with that part.
    """
    if null_class is not None:
        keep = pair_class != null_class
        w = class_weights(pair_class[keep], n_classes - 1, base=base, max_weight=max_weight)
        return torch.cat([w[:null_class], w.new_ones(1), w[null_class:]])
    counts = torch.bincount(pair_class, minlength=n_classes).to(torch.float64)
    total = counts.sum()
    with torch.no_grad():
        ratio = total / (n_classes * counts)  # inf where a class is absent
        w = torch.log(ratio) / math.log(base) + 1.0
        w = torch.nan_to_num(w, nan=max_weight, posinf=max_weight, neginf=1.0)
        w = w.clamp(1.0, max_weight)
    return w.to(torch.float32)


def forward_loss(
    logits: torch.Tensor,
    pair_point: torch.Tensor,
    pair_class: torch.Tensor,
    pair_conf: torch.Tensor,
    *,
    base: float = 4.0,
    max_weight: float = 4.0,
    null_class: int | None = None,
) -> torch.Tensor:
    """The mask-aware, confidence-weighted, class-balanced distillation loss (METHODS §4.4).

    Args:
        logits: (Q, C) float student logits of all points of the batch (Q = B·N, flattened).
        pair_point: (P,) int64 point of each covered pair, in [0, Q).
        pair_class: (P,) int64 class of the pair's teacher prediction, in [0, C).
        pair_conf: (P,) float32 weight of the pair (teacher confidence, or re-scored κ′).
        null_class: the "none" output's index when the student has one (see :func:`class_weights`).

    Returns:
        scalar ``mean_q [Σ_{pairs at q} conf · ω_c · (−log softmax(logits_q)_c)] / max(1, #pairs at
        q)``; points covered by nothing contribute 0 but count in the mean (the released
        normalisation).
    """
    q, c = logits.shape
    if pair_point.numel() == 0:
        return logits.sum() * 0.0
    w = class_weights(pair_class, c, base=base, max_weight=max_weight, null_class=null_class).to(logits.device)
    logp = torch.log_softmax(logits, dim=-1)
    ce = -logp[pair_point, pair_class] * w[pair_class]
    num = torch.zeros(q, dtype=logits.dtype, device=logits.device).index_add_(0, pair_point, pair_conf * ce)
    cnt = torch.bincount(pair_point, minlength=q).clamp(min=1).to(logits.dtype)
    return (num / cnt).sum() / q


def forward_loss_dense_reference(
    logits: torch.Tensor, conf: torch.Tensor, cls: torch.Tensor, *, weight: torch.Tensor | None = None,
    base: float = 4.0, max_weight: float = 4.0,
) -> torch.Tensor:
    """Direct transcription of the released ``DistillLoss`` (slow, dense; tests only).

    Args:
        logits: (B, N, C). conf: (B, N, D) confidence of prediction d at point i, 0 = uncovered.
        cls: (B, D) int64 class of each prediction (padding predictions have conf 0 everywhere).
        weight: (B, N, D) weights replacing ``conf`` where ``conf > 0`` (backward mode), or None.
    """
    b, n, c = logits.shape
    d = conf.shape[-1]
    mask = conf > 0
    counts = torch.stack([((cls[:, None, :].expand(b, n, d) == k) & mask).sum() for k in range(c)])
    total = counts.sum().double()
    om = torch.empty(c, dtype=torch.float32)
    for k in range(c):
        ratio = total / (c * counts[k].double()) if counts[k] > 0 else torch.tensor(float("inf"))
        om[k] = float(min(max(math.log(float(ratio)) / math.log(base) + 1.0, 1.0), max_weight)) \
            if math.isfinite(float(ratio)) else max_weight
    logp = torch.log_softmax(logits, dim=-1)
    out = torch.zeros(b, n, dtype=logits.dtype)
    for bi in range(b):
        for i in range(n):
            s = logits.new_zeros(())
            m = 0
            for j in range(d):
                if conf[bi, i, j] > 0:
                    k = int(cls[bi, j])
                    wgt = conf[bi, i, j] if weight is None else weight[bi, i, j]
                    s = s + wgt * (-om[k] * logp[bi, i, k])
                    m += 1
            out[bi, i] = s / max(1, m)
    return out.mean()


def _check_rescore(student_label: np.ndarray, pair_point: np.ndarray, pair_pred: np.ndarray,
                   pred_class: np.ndarray, mode: str) -> None:
    if mode not in ("agree", "iou"):
        raise InputError(f"rescore: expected mode 'agree' or 'iou', got {mode!r}")
    if pair_point.shape != pair_pred.shape:
        raise InputError(f"rescore: pair_point {pair_point.shape} and pair_pred {pair_pred.shape} differ")
    if pair_point.size and (pair_point.max() >= student_label.shape[0] or pair_pred.max() >= pred_class.shape[0]):
        raise InputError("rescore: pair indices out of range for the given points / predictions")


def rescore(
    student_label: np.ndarray,
    pair_point: np.ndarray,
    pair_pred: np.ndarray,
    pred_class: np.ndarray,
    *,
    mode: str = "agree",
) -> np.ndarray:
    """Re-scored confidence κ′ of every teacher prediction of one shape (METHODS §4.5).

    Args:
        student_label: (M,) int64 the converged student's argmax on the shape's knowledge points.
        pair_point: (P,) int64 covered point (index into the M points) of each pair.
        pair_pred: (P,) int64 prediction of each pair, in [0, D).
        pred_class: (D,) int64 class of each prediction.
        mode: ``"agree"``: κ′_d = |{i ∈ M_d : student_i = c_d}| / max(1, |M_d|) (released code);
            ``"iou"``: |M_d ∩ S_{c_d}| / |M_d ∪ S_{c_d}| with S_c = {i : student_i = c}.

    Returns:
        (D,) float32 in [0, 1]; a prediction covering no knowledge point gets 0.
    """
    student_label = np.asarray(student_label, np.int64)
    pair_point = np.asarray(pair_point, np.int64)
    pair_pred = np.asarray(pair_pred, np.int64)
    pred_class = np.asarray(pred_class, np.int64)
    _check_rescore(student_label, pair_point, pair_pred, pred_class, mode)
    d = pred_class.shape[0]
    size = np.bincount(pair_pred, minlength=d).astype(np.float64)
    agree = student_label[pair_point] == pred_class[pair_pred]
    inter = np.bincount(pair_pred, weights=agree.astype(np.float64), minlength=d)
    if mode == "agree":
        denom = np.maximum(size, 1.0)
    else:
        region = np.bincount(student_label[student_label >= 0], minlength=int(pred_class.max(initial=0)) + 1)
        s_c = region[pred_class].astype(np.float64) if d else np.zeros(0)
        denom = np.maximum(size + s_c - inter, 1.0)
    return (inter / denom).astype(np.float32)


def rescore_reference(student_label: np.ndarray, covered: np.ndarray, pred_class: np.ndarray,
                      *, mode: str = "agree") -> np.ndarray:
    """Loop reference of :func:`rescore` on a dense (D, M) bool coverage (tests only)."""
    out = np.zeros(len(pred_class), np.float32)
    for dd, c in enumerate(pred_class):
        m = np.flatnonzero(covered[dd])
        s = set(np.flatnonzero(student_label == c).tolist())
        inter = sum(1 for i in m if i in s)
        if mode == "agree":
            out[dd] = inter / max(1, len(m))
        else:
            out[dd] = inter / max(1, len(set(m.tolist()) | s))
    return out
