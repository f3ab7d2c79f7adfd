"""Shared test fixtures. No test downloads anything; real data is read from ../shared when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Hugging Face lookups must fail fast and offline in every test.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
REAL_DEV = REPO.parent / "shared" / "data" / "partnete_real_dev"


@pytest.fixture(scope="session")
def real_dev_root() -> Path:
    """Root of the real PartNet-E-layout dev shapes (``../shared/data/partnete_real_dev``)."""
    if not (REAL_DEV / "PartNetE_meta.json").is_file():
        pytest.skip(f"real dev shapes not found at {REAL_DEV} (../shared is absent in this checkout)")
    return REAL_DEV


@pytest.fixture(autouse=True)
def _prediction_cache_in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The Segmenter's on-disk prediction cache is on by default: keep it in a fresh temporary
    folder per test, never in the user's cache."""
    monkeypatch.setenv("PARTLIFT_CACHE_DIR", str(tmp_path_factory.mktemp("prediction-cache")))
