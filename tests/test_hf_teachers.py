"""Hugging Face teachers on tiny, randomly initialised models saved to and loaded from a temp dir.

Nothing is downloaded: the models, tokenizers and processors are built in :mod:`hf_tiny` and read
back through ``build(model=<directory>)``, the same path a real checkpoint takes. Random weights
make no meaningful detections, so the coordinate conventions are checked by rigging the model's
raw outputs (a known normalised box) and following them through the adapter.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import hf_tiny  # tests/ helper; imports transformers only inside its functions
from partlift.errors import InputError, UnavailableError
from partlift.teachers.base import MaskRefiner, RefinedTeacher, Teacher
from partlift.teachers.hf import adapter, clipseg, grounding_dino, owlv2, sam
from partlift.types import Camera, Predictions, Views

# Offline before transformers / huggingface_hub are first imported (conftest sets it too): without
# it every hub lookup of a missing model retries the network for ~25 s before failing.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
pytest.importorskip("transformers")

H, W = 48, 64  # non-square on purpose: OWLv2 pads to a square, SAM pads the short side
PARTS = ["arm", "back", "leg"]


def make_views(n_views: int = 3, seed: int = 0) -> Views:
    """Random RGB views with a foreground rectangle (rows 5..39, cols 10..49) in ``pix2point``."""
    rng = np.random.default_rng(seed)
    n = 12
    pix2point = np.full((n_views, H, W), -1, np.int64)
    pix2point[:, 5:40, 10:50] = 3
    return Views(
        rgb=rng.integers(0, 256, (n_views, H, W, 3), dtype=np.uint8),
        pix2point=pix2point,
        screen_xy=np.zeros((n_views, n, 2), np.float32),
        visible=np.zeros((n_views, n), bool),
        depth=np.ones((n_views, n), np.float32),
        cameras=tuple(Camera(10.0, 90.0 * i, 2.2, 60.0) for i in range(n_views)),
    )


@pytest.fixture(scope="module")
def views() -> Views:
    return make_views()


@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hf_tiny")
    torch.manual_seed(0)
    return {
        "owlv2": hf_tiny.save_tiny_owlv2(root / "owlv2"),
        "grounding_dino": hf_tiny.save_tiny_grounding_dino(root / "grounding_dino"),
        "sam": hf_tiny.save_tiny_sam(root / "sam"),
        "clipseg": hf_tiny.save_tiny_clipseg(root / "clipseg"),
    }


@pytest.fixture(scope="module")
def owl(tiny_dirs):
    return owlv2.build(model=str(tiny_dirs["owlv2"]), score_threshold=0.0, batch_size=3)


@pytest.fixture(scope="module")
def gdino(tiny_dirs):
    return grounding_dino.build(model=str(tiny_dirs["grounding_dino"]), box_threshold=0.0, batch_size=3)


@pytest.fixture(scope="module")
def refiner(tiny_dirs):
    return sam.build(model=str(tiny_dirs["sam"]), batch_size=3)


@pytest.fixture(scope="module")
def seg(tiny_dirs):
    return clipseg.build(model=str(tiny_dirs["clipseg"]), threshold=0.2, batch_size=3)


def pixel_centres_inside(box: np.ndarray, h: int = H, w: int = W) -> np.ndarray:
    """(H, W) bool: pixel centres strictly inside screen box ``xyxy`` (the lifting rule)."""
    rows, cols = np.mgrid[0:h, 0:w]
    x1, y1, x2, y2 = box
    return (cols > x1) & (cols < x2) & (rows > y1) & (rows < y2)


def check_box_predictions(p: Predictions, n_views: int, feature_dim: int, threshold: float) -> None:
    d = len(p)
    assert d > 0
    assert p.view.dtype == np.int64 and p.label.dtype == np.int64
    assert p.score.dtype == np.float32 and p.boxes.dtype == np.float32
    assert p.features.dtype == np.float32 and p.features.shape == (d, feature_dim)
    assert np.all(np.diff(p.view) >= 0) and p.view.max() < n_views
    assert np.all((p.score > threshold) & (p.score <= 1.0))
    assert np.all(p.boxes[:, 2] > p.boxes[:, 0]) and np.all(p.boxes[:, 3] > p.boxes[:, 1])
    assert p.boxes[:, [0, 2]].min() >= -0.5 and p.boxes[:, [0, 2]].max() <= W - 0.5
    assert p.boxes[:, [1, 3]].min() >= -0.5 and p.boxes[:, [1, 3]].max() <= H - 0.5
    assert p.masks is None and p.image_size == (H, W)
    for v in range(n_views):
        s = p.score[p.view == v]
        assert np.all(np.diff(s) <= 0), "each view's boxes come by decreasing score"
        assert s.size <= adapter.MAX_DETECTIONS


def assert_same_predictions(a: Predictions, b: Predictions) -> None:
    assert len(a) == len(b)
    np.testing.assert_array_equal(a.view, b.view)
    np.testing.assert_array_equal(a.label, b.label)
    np.testing.assert_allclose(a.score, b.score, atol=1e-5)
    np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-3)
    np.testing.assert_allclose(a.features, b.features, atol=1e-4)
    if a.masks is None:
        assert b.masks is None
    else:
        np.testing.assert_array_equal(a.masks, b.masks)


class Rigged(torch.nn.Module):
    """Runs the real tiny model, then overwrites some raw outputs with known values."""

    def __init__(self, net: torch.nn.Module, edit) -> None:
        super().__init__()
        self.inner = net
        self.config = net.config
        self.edit = edit

    def forward(self, **inputs):
        out = self.inner(**inputs)
        self.edit(out)
        return out


# A known rectangle: rows 10..29, cols 20..49 (inclusive), i.e. edges at 20/64 .. 50/64 etc.
R0, R1, C0, C1 = 10, 29, 20, 49
EXPECTED_BOX = np.array([C0 - 0.5, R0 - 0.5, C1 + 0.5, R1 + 0.5], np.float32)


def rect_cxcywh(frame_w: float, frame_h: float) -> torch.Tensor:
    """The rectangle as a normalised ``cx, cy, w, h`` box over a ``frame_w x frame_h`` frame."""
    x0, x1, y0, y1 = C0, C1 + 1, R0, R1 + 1  # pixel edges, corner origin
    return torch.tensor(
        [(x0 + x1) / 2 / frame_w, (y0 + y1) / 2 / frame_h, (x1 - x0) / frame_w, (y1 - y0) / frame_h]
    )


# --- pure helpers ------------------------------------------------------------------------------


def test_normalized_box_maps_back_to_the_rectangle_pixels() -> None:
    box = adapter.normalized_cxcywh_to_screen_xyxy(rect_cxcywh(W, H), W, H).numpy()
    np.testing.assert_allclose(box, EXPECTED_BOX, atol=1e-5)
    inside = pixel_centres_inside(box)
    expected = np.zeros((H, W), bool)
    expected[R0 : R1 + 1, C0 : C1 + 1] = True
    np.testing.assert_array_equal(inside, expected)
    # corner-origin (HF "absolute" boxes, SAM prompts) is the same box shifted by half a pixel
    np.testing.assert_allclose(adapter.screen_to_corner_xyxy(box), EXPECTED_BOX + 0.5)


def test_mask_to_box_puts_every_mask_pixel_strictly_inside() -> None:
    mask = np.zeros((H, W), bool)
    mask[R0 : R1 + 1, C0 : C1 + 1] = True
    mask[R0, C0] = False  # not a full rectangle
    box = adapter.mask_to_box(mask)
    np.testing.assert_array_equal(box, EXPECTED_BOX)
    assert np.all(pixel_centres_inside(box)[mask])
    with pytest.raises(InputError):
        adapter.mask_to_box(np.zeros((4, 4), bool))


def test_nms_is_classwise_and_keeps_the_best() -> None:
    boxes = torch.tensor(
        [[0, 0, 10, 10], [1, 0, 11, 10], [0, 0, 10, 10], [20, 20, 30, 30], [0, 0, 10, 5]],
        dtype=torch.float32,
    )
    scores = torch.tensor([0.8, 0.9, 0.7, 0.6, 0.95])
    labels = torch.tensor([0, 0, 1, 0, 0])
    # box 1 (0.9) suppresses box 0 (IoU 9/11 > 0.6); box 2 is another class; box 4 has IoU 0.5
    keep = adapter.batched_nms(boxes, scores, labels, 0.6).tolist()
    assert keep == [4, 1, 2, 3]
    assert adapter.nms(boxes, scores, 0.6).tolist() == [4, 1, 3]
    assert adapter.nms(boxes[:0], scores[:0], 0.6).numel() == 0


def test_select_detections_thresholds_clips_and_caps() -> None:
    boxes = torch.tensor([[-5, -5, 10, 10], [70, 0, 80, 10], [0, 0, 5, 5], [30, 30, 40, 40]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.1, 0.5])
    labels = torch.tensor([0, 0, 0, 1])
    idx, kept = adapter.select_detections(scores, labels, boxes, threshold=0.2, image_size=(H, W))
    assert idx.tolist() == [0, 3]  # 1 lies outside the image (empty after clipping), 2 is below
    np.testing.assert_allclose(kept[0].numpy(), [-0.5, -0.5, 10, 10])
    idx, _ = adapter.select_detections(scores, labels, boxes, threshold=0.2, image_size=(H, W), max_detections=1)
    assert idx.tolist() == [0]


def test_grounding_dino_prompt_and_phrase_spans() -> None:
    prompt, spans = grounding_dino.make_prompt(["Arm", "back rest", "leg"])
    assert prompt == "arm . back rest . leg . "  # METHODS §1.3
    assert [prompt[s:e] for s, e in spans] == ["arm", "back rest", "leg"]
    offsets = [(0, 0), (0, 3), (4, 5), (6, 10), (11, 15), (16, 17), (18, 21), (22, 23), (0, 0)]
    tmap = grounding_dino.phrase_token_map(offsets, spans)
    assert tmap.shape == (3, 9)
    assert [np.flatnonzero(r).tolist() for r in tmap] == [[1], [3, 4], [6]]
    with pytest.raises(InputError, match="contains '.'"):
        grounding_dino.make_prompt(["arm", "st. leg"])


def test_separate_regions_hand_computed() -> None:
    prob = torch.tensor(
        [
            [[0.9, 0.2], [0.6, 0.1]],  # part 0
            [[0.3, 0.8], [0.6, 0.3]],  # part 1 (ties go to part 0)
        ]
    )
    regions = clipseg.separate_regions(prob, 0.5).numpy()
    np.testing.assert_array_equal(regions[0], [[True, False], [True, False]])
    np.testing.assert_array_equal(regions[1], [[False, True], [False, False]])
    valid = torch.tensor([[True, True], [False, True]])
    assert not clipseg.separate_regions(prob, 0.5, valid)[0, 1, 0]


# --- errors and options --------------------------------------------------------------------------


def test_unreachable_model_id_says_how_to_provide_weights_offline() -> None:
    with pytest.raises(UnavailableError) as err:
        owlv2.build(model="nonexistent-org/nonexistent-model")
    msg = str(err.value)
    assert "nonexistent-org/nonexistent-model" in msg
    assert "download nonexistent-org/nonexistent-model" in msg and "--teacher owlv2:/path/to/dir" in msg


@pytest.mark.parametrize("module", [grounding_dino, owlv2, sam, clipseg])
def test_every_builder_reports_missing_weights(module, tmp_path) -> None:
    with pytest.raises(InputError, match="not an existing directory"):
        module.build(model=str(tmp_path / "missing"))
    with pytest.raises(UnavailableError, match="save_pretrained"):
        module.build(model=str(tmp_path))  # an empty directory


def test_checkpoint_of_another_kind_is_refused(tiny_dirs) -> None:
    with pytest.raises(InputError, match="'sam' checkpoint"):
        owlv2.build(model=str(tiny_dirs["sam"]))


def test_missing_transformers_gives_the_install_hint(monkeypatch, tiny_dirs) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)  # makes `import transformers` fail
    with pytest.raises(UnavailableError, match=r"pip install 'partlift\[hf\]'"):
        sam.build(model=str(tiny_dirs["sam"]))


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_when_unavailable_is_a_clear_error(tiny_dirs) -> None:
    with pytest.raises(UnavailableError, match="device='cpu'"):
        clipseg.build(model=str(tiny_dirs["clipseg"]), device="cuda")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"device": "gpu"}, "device"),
        ({"dtype": "int8"}, "dtype"),
        ({"batch_size": 0}, "batch_size"),
        ({"score_threshold": 1.5}, "score_threshold"),
        ({"template": "a photo"}, "template"),
    ],
)
def test_bad_options_are_input_errors(tiny_dirs, kwargs, match) -> None:
    with pytest.raises(InputError, match=match):
        owlv2.build(model=str(tiny_dirs["owlv2"]), **kwargs)


def test_bad_multimask_option(tiny_dirs) -> None:
    with pytest.raises(InputError, match="multimask"):
        sam.build(model=str(tiny_dirs["sam"]), multimask="all")


@pytest.mark.parametrize("names", [[], ["arm", "Arm "], ["arm", ""], "arm"])
def test_bad_part_names(owl, views, names) -> None:
    with pytest.raises(InputError, match="part"):
        owl.predict(views, names, None)


def test_grounding_dino_prompt_longer_than_the_model_reads(gdino, views) -> None:
    names = [f"part{chr(97 + i)}" for i in range(20)]  # the tiny model reads 32 tokens
    with pytest.raises(InputError, match="at most 32"):
        gdino.predict(views, names, None)


# --- box teachers end to end ---------------------------------------------------------------------


def test_teachers_follow_the_protocols(owl, gdino, refiner, seg) -> None:
    for t in (owl, gdino, seg):
        assert isinstance(t, Teacher) and not t.needs_ground_truth
    assert (owl.kind, gdino.kind, seg.kind) == ("box", "box", "pixel")
    assert isinstance(refiner, MaskRefiner)
    assert re.fullmatch(r"owlv2\(owlv2@[0-9a-f]{8},th=0\)", owl.name)
    assert re.fullmatch(r"grounding-dino\(grounding_dino@[0-9a-f]{8},th=0\)", gdino.name)
    assert re.fullmatch(r"sam\(sam@[0-9a-f]{8}\)", refiner.name)
    assert re.fullmatch(r"clipseg\(clipseg@[0-9a-f]{8},th=0.2\)", seg.name)


def test_local_checkpoint_folders_of_the_same_name_get_different_labels(tmp_path) -> None:
    from partlift.teachers.hf.adapter import model_label

    a, b = tmp_path / "a" / "owlv2", tmp_path / "b" / "owlv2"
    for d, size in ((a, 3), (b, 4)):
        d.mkdir(parents=True)
        (d / "model.safetensors").write_bytes(b"x" * size)
    assert model_label(str(a)).startswith("owlv2@") and model_label(str(a)) != model_label(str(b))
    assert model_label(str(a)) == model_label(str(a) + "/")  # stable for the same folder
    assert model_label("google/owlv2-base-patch16-ensemble") == "google/owlv2-base-patch16-ensemble"


def test_owlv2_shapes_and_batching(owl, views) -> None:
    p = owl.predict(views, PARTS, None)
    check_box_predictions(p, views.n_views, owl.feature_dim, 0.0)
    assert p.teacher == owl.name and p.part_names == tuple(PARTS)
    one = owlv2.Owlv2Teacher(
        owl.net, owl.processor, model_name="x", device=owl.device, dtype=owl.dtype,
        batch_size=1, score_threshold=0.0,
    )
    assert_same_predictions(p, one.predict(views, PARTS, None))


def test_grounding_dino_shapes_and_batching(gdino, views) -> None:
    p = gdino.predict(views, PARTS, None)
    check_box_predictions(p, views.n_views, gdino.feature_dim, 0.0)
    one = grounding_dino.GroundingDinoTeacher(
        gdino.net, gdino.processor, model_name="x", device=gdino.device, dtype=gdino.dtype,
        batch_size=1, box_threshold=0.0,
    )
    assert_same_predictions(p, one.predict(views, PARTS, None))


def test_high_threshold_gives_documented_empty_predictions(gdino, views) -> None:
    strict = grounding_dino.GroundingDinoTeacher(
        gdino.net, gdino.processor, model_name="x", device=gdino.device, dtype=gdino.dtype,
        batch_size=3, box_threshold=1.0,
    )
    p = strict.predict(views, PARTS, None)
    assert len(p) == 0 and p.features.shape == (0, gdino.feature_dim)


def test_owlv2_box_coordinates_follow_the_padded_square(owl, views) -> None:
    """A box on a known rectangle maps back to exactly that rectangle's pixels (OWLv2 pads to S x S)."""
    side = max(H, W)

    def edit(out):
        out.logits[:] = -20.0
        out.logits[:, 5, 2] = 20.0  # patch 5 detects part 2
        out.pred_boxes[:, 5] = rect_cxcywh(side, side)

    rigged = owlv2.Owlv2Teacher(
        Rigged(owl.net, edit), owl.processor, model_name="x", device=owl.device, dtype=owl.dtype,
        batch_size=2, score_threshold=0.5,
    )
    p = rigged.predict(views, PARTS, None)
    assert p.view.tolist() == [0, 1, 2] and p.label.tolist() == [2, 2, 2]
    np.testing.assert_allclose(p.boxes, np.tile(EXPECTED_BOX, (3, 1)), atol=1e-4)
    # HF's own post-processing gives the same box in corner-origin pixels
    inputs = owl.processor(text=[PARTS], images=make_views(1).rgb[0], return_tensors="pt")
    with torch.no_grad():
        out = Rigged(owl.net, edit)(**inputs)
    hf = owl.processor.image_processor.post_process_object_detection(out, 0.5, target_sizes=[(H, W)])
    np.testing.assert_allclose(hf[0]["boxes"][0].numpy(), EXPECTED_BOX + 0.5, atol=1e-4)
    # the feature is the class embedding of the detecting patch
    with torch.no_grad():
        emb = owl.net(**inputs).class_embeds[0, 5].numpy()
    one = make_views(1)
    p1 = rigged.predict(one, PARTS, None)
    np.testing.assert_allclose(p1.features[0], emb, atol=1e-5)


def test_grounding_dino_box_coordinates_and_multi_token_phrases(gdino, views) -> None:
    names = ["arm", "door frame", "leg"]  # "door frame": several word pieces over two words
    prompt, spans = grounding_dino.make_prompt(names)
    tok = gdino.processor.tokenizer(prompt, return_offsets_mapping=True)
    phrase_tokens = np.flatnonzero(grounding_dino.phrase_token_map(tok["offset_mapping"], spans)[1])
    assert phrase_tokens.size >= 4  # d ##o ##o ##r f ##r ... in the tiny vocabulary
    last = int(phrase_tokens[-1])

    def edit(out):
        n = len(tok["input_ids"])
        out.logits[:, :, :n] = -20.0
        out.logits[:, 7, last] = 20.0  # query 7 matches the last token of "door frame"
        out.pred_boxes[:, 7] = rect_cxcywh(W, H)

    rigged = grounding_dino.GroundingDinoTeacher(
        Rigged(gdino.net, edit), gdino.processor, model_name="x", device=gdino.device,
        dtype=gdino.dtype, batch_size=3, box_threshold=0.5,
    )
    p = rigged.predict(views, names, None)
    assert p.label.tolist() == [1, 1, 1]
    np.testing.assert_allclose(p.boxes, np.tile(EXPECTED_BOX, (3, 1)), atol=1e-4)
    np.testing.assert_array_equal(pixel_centres_inside(p.boxes[0])[R0 : R1 + 1, C0 : C1 + 1], True)
    assert pixel_centres_inside(p.boxes[0]).sum() == (R1 - R0 + 1) * (C1 - C0 + 1)
    # HF's own post-processing gives the same box in corner-origin pixels
    inputs = gdino.processor(images=views.rgb[0], text=prompt, return_tensors="pt")
    with torch.no_grad():
        out = Rigged(gdino.net, edit)(**inputs)
    hf = gdino.processor.post_process_grounded_object_detection(
        out, inputs["input_ids"], threshold=0.5, text_threshold=0.5, target_sizes=[(H, W)]
    )
    np.testing.assert_allclose(hf[0]["boxes"][0].numpy(), EXPECTED_BOX + 0.5, atol=1e-4)
    # the feature is the decoder's last hidden state of the detecting query
    with torch.no_grad():
        ref = gdino.net(**inputs).last_hidden_state[0, 7].numpy()
    np.testing.assert_allclose(p.features[0], ref, atol=1e-4)


def test_owlv2_runs_in_bfloat16_and_returns_float32(tiny_dirs, views) -> None:
    t = owlv2.build(model=str(tiny_dirs["owlv2"]), dtype="bfloat16", score_threshold=0.0)
    assert re.fullmatch(r"owlv2\(owlv2@[0-9a-f]{8},th=0,bf16\)", t.name)
    p = t.predict(views, PARTS, None)
    assert p.boxes.dtype == np.float32 and p.features.dtype == np.float32


# --- SAM refiner ---------------------------------------------------------------------------------


def test_sam_refines_every_box_and_keeps_the_rest(owl, refiner, views) -> None:
    boxes = owl.predict(views, PARTS, None)
    out = refiner.refine(views, boxes)
    assert out.masks is not None and out.masks.shape == (len(boxes), H, W) and out.masks.dtype == bool
    np.testing.assert_array_equal(out.view, boxes.view)
    np.testing.assert_array_equal(out.label, boxes.label)
    np.testing.assert_array_equal(out.boxes, boxes.boxes)
    np.testing.assert_array_equal(out.features, boxes.features)
    assert out.teacher == f"{boxes.teacher}+{refiner.name}"
    one = sam.SamRefiner(refiner.net, refiner.processor, model_name="x", device=refiner.device, dtype=refiner.dtype, batch_size=1)
    np.testing.assert_array_equal(one.refine(views, boxes).masks, out.masks)


def test_sam_prompts_and_masks_match_the_hf_processor(refiner, views) -> None:
    box = np.array([[3.5, 7.5, 40.5, 30.5]], np.float32)  # screen xyxy
    ours = refiner.model_boxes(box, (H, W))
    enc = refiner.processor(images=views.rgb[0], input_boxes=[[(box[0] + 0.5).tolist()]], return_tensors="pt")
    np.testing.assert_allclose(ours.numpy(), enc["input_boxes"][0].numpy(), atol=1e-4)
    with torch.no_grad():
        emb = refiner.net.get_image_embeddings(enc["pixel_values"])
    logits = refiner.mask_logits(emb, ours)
    ip = refiner.processor.image_processor
    pad = (ip.pad_size["height"], ip.pad_size["width"])
    resized = sam.resize_shape(H, W, ip.size["longest_edge"])
    mine = sam.upsample_mask_logits(logits, pad, resized, (H, W)) > 0
    hf = ip.post_process_masks([logits[:, None]], enc["original_sizes"], enc["reshaped_input_sizes"])[0][:, 0]
    np.testing.assert_array_equal(mine.numpy(), hf.numpy())


def test_sam_best_of_three_keeps_the_highest_scoring_mask(refiner, views) -> None:
    best = sam.SamRefiner(
        refiner.net, refiner.processor, model_name="x", device=refiner.device, dtype=refiner.dtype,
        batch_size=2, multimask="best",
    )
    assert best.name == "sam(x,mm=best)"
    boxes = torch.tensor([[2.0, 2.0, 30.0, 30.0], [10.0, 5.0, 60.0, 40.0]])
    pixels = refiner.processor.image_processor(images=views.rgb[0], return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        emb = refiner.net.get_image_embeddings(pixels)
        out = refiner.net(image_embeddings=emb, input_boxes=boxes[None], multimask_output=True)
    pick = out.iou_scores[0].argmax(-1)
    expected = out.pred_masks[0][torch.arange(2), pick]
    torch.testing.assert_close(best.mask_logits(emb, boxes), expected)


def test_sam_with_no_predictions_and_mismatched_views(refiner, views) -> None:
    empty = Predictions.empty(tuple(PARTS), (H, W), 4)
    out = refiner.refine(views, empty)
    assert out.masks is not None and out.masks.shape == (0, H, W)
    wrong = Predictions.empty(tuple(PARTS), (H + 1, W), 4)
    with pytest.raises(InputError, match="refine with the views"):
        refiner.refine(views, wrong)


def test_refined_teacher_composes_a_box_teacher_with_sam(owl, refiner, views) -> None:
    t = RefinedTeacher(owl, refiner)
    p = t.predict(views, PARTS, None)
    assert t.kind == "mask" and re.fullmatch(r"owlv2\(owlv2@\w{8},th=0\)\+sam\(sam@\w{8}\)", t.name)
    assert p.masks is not None and len(p) > 0


# --- CLIPSeg pixel teacher -----------------------------------------------------------------------


def test_clipseg_regions_boxes_scores_features(seg, views) -> None:
    p = seg.predict(views, PARTS, None)
    d = len(p)
    assert d > 0 and p.masks is not None and p.masks.shape == (d, H, W)
    assert p.features.shape == (d, seg.feature_dim) and p.features.dtype == np.float32
    prob = seg.probabilities(views, PARTS)
    assert prob.shape == (views.n_views, len(PARTS), H, W)
    fg = views.pix2point >= 0
    for i in range(d):
        v, k, m = int(p.view[i]), int(p.label[i]), p.masks[i]
        assert m.any() and not (m & ~fg[v]).any(), "regions lie on the shape's pixels"
        assert np.all(pixel_centres_inside(p.boxes[i])[m])
        np.testing.assert_array_equal(p.boxes[i], adapter.mask_to_box(m))
        assert np.all(prob[v, k][m] > 0.2) and np.all(prob[v, k][m] >= prob[v][:, m].max(axis=0))
        np.testing.assert_allclose(p.score[i], prob[v, k][m].mean(), rtol=1e-5)
    for v in range(views.n_views):
        assert p.masks[p.view == v].sum(axis=0).max() <= 1, "regions of one view are disjoint"
        assert np.all(np.diff(p.label[p.view == v]) > 0), "one prediction per (view, part), in part order"


def test_clipseg_batching_and_background_option(seg, tiny_dirs, views) -> None:
    p = seg.predict(views, PARTS, None)
    one = clipseg.ClipSegTeacher(
        seg.net, seg.processor, model_name="x", device=seg.device, dtype=seg.dtype,
        batch_size=1, threshold=0.2,
    )
    assert_same_predictions(p, one.predict(views, PARTS, None))
    bg = clipseg.build(model=str(tiny_dirs["clipseg"]), threshold=0.2, foreground_only=False)
    assert re.fullmatch(r"clipseg\(clipseg@[0-9a-f]{8},th=0.2,bg\)", bg.name)
    q = bg.predict(views, PARTS, None)
    assert q.masks.sum() >= p.masks.sum()


def test_clipseg_single_view_single_part(seg) -> None:
    p = seg.predict(make_views(1), ["leg"], None)
    assert set(p.label.tolist()) <= {0} and p.features.shape[1] == seg.feature_dim
