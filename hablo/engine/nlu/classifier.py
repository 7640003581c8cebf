"""An intent classifier over character and word n-grams: trained with scikit-learn
(`training.py`), served with numpy (here, without importing scikit-learn).

Features are two TF-IDF blocks, concatenated as scikit-learn's `FeatureUnion` does:
word-bounded character n-grams (robust to typos, missing accents and voseo) and word
unigrams + bigrams (so "reagendar" is not just "agendar" with a prefix, and "no gracias"
is more than "gracias"). Each block is L2-normalised on its own. A multinomial logistic
regression sits on top.

Inference re-implements both vectorisers and the linear layer by hand: scikit-learn's own
`predict_proba` spends ~1 ms validating a single input, which is most of a turn's budget.
`training.make_vectorizer()` and `training.make_model()` build the exact scikit-learn
objects training uses, so tests can check that `scores()` equals `predict_proba`.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from hablo.engine.nlu.text import normalize

NGRAM_RANGE = (2, 5)  # character n-grams, within word boundaries
WORD_NGRAM_RANGE = (1, 2)
# Every run of word characters is a token, one-letter words included ("a", "y", "o").
WORD_TOKEN_PATTERN = r"(?u)\b\w+\b"
REGULARIZATION_C = 20.0
MAX_ITERATIONS = 3000
OUT_OF_SCOPE = "_out_of_scope"
# Words whose character n-gram columns are remembered per classifier: customers reuse a
# small vocabulary, so most words of a message were already cut into n-grams. Past this
# many (hostile input) the memory starts again.
WORD_COLUMNS_CACHE = 20_000

_WORD_TOKEN = re.compile(WORD_TOKEN_PATTERN)
# 1 + log(count), scikit-learn's sublinear tf, for the counts a message has: looked up
# instead of computed gram by gram (the same math.log values, so the same scores).
_SUBLINEAR_TF = np.array([0.0, *(1.0 + math.log(c) for c in range(1, 256))])


def _char_wb_ngrams(text: str, low: int = NGRAM_RANGE[0], high: int = NGRAM_RANGE[1]) -> list[str]:
    """The same n-grams as scikit-learn's `analyzer="char_wb"` produces."""
    grams: list[str] = []
    for word in text.split():
        padded = f" {word} "
        size = len(padded)
        for n in range(low, high + 1):
            if n > size:
                break
            grams.extend(padded[i : i + n] for i in range(size - n + 1))
            if n == size:
                break
    return grams


def _word_ngrams(text: str) -> list[str]:
    """The same n-grams as scikit-learn's word analyzer with WORD_NGRAM_RANGE (1, 2)."""
    tokens = _WORD_TOKEN.findall(text)
    return tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]


@dataclass(frozen=True)
class Prediction:
    intent: str | None
    confidence: float
    # The best in-scope intent even when below threshold (for logs and evaluation).
    best: str
    # Read as small talk or off-topic (the out-of-scope class won), not merely unsure.
    chitchat: bool = False


@dataclass(frozen=True)
class _Block:
    """One fitted TF-IDF vectoriser: n-gram -> column, idf, and where its columns start."""

    vocabulary: Mapping[str, int]
    idf: np.ndarray
    offset: int

    def values(self, grams: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
        """(global columns, L2-normalised sublinear tf-idf values) of the known grams."""
        vocabulary = self.vocabulary
        return self.weigh([idx for gram in grams if (idx := vocabulary.get(gram)) is not None])

    def weigh(self, found: list[int]) -> tuple[np.ndarray, np.ndarray] | None:
        """`values` of the known grams' columns, in the order the grams came."""
        counts = Counter(found)
        if not counts:
            return None
        columns = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        counted = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
        if counted.max() < len(_SUBLINEAR_TF):
            tf = _SUBLINEAR_TF[counted]
        else:  # a gram hundreds of times over (hostile input)
            tf = np.fromiter(
                (1.0 + math.log(c) for c in counts.values()), dtype=np.float64, count=len(counts)
            )
        values = tf * self.idf[columns]
        values /= np.sqrt(values @ values)
        return columns + self.offset, values


@dataclass(frozen=True)
class ModelArrays:
    """What training produces and storage keeps: enough to rebuild the classifier exactly."""

    labels: tuple[str, ...]
    char_vocabulary: Mapping[str, int]  # n-gram -> column
    char_idf: np.ndarray
    word_vocabulary: Mapping[str, int]
    word_idf: np.ndarray
    weights: np.ndarray  # (classes, features): char columns first, then word columns
    bias: np.ndarray  # (classes,)


class IntentClassifier:
    """Immutable; safe to share between actor threads."""

    def __init__(self, model: ModelArrays, threshold: float) -> None:
        self.model = model
        self.labels = model.labels
        self._char = _Block(model.char_vocabulary, model.char_idf, 0)
        self._word = _Block(model.word_vocabulary, model.word_idf, len(model.char_idf))
        self._weights_t = np.ascontiguousarray(model.weights.T)  # (features, classes)
        self._bias = model.bias
        self.threshold = threshold
        # word -> the char block's columns of its n-grams, in n-gram order (see scores).
        self._word_columns: dict[str, tuple[int, ...]] = {}

    @property
    def n_features(self) -> int:
        return int(self._weights_t.shape[0])

    def scores(self, text: str) -> np.ndarray:
        """Class probabilities for one text (softmax of the linear scores)."""
        norm = normalize(text)
        logits = self._bias.copy()
        for found in (
            self._char.weigh(self._char_columns(norm)),
            self._word.values(_word_ngrams(norm)),
        ):
            if found is not None:
                columns, values = found
                logits += values @ self._weights_t[columns]
        logits -= logits.max()
        exp = np.exp(logits)
        probs: np.ndarray = exp / exp.sum()
        return probs

    def _char_columns(self, norm: str) -> list[int]:
        """The char block's columns of the text's known n-grams, in the order
        `_char_wb_ngrams` gives them (so the sums, and the scores, are the same to the
        last bit). Character n-grams never cross a word, so each word's are cut once."""
        cache, vocabulary = self._word_columns, self._char.vocabulary
        columns: list[int] = []
        for word in norm.split():
            known = cache.get(word)
            if known is None:
                known = tuple(
                    idx
                    for gram in _char_wb_ngrams(word)
                    if (idx := vocabulary.get(gram)) is not None
                )
                if len(cache) >= WORD_COLUMNS_CACHE:
                    cache.clear()
                cache[word] = known  # actor threads may race here: same value either way
            columns.extend(known)
        return columns

    def predict(self, text: str) -> Prediction:
        probs = self.scores(text)
        best_idx = int(probs.argmax())
        best = self.labels[best_idx]
        confidence = float(probs[best_idx])
        if best == OUT_OF_SCOPE:
            runner = self.labels[int(np.argsort(probs)[-2])]
            return Prediction(None, confidence, runner, chitchat=True)
        intent = best if confidence >= self.threshold else None
        return Prediction(intent, confidence, best)
