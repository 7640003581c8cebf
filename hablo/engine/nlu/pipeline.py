"""From a raw message to intent, confidence, language and entities."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hablo.engine.nlu.classifier import OUT_OF_SCOPE, IntentClassifier
from hablo.engine.nlu.datetimes import OpeningHours, extract_weekday, extract_when
from hablo.engine.nlu.language import detect_language
from hablo.engine.nlu.out_of_scope import OUT_OF_SCOPE_EXAMPLES
from hablo.engine.nlu.services import ServiceMatcher

TrainingSet = tuple[tuple[str, str], ...]  # (text, intent)


@dataclass(frozen=True)
class Understanding:
    intent: str | None
    confidence: float
    language: str
    entities: Mapping[str, Any] = field(default_factory=dict)


def training_set(
    intent_examples: Iterable[tuple[str, Mapping[str, Iterable[str]]]],
) -> TrainingSet:
    """Flatten (intent, {lang: examples}) pairs and add the out-of-scope background."""
    pairs = [
        (text, intent)
        for intent, by_lang in intent_examples
        for examples in by_lang.values()
        for text in examples
    ]
    pairs.extend((text, OUT_OF_SCOPE) for texts in OUT_OF_SCOPE_EXAMPLES.values() for text in texts)
    return tuple(sorted(set(pairs)))


class ClassifierCache:
    """Tenants with the same skills and examples share one trained classifier."""

    def __init__(self, threshold: float) -> None:
        self._threshold = threshold
        self._lock = threading.Lock()
        self._cache: dict[TrainingSet, IntentClassifier] = {}

    def get(self, examples: TrainingSet) -> IntentClassifier:
        with self._lock:
            found = self._cache.get(examples)
            if found is None:
                found = IntentClassifier.train(examples, threshold=self._threshold)
                self._cache[examples] = found
            return found


class NluPipeline:
    def __init__(
        self,
        classifier: IntentClassifier,
        matcher: ServiceMatcher,
        default_language: str,
    ) -> None:
        self.classifier = classifier
        self._matcher = matcher
        self._default_language = default_language

    def understand(
        self,
        text: str,
        now: datetime,
        opening_hours: OpeningHours,
        conversation_language: str | None = None,
    ) -> Understanding:
        language = detect_language(text, conversation_language or self._default_language)
        prediction = self.classifier.predict(text)
        entities: dict[str, Any] = {}
        service = self._matcher.find(text)
        if service is not None:
            entities["service"] = service
        when = extract_when(text, now, opening_hours=opening_hours)
        if when is not None:
            entities["when"] = when
        weekday = extract_weekday(text)
        if weekday is not None:
            entities["weekday"] = weekday
        return Understanding(prediction.intent, prediction.confidence, language, entities)
