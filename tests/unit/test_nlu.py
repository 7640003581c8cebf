"""The local NLU: intent classifier, language detection, service matching, money, templates."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from hablo.demo import DEMO_SERVICES
from hablo.engine.context import format_money
from hablo.engine.nlu.classifier import OUT_OF_SCOPE, IntentClassifier
from hablo.engine.nlu.language import detect_language
from hablo.engine.nlu.pipeline import TrainingSet, training_set
from hablo.engine.nlu.services import ServiceMatcher
from hablo.engine.nlu.text import normalize
from hablo.engine.nlu.training import make_model, make_vectorizer, train_classifier
from hablo.engine.templates import TemplateRenderer, skill_templates
from hablo.plugins.sdk import ServiceInfo, Skill, TenantInfo
from hablo.skills.info import InfoSkill
from hablo.skills.pricing import PricingSkill

BUILTIN_SKILLS: tuple[type[Skill], ...] = (InfoSkill, PricingSkill)


def examples_of(skills: Iterable[type[Skill]]) -> list[tuple[str, Mapping[str, Iterable[str]]]]:
    """(intent, {lang: examples}) as hablo/engine/skillset.py collects them."""
    return [(spec.name, dict(spec.examples)) for skill in skills for spec in skill.intents]


@pytest.fixture(scope="module")
def builtin_training() -> TrainingSet:
    return training_set(examples_of(BUILTIN_SKILLS))


@pytest.fixture(scope="module")
def classifier(builtin_training: TrainingSet) -> IntentClassifier:
    return train_classifier(builtin_training, threshold=0.45)


def sklearn_reference(examples: TrainingSet) -> tuple[Any, LogisticRegression]:
    """The same model trained with plain scikit-learn, to check the hand-rolled inference."""
    vectorizer = make_vectorizer()
    features = vectorizer.fit_transform([normalize(text) for text, _ in examples])
    model = make_model()
    model.fit(features, [label for _, label in examples])
    return vectorizer, model


@pytest.fixture(scope="module")
def reference(
    builtin_training: TrainingSet,
) -> tuple[Any, LogisticRegression]:
    return sklearn_reference(builtin_training)


# -- held-out paraphrases: none of these is a training example ---------------------------------

HELD_OUT: list[tuple[str, str]] = [
    # greeting
    ("hola buenas tardes", "greeting"),
    ("holaaa buen dia!", "greeting"),
    ("buenas noches, una consultita", "greeting"),
    ("hola chicas", "greeting"),
    ("hi, good morning", "greeting"),
    ("hello there!", "greeting"),
    # hours
    ("q horario tienen", "hours"),
    ("hasta que hora abren hoy?", "hours"),
    ("a q hora cierran", "hours"),
    ("el lunes atienden?", "hours"),
    ("horario del sabado?", "hours"),
    ("what time do you open on saturday?", "hours"),
    ("are you open on mondays?", "hours"),
    # location
    ("donde queda la peluqueria?", "location"),
    ("cual es la direccion del local", "location"),
    ("me pasas la ubicacion", "location"),
    ("where is your salon located?", "location"),
    ("what's your address?", "location"),
    # pricing
    ("cuanto me sale el corte", "pricing"),
    ("cuánto cuesta la tintura?", "pricing"),
    ("q precio tiene el brushing", "pricing"),
    ("cuanto cobran por las uñas", "pricing"),
    ("precio del arreglo de barba", "pricing"),
    ("how much for a haircut?", "pricing"),
    ("what do you charge for coloring?", "pricing"),
    # thanks
    ("graciass", "thanks"),
    ("gracias, muy amable", "thanks"),
    ("buenisimo, gracias chicas", "thanks"),
    ("thank you very much", "thanks"),
    ("thanks so much!", "thanks"),
]
# Accent-, case- and punctuation-free spellings of training examples: after normalize() they
# equal a training text, so they check normalisation rather than generalisation.
SPELLING_VARIANTS: list[tuple[str, str]] = [
    ("cuanto sale el corte", "pricing"),
    ("CUANTO SALE EL CORTE??", "pricing"),
    ("que horario tienen", "hours"),
    ("donde estan", "location"),
    ("HOLA!!!", "greeting"),
]
OUT_OF_SCOPE_CHATTER = [
    "el perro ladra",
    "asdfgh",
    "me gusta el futbol",
    "qwerty uiop",
    "the weather is nice",
]


def test_held_out_examples_are_really_held_out(builtin_training: TrainingSet) -> None:
    seen = {normalize(text) for text, _ in builtin_training}
    copies = [text for text, _ in HELD_OUT if normalize(text) in seen]
    copies += [text for text in OUT_OF_SCOPE_CHATTER if normalize(text) in seen]
    assert not copies


@pytest.mark.parametrize(("text", "intent"), HELD_OUT)
def test_classifies_held_out_paraphrases(
    classifier: IntentClassifier, text: str, intent: str
) -> None:
    prediction = classifier.predict(text)
    assert prediction.intent == intent, prediction
    assert prediction.confidence >= classifier.threshold


@pytest.mark.parametrize(("text", "intent"), SPELLING_VARIANTS)
def test_classifies_spelling_variants(classifier: IntentClassifier, text: str, intent: str) -> None:
    assert classifier.predict(text).intent == intent


@pytest.mark.parametrize("text", OUT_OF_SCOPE_CHATTER)
def test_out_of_scope_chatter_has_no_intent(classifier: IntentClassifier, text: str) -> None:
    prediction = classifier.predict(text)
    assert prediction.intent is None, prediction
    assert prediction.best != OUT_OF_SCOPE  # `best` always names an in-scope intent


@pytest.mark.parametrize("text", ["", "   ", "🙂", "!!!", "zzzzzzzzzzzzzzzzzzzz"])
def test_text_without_known_ngrams_has_no_intent(classifier: IntentClassifier, text: str) -> None:
    prediction = classifier.predict(text)
    assert prediction.intent is None
    assert 0.0 <= prediction.confidence <= 1.0


def test_below_threshold_gives_none_but_keeps_best(builtin_training: TrainingSet) -> None:
    strict = train_classifier(builtin_training, threshold=1.0)
    prediction = strict.predict("cuanto sale el corte")
    assert prediction.intent is None
    assert prediction.best == "pricing"
    assert prediction.confidence < 1.0


def test_training_needs_two_intents() -> None:
    with pytest.raises(ValueError):
        train_classifier([("hola", "greeting"), ("buenas", "greeting")])


def test_training_set_adds_out_of_scope_and_is_deterministic() -> None:
    first = training_set(examples_of(BUILTIN_SKILLS))
    second = training_set(reversed(examples_of(BUILTIN_SKILLS)))
    assert first == second  # cache key: order of skills must not matter
    labels = {label for _, label in first}
    assert labels == {OUT_OF_SCOPE, "greeting", "hours", "location", "pricing", "thanks"}
    assert len(first) == len(set(first))


# -- the hand-rolled inference equals scikit-learn's -------------------------------------------

PARITY_TEXTS = [
    *(text for text, _ in HELD_OUT),
    *OUT_OF_SCOPE_CHATTER,
    "",
    "🙂",
    "holaaaaaaa!!!",
    "hola hola hola hola",  # repeated n-grams: sublinear tf matters
    "¿Cuánto SALE el CORTE de pelo y la COLORACIÓN para el sábado a las 17:30?",
    "a",
    "señora peña, año",
    "e-mail: sol@peluqueria.com +54 9 11 5555-0000 http://x.y/z",
    "tab\tand\nnewline  spaces",
]


def _assert_same_probabilities(
    clf: IntentClassifier,
    vectorizer: Any,
    model: LogisticRegression,
    text: str,
) -> None:
    assert list(clf.labels) == [str(c) for c in model.classes_]
    expected = model.predict_proba(vectorizer.transform([normalize(text)]))[0]
    np.testing.assert_allclose(clf.scores(text), expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("text", PARITY_TEXTS)
def test_scores_match_sklearn_predict_proba(
    classifier: IntentClassifier,
    reference: tuple[Any, LogisticRegression],
    text: str,
) -> None:
    _assert_same_probabilities(classifier, *reference, text)


@settings(max_examples=150, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("abcdeilnorstuñáéíóü ¿?!.,:@+/0123459\t")),
        max_size=40,
    )
)
def test_scores_match_sklearn_on_arbitrary_text(
    classifier: IntentClassifier,
    reference: tuple[Any, LogisticRegression],
    text: str,
) -> None:
    _assert_same_probabilities(classifier, *reference, text)


def test_scores_match_sklearn_with_two_classes() -> None:
    examples = training_set(examples_of([PricingSkill]))  # pricing + out-of-scope only
    clf = train_classifier(examples)
    vectorizer, model = sklearn_reference(examples)
    for text in ("cuanto sale el corte", "hola", "el perro ladra", "precio?"):
        _assert_same_probabilities(clf, vectorizer, model, text)


# -- language ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "hola, cuánto sale el corte?",
        "a que hora abren el sabado",
        "donde estan ubicados",
        "muchas gracias",
        "¿?",
        "mañana",
        "dale, perfecto",
    ],
)
def test_detects_spanish(text: str) -> None:
    assert detect_language(text, default="en") == "es"


@pytest.mark.parametrize(
    "text",
    [
        "how much is a haircut?",
        "what time do you open tomorrow",
        "where are you located",
        "thank you so much",
        "hi there",
        "ok thanks",
        "hi",
        "Hi!",
    ],
)
def test_detects_english(text: str) -> None:
    assert detect_language(text, default="es") == "en"


@pytest.mark.parametrize("text", ["ok", "👍", "Brushing", "jaja", "", "123", "no", "k", "y"])
@pytest.mark.parametrize("default", ["es", "en"])
def test_ambiguous_text_gives_the_default(text: str, default: str) -> None:
    assert detect_language(text, default=default) == default


def test_unsupported_default_falls_back_to_spanish() -> None:
    assert detect_language("ok", default="fr") == "es"


# -- services ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def matcher() -> ServiceMatcher:
    services = [
        ServiceInfo(uuid.uuid4(), name, "", pesos * 100, minutes, tuple(synonyms))
        for name, minutes, pesos, synonyms in DEMO_SERVICES
    ]
    return ServiceMatcher(services)


@pytest.mark.parametrize(
    ("text", "service"),
    [
        ("tintura", "Coloración"),
        ("¿cuánto sale la tintura?", "Coloración"),
        ("coloracion", "Coloración"),
        ("uñas", "Manicura"),
        ("hacerme las manos", "Manicura"),
        ("quiero hacerme las manos el viernes", "Manicura"),
        ("corte", "Corte de pelo"),
        ("cuanto sale el corte", "Corte de pelo"),
        ("arreglo de barva", "Arreglo de barba"),  # typo
        ("cuánto sale el arreglo de barva?", "Arreglo de barba"),
        ("how much is a beard trim", "Arreglo de barba"),
        ("HAIRCUT please", "Corte de pelo"),
        ("manikura", "Manicura"),
        ("brushin", "Brushing"),
    ],
)
def test_service_matcher_finds(matcher: ServiceMatcher, text: str, service: str) -> None:
    found = matcher.find(text)
    assert found is not None and found.name == service


@pytest.mark.parametrize(
    "text", ["cuánto cuesta?", "cuanto cuesta", "precio", "hola", "el perro ladra", ""]
)
def test_service_matcher_finds_nothing(matcher: ServiceMatcher, text: str) -> None:
    assert matcher.find(text) is None


def test_service_matcher_without_services() -> None:
    assert ServiceMatcher([]).find("corte") is None


@pytest.mark.parametrize(
    "text", ["quería hacer unas consultas sobre precios", "tengo unas dudas con los precios"]
)
def test_service_matcher_ignores_the_article_unas(matcher: ServiceMatcher, text: str) -> None:
    assert matcher.find(text) is None


# -- money ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "currency", "locale", "expected"),
    [
        (800000, "ARS", "es-AR", "$8.000"),
        (2500000, "ARS", "es-AR", "$25.000"),
        (850050, "ARS", "es-AR", "$8.500,50"),  # decimals only when present
        (2000, "USD", "en", "$20"),
        (1999, "USD", "en", "$19.99"),
        (123456789, "USD", "en_US", "$1,234,567.89"),
    ],
)
def test_format_money(minor: int, currency: str, locale: str, expected: str) -> None:
    assert format_money(minor, currency, locale) == expected


@pytest.mark.parametrize(
    ("minor", "currency", "locale", "home", "expected"),
    [
        (1300000, "ARS", "en", "es-AR", "$13,000 ARS"),  # "ARS13,000" reads as nothing
        (850050, "ARS", "en", "es-AR", "$8,500.50 ARS"),
        (3500, "GBP", "es", "en-GB", "£35 GBP"),
        (45000, "MXN", "en", "es-MX", "MX$450"),  # English has a sign for pesos: kept
        (800000, "ARS", "es-AR", "es-AR", "$8.000"),
    ],
)
def test_format_money_for_a_reader_of_another_country(
    minor: int, currency: str, locale: str, home: str, expected: str
) -> None:
    assert format_money(minor, currency, locale, home) == expected


def test_format_money_respects_currency_precision() -> None:
    assert "1,000" in format_money(1000, "JPY", "en")  # no minor unit: 1000 yen, not 10


# -- templates -----------------------------------------------------------------------------------

TENANT = TenantInfo(
    id=uuid.uuid4(),
    slug="demo",
    name="Peluquería Sol",
    locale="es-AR",
    timezone="America/Argentina/Buenos_Aires",
    currency="ARS",
    address="Av. Corrientes 1234, CABA",
    phone=None,
    persona=None,
)


def renderer(overrides: Mapping[str, str] | None = None) -> TemplateRenderer:
    return TemplateRenderer(overrides or {}, skill_templates(BUILTIN_SKILLS))


def test_shipped_templates_render_in_both_languages() -> None:
    r = renderer()
    assert "Peluquería Sol" in r.render("greeting", "es", tenant=TENANT)
    assert r.render("greeting", "es", tenant=TENANT).startswith("¡Hola!")
    english = r.render("greeting", "en", tenant=TENANT)
    assert "Peluquería Sol" in english
    assert english != r.render("greeting", "es", tenant=TENANT)


def test_tenant_override_wins_over_shipped_file() -> None:
    r = renderer({"es/greeting.j2": "Buenas, acá {{ tenant.name }} ✂️"})
    assert r.render("greeting", "es", tenant=TENANT) == "Buenas, acá Peluquería Sol ✂️"
    # Only that language was overridden.
    assert "Peluquería Sol" in r.render("greeting", "en", tenant=TENANT)
    assert not r.render("greeting", "en", tenant=TENANT).startswith("Buenas")


def test_skill_declared_template_sits_between_override_and_file() -> None:
    class Custom(Skill):
        name = "custom"
        templates = {"greeting": {"es": "desde la skill"}}

        def handle(self, turn, ctx):  # type: ignore[no-untyped-def]
            raise NotImplementedError

    r = TemplateRenderer({}, skill_templates([Custom]))
    assert r.render("greeting", "es", tenant=TENANT) == "desde la skill"
    r = TemplateRenderer({"es/greeting.j2": "del tenant"}, skill_templates([Custom]))
    assert r.render("greeting", "es", tenant=TENANT) == "del tenant"


def test_a_language_without_a_catalogue_is_answered_in_english() -> None:
    # The chain ends in the templates' own language (es-MX -> es -> en).
    r = renderer()
    assert r.render("thanks", "fr") == r.render("thanks", "en")
    assert r.render("greeting", "pt", tenant=TENANT) == r.render("greeting", "en", tenant=TENANT)


def test_a_tenant_wording_in_spanish_is_not_said_to_other_languages() -> None:
    r = renderer({"es/thanks.j2": "¡De nada, crack!"})
    assert r.render("thanks", "es") == "¡De nada, crack!"
    assert r.render("thanks", "fr") == r.render("thanks", "en") != "¡De nada, crack!"


def test_a_plugin_reply_worded_only_in_spanish_is_said_in_spanish() -> None:
    class Custom(Skill):
        name = "custom"
        templates = {"custom_reply": {"es": "solo en español"}}

        def handle(self, turn, ctx):  # type: ignore[no-untyped-def]
            raise NotImplementedError

    r = TemplateRenderer({}, skill_templates([Custom]))
    assert r.render("custom_reply", "en") == r.render("custom_reply", "fr") == "solo en español"


def test_unknown_template_raises_lookup_error() -> None:
    with pytest.raises(LookupError, match="no_such_template"):
        renderer().render("no_such_template", "es")
    with pytest.raises(LookupError):
        renderer().render("no_such_template", "en")


def test_rendered_replies_are_stripped_and_not_html_escaped() -> None:
    r = renderer({"es/thanks.j2": "\n  <b>{{ who }}</b> & co  \n"})
    assert r.render("thanks", "es", who="Sol") == "<b>Sol</b> & co"
