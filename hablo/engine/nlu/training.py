"""Training the intent classifier with scikit-learn.

The only module that imports scikit-learn (and with it scipy): importing them costs about a
second, so serving never does. Tools that train (`hablo nlu train`, evaluation, tests)
import it; a serving process's background trainer runs it as a child process:
`python -m hablo.engine.nlu.training` reads {"key", "examples": [[text, intent], ...]} as
JSON on stdin and writes the model's npz bytes (`dump_model`) to stdout.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from hablo.engine.nlu.classifier import (
    MAX_ITERATIONS,
    NGRAM_RANGE,
    REGULARIZATION_C,
    WORD_NGRAM_RANGE,
    WORD_TOKEN_PATTERN,
    IntentClassifier,
    ModelArrays,
)
from hablo.engine.nlu.model_store import dump_model
from hablo.engine.nlu.text import normalize


def make_vectorizer() -> FeatureUnion:
    """The (unfitted) feature extractor training uses; inputs must be `normalize`d."""
    return FeatureUnion(
        [
            (
                "char",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=NGRAM_RANGE,
                    sublinear_tf=True,
                    lowercase=False,
                ),
            ),
            (
                "word",
                TfidfVectorizer(
                    analyzer="word",
                    ngram_range=WORD_NGRAM_RANGE,
                    token_pattern=WORD_TOKEN_PATTERN,
                    sublinear_tf=True,
                    lowercase=False,
                ),
            ),
        ]
    )


def make_model() -> LogisticRegression:
    """The (unfitted) linear model training uses."""
    return LogisticRegression(C=REGULARIZATION_C, max_iter=MAX_ITERATIONS)


def train_arrays(examples: Iterable[tuple[str, str]]) -> ModelArrays:
    """Fit the vectorisers and the model on (text, intent) pairs."""
    texts, labels = [], []
    for text, label in examples:
        texts.append(normalize(text))
        labels.append(label)
    if len(set(labels)) < 2:
        raise ValueError("the classifier needs examples of at least two intents")
    union = make_vectorizer()
    features = union.fit_transform(texts)
    model = make_model()
    model.fit(features, labels)
    weights = model.coef_
    bias = model.intercept_
    if len(model.classes_) == 2:
        # Binary LR stores one row z for the second class: P = sigmoid(z), which is
        # softmax over logits (0, z).
        weights = np.vstack([np.zeros_like(weights[0]), weights[0]])
        bias = np.array([0.0, bias[0]])
    char, word = (vectorizer for _, vectorizer in union.transformer_list)
    return ModelArrays(
        tuple(str(c) for c in model.classes_),
        {str(k): int(v) for k, v in char.vocabulary_.items()},
        char.idf_.astype(np.float64),
        {str(k): int(v) for k, v in word.vocabulary_.items()},
        word.idf_.astype(np.float64),
        weights.astype(np.float64),
        bias.astype(np.float64),
    )


def train_classifier(
    examples: Iterable[tuple[str, str]], *, threshold: float = 0.45
) -> IntentClassifier:
    return IntentClassifier(train_arrays(examples), threshold)


def main() -> None:
    request = json.load(sys.stdin)
    examples = [(str(text), str(intent)) for text, intent in request["examples"]]
    sys.stdout.buffer.write(dump_model(str(request["key"]), train_arrays(examples)))


if __name__ == "__main__":
    main()
