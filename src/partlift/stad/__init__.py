"""PartSTAD (Kim & Sung, ECCV 2024; METHODS §3): 2D-to-3D task adaptation of the vote.

A small weight net gives every 2D prediction a weight from its teacher feature and a positional
encoding of its view and box; superpoints get weighted votes (boxes or SAM masks), a learnable
null score competes in a softmax, and the net is trained per category on a few labelled shapes
with a relaxed-IoU loss. Modules:

* :mod:`~partlift.stad.config` — :class:`StadConfig` (every constant, with its METHODS source);
* :mod:`~partlift.stad.encoding` — positional encoding, view vectors, weight-net inputs;
* :mod:`~partlift.stad.net` — :class:`WeightNet`, :class:`StadModel`;
* :mod:`~partlift.stad.data` — per-shape precomputed tensors (:func:`shape_tensors`);
* :mod:`~partlift.stad.voting` — vectorised weighted vote and probabilities;
* :mod:`~partlift.stad.loss` — mRIoU;
* :mod:`~partlift.stad.fit` — where PartSTAD fits: training, model selection, resume;
* :mod:`~partlift.stad.checkpoint` — weight files (save, load, compatibility checks);
* :mod:`~partlift.stad.fit_weights` — ``fit_weights``: shape sources in, a checkpoint out;
* :mod:`~partlift.stad.method` — ``run_partstad`` for the :class:`~partlift.pipeline.Segmenter`.

The ablation table of ``docs/partstad.md`` is an experiment, kept out of the library:
``benchmarks/partstad_ablation.py``; the fit timing is :mod:`partlift.bench.speed.stad_fit`.

Nothing here is imported by ``import partlift``; import the submodules you use.
"""

from partlift.stad.config import StadConfig

__all__ = ["StadConfig"]
