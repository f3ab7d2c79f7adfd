"""Tiny, randomly initialised Hugging Face models for offline tests of :mod:`partlift.teachers.hf`.

Each ``save_tiny_*`` function builds a model from a small config, a tokenizer from a vocabulary
written here (no download), and a processor configured for small images, then saves all three
with ``save_pretrained`` into ``path`` so that the adapter loads them from a local directory
exactly as it would load a real checkpoint.

Traps met while writing these (transformers 5.23):

* OWL models treat a query whose first token id is 0 as padding: the tokenizer's start token must
  not have id 0, or every query is masked and no box comes out.
* Grounding DINO needs ``decoder_layers >= 2`` and looks for BERT's special ids
  (``[CLS]`` = 101, ``[SEP]`` = 102, ``.`` = 1012, ``?`` = 1029) to split the prompt into phrases,
  so the tiny vocabulary puts those tokens at those ids.
* SAM needs ``2 * vision_config.num_pos_feats == prompt_encoder_config.hidden_size``.
* BPE merges must be given as tuples.
* Grounding DINO's ``GroundingDinoModel`` has ``GroupNorm(32, d_model)``, so ``d_model`` is a multiple
  of 32, and its coarsest feature level (1/64 of the input, via the backbone's patch size) must
  stay above 1 x 1 or GroupNorm fails for a batch of one: the tiny Swin uses 2-px patches.
* The PIL image processors (``*ImageProcessorPil``) are used: the default torchvision-backed ones
  need torchvision, which this project must not install.
"""

from __future__ import annotations

from pathlib import Path

# The part names used by the tests; the tiny vocabularies contain their words.
WORDS = ("arm", "back", "leg", "seat", "wheel", "lid", "handle", "photo", "of", "a")


def _clip_tokenizer():
    """A byte-level BPE CLIP tokenizer over printable ASCII plus a few whole words."""
    from transformers import CLIPTokenizer

    # Printable ASCII maps to itself under CLIP's byte-to-unicode table; prompts use nothing else.
    chars = [chr(c) for c in range(33, 127)]
    tokens = chars + [c + "</w>" for c in chars]
    merges: list[tuple[str, str]] = []
    for word in WORDS:
        # Merge left to right: "a r" -> "ar", "ar m</w>" -> "arm</w>".
        if len(word) == 1:
            continue
        pieces = list(word[:-1]) + [word[-1] + "</w>"]
        acc = pieces[0]
        for nxt in pieces[1:]:
            merges.append((acc, nxt))
            acc = acc + nxt
            if acc not in tokens:
                tokens.append(acc)
    tokens += ["<|startoftext|>", "<|endoftext|>"]  # non-zero ids (the OWL trap)
    vocab = {t: i for i, t in enumerate(dict.fromkeys(tokens))}
    return CLIPTokenizer(vocab=vocab, merges=merges)


def _bert_tokenizer():
    """A WordPiece BERT tokenizer whose special tokens sit at BERT-base-uncased's ids."""
    from transformers import BertTokenizer

    vocab = [f"[unused{i}]" for i in range(1100)]
    vocab[0] = "[PAD]"
    vocab[100] = "[UNK]"
    vocab[101] = "[CLS]"
    vocab[102] = "[SEP]"
    vocab[103] = "[MASK]"
    vocab[1012] = "."
    vocab[1029] = "?"
    free = iter([i for i in range(200, 1000)])
    for tok in [*WORDS, *"abcdefghijklmnopqrstuvwxyz", *[f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]]:
        vocab[next(free)] = tok
    return BertTokenizer(vocab={t: i for i, t in enumerate(vocab)})


def _clip_configs(tok, image_size: int, layers: int) -> dict:
    """Tiny CLIP ``text_config`` and ``vision_config`` (width 32, 16-px patches) for OWLv2 / CLIPSeg."""
    tower = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=layers, num_attention_heads=2)
    return dict(
        text_config=dict(
            tower,
            vocab_size=len(tok),
            max_position_embeddings=16,
            bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
        ),
        vision_config=dict(tower, image_size=image_size, patch_size=16),
        projection_dim=32,
    )


def _save(path: Path, model, proc) -> Path:
    """Save ``model`` and ``proc`` into ``path`` as ``save_pretrained`` writes a checkpoint."""
    model.save_pretrained(path)
    proc.save_pretrained(path)
    return Path(path)


def save_tiny_owlv2(path: Path, image_size: int = 64) -> Path:
    """A tiny OWLv2 detector (patch 16 over ``image_size``) + processor, saved in ``path``."""
    from transformers import (
        Owlv2Config,
        Owlv2ForObjectDetection,
        Owlv2ImageProcessorPil,
        Owlv2Processor,
    )

    tok = _clip_tokenizer()
    cfg = Owlv2Config(**_clip_configs(tok, image_size, layers=1))
    model = Owlv2ForObjectDetection(cfg).eval()
    proc = Owlv2Processor(
        image_processor=Owlv2ImageProcessorPil(size={"height": image_size, "width": image_size}),
        tokenizer=tok,
    )
    return _save(path, model, proc)


def save_tiny_grounding_dino(path: Path, image_size: int = 64) -> Path:
    """A tiny Grounding DINO (tiny Swin backbone, tiny BERT) + processor, saved in ``path``."""
    from transformers import (
        GroundingDinoConfig,
        GroundingDinoForObjectDetection,
        GroundingDinoImageProcessorPil,
        GroundingDinoProcessor,
    )

    tok = _bert_tokenizer()
    cfg = GroundingDinoConfig(
        backbone_config=dict(
            model_type="swin",
            image_size=image_size,
            patch_size=2,  # keeps the coarsest (1/64) feature level above 1x1 on small images
            embed_dim=8,
            depths=[1, 1, 1, 1],
            num_heads=[1, 1, 1, 1],
            window_size=4,
            out_indices=[2, 3, 4],
        ),
        text_config=dict(
            model_type="bert",
            vocab_size=len(tok),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            max_position_embeddings=64,
        ),
        num_queries=20,
        encoder_layers=1,
        decoder_layers=2,  # 1 fails inside the model
        d_model=32,  # GroupNorm(32, d_model) inside the model
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        num_feature_levels=4,
        encoder_n_points=2,
        decoder_n_points=2,
        max_text_len=32,
        disable_custom_kernels=True,
    )
    model = GroundingDinoForObjectDetection(cfg).eval()
    proc = GroundingDinoProcessor(
        image_processor=GroundingDinoImageProcessorPil(
            size={"shortest_edge": image_size, "longest_edge": image_size}
        ),
        tokenizer=tok,
    )
    return _save(path, model, proc)


def save_tiny_sam(path: Path, image_size: int = 64) -> Path:
    """A tiny SAM (ViT with 16-px patches over ``image_size``) + processor, saved in ``path``."""
    from transformers import SamConfig, SamImageProcessorPil, SamModel, SamProcessor

    hidden = 32
    cfg = SamConfig(
        vision_config=dict(
            hidden_size=32,
            output_channels=hidden,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=image_size,
            patch_size=16,
            window_size=2,
            global_attn_indexes=[1],
            mlp_dim=64,
            num_pos_feats=hidden // 2,  # 2 * num_pos_feats must equal the prompt encoder's width
        ),
        prompt_encoder_config=dict(hidden_size=hidden, image_size=image_size, patch_size=16),
        mask_decoder_config=dict(
            hidden_size=hidden,
            mlp_dim=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            iou_head_hidden_dim=32,
        ),
    )
    model = SamModel(cfg).eval()
    grid = image_size // 16 * 4  # the mask decoder upsamples the embedding grid 4x
    proc = SamProcessor(
        image_processor=SamImageProcessorPil(
            size={"longest_edge": image_size},
            pad_size={"height": image_size, "width": image_size},
            mask_size={"longest_edge": grid},
            mask_pad_size={"height": grid, "width": grid},
        )
    )
    return _save(path, model, proc)


def save_tiny_clipseg(path: Path, image_size: int = 64) -> Path:
    """A tiny CLIPSeg (16-px patches over ``image_size``) + processor, saved in ``path``."""
    from transformers import (
        CLIPSegConfig,
        CLIPSegForImageSegmentation,
        CLIPSegProcessor,
        ViTImageProcessorPil,
    )

    tok = _clip_tokenizer()
    cfg = CLIPSegConfig(
        **_clip_configs(tok, image_size, layers=2),
        extract_layers=[0, 1],
        reduce_dim=16,
        decoder_num_attention_heads=2,
        decoder_intermediate_size=32,
    )
    model = CLIPSegForImageSegmentation(cfg).eval()
    proc = CLIPSegProcessor(
        image_processor=ViTImageProcessorPil(size={"height": image_size, "width": image_size}),
        tokenizer=tok,
    )
    return _save(path, model, proc)
