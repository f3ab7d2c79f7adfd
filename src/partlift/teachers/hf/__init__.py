"""Hugging Face ``transformers`` teachers (the ``partlift[hf]`` extra).

Builders, each ``build(**options)`` and each loading its weights when called (so a missing extra or
missing weights fail when the teacher is built, not halfway through a run):

* :func:`partlift.teachers.hf.grounding_dino.build` — Grounding DINO, box teacher.
* :func:`partlift.teachers.hf.owlv2.build` — OWLv2, box teacher.
* :func:`partlift.teachers.hf.sam.build` — SAM, a mask refiner for box teachers.
* :func:`partlift.teachers.hf.clipseg.build` — CLIPSeg, pixel teacher.

Importing this package (or its modules) does not import ``transformers``; building does.
Weights come from a Hugging Face model id (the local cache; the hub when online) or a local
directory written by ``save_pretrained``. Real-size models are for GPU machines: on a CPU they
take 1-10 s per image.
"""
