"""A character n-gram intent classifier: trained with scikit-learn, served with numpy.

Training uses TF-IDF over word-bounded character n-grams (robust to typos, missing
accents and voseo) and a multinomial logistic regression. Inference re-implements the
vectoriser and the linear layer by hand: scikit-learn's own `predict_proba` spends
~1 ms validating a single input, which is most of a turn's budget.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from hablo.engine.nlu.text import normalize

NGRAM_RANGE = (2, 5)
OUT_OF_SCOPE = "_out_of_scope"


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


@dataclass(frozen=True)
class Prediction:
    intent: str | None
    confidence: float
    # The best in-scope intent even when below threshold (for logs and evaluation).
    best: str


class IntentClassifier:
    """Immutable after training; safe to share between actor threads."""

    def __init__(
        self,
        labels: Sequence[str],
        vocabulary: dict[str, int],
        idf: np.ndarray,
        weights: np.ndarray,
        bias: np.ndarray,
        threshold: float,
    ) -> None:
        self.labels = tuple(labels)
        self._vocabulary = vocabulary
        self._idf = idf
        self._weights_t = np.ascontiguousarray(weights.T)  # (features, classes)
        self._bias = bias
        self.threshold = threshold

    @classmethod
    def train(
        cls, examples: Iterable[tuple[str, str]], *, threshold: float = 0.45
    ) -> IntentClassifier:
        texts, labels = [], []
        for text, label in examples:
            texts.append(normalize(text))
            labels.append(label)
        if len(set(labels)) < 2:
            raise ValueError("the classifier needs examples of at least two intents")
        vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=NGRAM_RANGE, sublinear_tf=True, lowercase=False
        )
        features = vectorizer.fit_transform(texts)
        model = LogisticRegression(C=20.0, max_iter=2000)
        model.fit(features, labels)
        weights = model.coef_
        bias = model.intercept_
        if len(model.classes_) == 2:
            # Binary LR stores one row z for the second class: P = sigmoid(z), which is
            # softmax over logits (0, z).
            weights = np.vstack([np.zeros_like(weights[0]), weights[0]])
            bias = np.array([0.0, bias[0]])
        vocabulary = {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}
        return cls(
            [str(c) for c in model.classes_],
            vocabulary,
            vectorizer.idf_.astype(np.float64),
            weights.astype(np.float64),
            bias.astype(np.float64),
            threshold,
        )

    def scores(self, text: str) -> np.ndarray:
        """Class probabilities for one text (softmax of the linear scores)."""
        counts = Counter(
            idx
            for gram in _char_wb_ngrams(normalize(text))
            if (idx := self._vocabulary.get(gram)) is not None
        )
        logits = self._bias.copy()
        if counts:
            columns = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(
                (1.0 + math.log(c) for c in counts.values()), dtype=np.float64, count=len(counts)
            )
            values = tf * self._idf[columns]
            values /= np.sqrt(values @ values)
            logits += values @ self._weights_t[columns]
        logits -= logits.max()
        exp = np.exp(logits)
        probs: np.ndarray = exp / exp.sum()
        return probs

    def predict(self, text: str) -> Prediction:
        probs = self.scores(text)
        order = np.argsort(probs)[::-1]
        best_idx = int(order[0])
        best = self.labels[best_idx]
        if best == OUT_OF_SCOPE:
            runner = self.labels[int(order[1])]
            return Prediction(None, float(probs[best_idx]), runner)
        confidence = float(probs[best_idx])
        intent = best if confidence >= self.threshold else None
        return Prediction(intent, confidence, best)
