"""Trained NLU weights: stored once per training set, loaded on restart, retrained in the
background when a tenant's examples change, shipped for the built-in training set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, select

from hablo.bootstrap import Runtime, bootstrap
from hablo.db import migrate
from hablo.db.database import Database
from hablo.db.models import NluModel, Tenant, TenantSkill
from hablo.demo import seed_demo
from hablo.engine.nlu.classifier import OUT_OF_SCOPE, IntentClassifier
from hablo.engine.nlu.model_store import (
    REGENERATE_HINT,
    DbModelStore,
    dump_model,
    load_model,
    model_key,
    read_builtin_model,
)
from hablo.engine.nlu.pipeline import ClassifierCache, training_set
from hablo.engine.nlu.trainer import TrainingFailed, train_in_child
from hablo.engine.nlu.training import train_arrays
from hablo.engine.skillset import builtin_training_set
from hablo.plugins.loader import SkillRegistry
from hablo.skills.examples import load_examples
from tests.conftest import make_settings

THRESHOLD = 0.45
TEXTS = ("hola", "cuanto sale el corte", "quiero un turno el martes", "jajaja", "", "gracias!")
# A word no shipped example has: only a model trained on the tenant's examples knows it.
NEW_WORD = "zarzaparrilla"
WAIT_S = 60.0
_GREETING = (("greeting", {"es": ("hola", "buenas", "buen día")}),)


def small_training_set() -> tuple[tuple[str, str], ...]:
    return training_set((intent, load_examples(intent)) for intent in ("greeting", "pricing"))


def test_stored_bytes_rebuild_the_same_classifier() -> None:
    examples = small_training_set()
    key = model_key(examples)
    trained = IntentClassifier(train_arrays(examples), THRESHOLD)
    stored_key, arrays = load_model(dump_model(key, trained.model))
    loaded = IntentClassifier(arrays, THRESHOLD)
    assert stored_key == key
    assert loaded.labels == trained.labels
    for text in TEXTS:
        assert np.array_equal(loaded.scores(text), trained.scores(text)), text


def test_the_key_follows_the_examples() -> None:
    examples = small_training_set()
    changed = training_set([("pricing", {"es": (NEW_WORD,)}), ("greeting", {"es": ("hola",)})])
    assert model_key(examples) == model_key(tuple(examples))
    assert model_key(examples) != model_key(changed)


def test_shipped_weights_match_the_builtin_training_set() -> None:
    shipped = read_builtin_model()
    assert shipped is not None, f"hablo/engine/nlu/builtin_model.npz is missing: {REGENERATE_HINT}"
    key, arrays = shipped
    examples = builtin_training_set(SkillRegistry.discover())
    assert key == model_key(examples), (
        f"the example files changed since the shipped NLU weights were trained: {REGENERATE_HINT}"
        " and commit hablo/engine/nlu/builtin_model.npz"
    )
    assert set(arrays.labels) == {label for _, label in examples}
    assert {"greeting", "pricing", "book", "affirm", "deny", OUT_OF_SCOPE} <= set(arrays.labels)


def test_a_stored_model_is_loaded_after_a_restart_without_training(db_url: str) -> None:
    db = Database(db_url, pool_size=2)
    try:
        examples = small_training_set()
        first = ClassifierCache(THRESHOLD, DbModelStore(db), wait_for_exact=True)
        trained = first.get(examples).classifier
        assert first.trainings == 1
        # A new process: another cache on the same database.
        second = ClassifierCache(THRESHOLD, DbModelStore(db), wait_for_exact=False)
        ref = second.get(examples)
        assert ref.exact
        assert second.trainings == 0
        for text in TEXTS:
            assert np.array_equal(ref.classifier.scores(text), trained.scores(text)), text
        assert second.train(examples) == (model_key(examples), "stored")
        builtin = builtin_training_set(SkillRegistry.discover())
        assert second.train(builtin)[1] == "shipped"
    finally:
        db.dispose()


@pytest.fixture
def served(db_url: str) -> Iterator[Runtime]:
    """A runtime as `hablo serve` builds it: unknown training sets train in the background."""
    rt = bootstrap(make_settings(db_url, nlu_train_in_background=True), upgrade_schema=False)
    with rt.db.transaction() as session:
        seed_demo(session)
    yield rt
    rt.close()


def _demo_id(rt: Runtime) -> object:
    with rt.db.transaction() as session:
        return session.scalars(select(Tenant.id).where(Tenant.slug == "demo")).one()


def _add_pricing_example(rt: Runtime, text: str) -> None:
    with rt.db.transaction() as session:
        tenant = session.scalars(select(Tenant).where(Tenant.slug == "demo")).one()
        tenant.settings = {**tenant.settings, "intent_examples": {"pricing": {"es": [text]}}}


def test_changed_examples_train_in_the_background_and_swap_in(served: Runtime) -> None:
    tenant_id = _demo_id(served)
    before = served.engine.build_runtime(tenant_id)  # type: ignore[arg-type]
    assert before.nlu.classifier_ref.exact  # the shipped model: no training
    _add_pricing_example(served, f"cuanto cuesta la {NEW_WORD}")

    runtime = served.engine.build_runtime(tenant_id)  # type: ignore[arg-type]
    ref = runtime.nlu.classifier_ref
    assert ref.key != before.nlu.classifier_ref.key
    # Served at once by the stand-in (the shipped model), trained off the turn's path.
    assert ref.wait_exact(WAIT_S), "the background training did not finish"
    assert served.engine.classifiers.trainings == 1
    # The same frozen runtime now reads the new classifier, which knows the new word.
    assert NEW_WORD not in before.nlu.classifier.model.word_vocabulary
    assert NEW_WORD in runtime.nlu.classifier.model.word_vocabulary
    old, new = before.nlu.classifier, runtime.nlu.classifier
    pricing_old = old.scores(NEW_WORD)[old.labels.index("pricing")]
    assert new.scores(NEW_WORD)[new.labels.index("pricing")] > pricing_old
    with served.db.transaction() as session:
        assert session.scalar(select(func.count()).where(NluModel.key == ref.key)) == 1

    # After a restart the stored model is found: no training, exact from the first turn.
    restarted = bootstrap(served.settings, upgrade_schema=False)
    try:
        again = restarted.engine.build_runtime(tenant_id)  # type: ignore[arg-type]
        assert again.nlu.classifier_ref.exact
        assert restarted.engine.classifiers.trainings == 0
    finally:
        restarted.close()


def test_a_stand_in_model_never_answers_with_an_intent_the_tenant_lacks(served: Runtime) -> None:
    tenant_id = _demo_id(served)
    # Pricing off: another training set, without "pricing", which the shipped stand-in
    # model serving this tenant until its own is trained knows well.
    with served.db.transaction() as session:
        session.add(TenantSkill(tenant_id=tenant_id, skill_name="pricing", enabled=False))
    runtime = served.engine.build_runtime(tenant_id)  # type: ignore[arg-type]
    assert "pricing" not in runtime.nlu.classifier_ref.intents
    now = served.engine.clock()
    understood = runtime.nlu.understand("cuanto sale el corte", now, runtime.profile.opening_hours)
    assert understood.intent != "pricing"
    runtime.nlu.classifier_ref.wait_exact(WAIT_S)


# -- a new process answers without scikit-learn --------------------------------------------------

_CHAT = """
import sys, threading
from hablo.cli import main
code = main(["chat", "--tenant", "demo", "--from", "+5491155550000"])
print(json.dumps({
    "code": code,
    "sklearn": "sklearn" in sys.modules,
    "scipy": "scipy" in sys.modules,
    "trainer": any(t.name == "hablo-nlu-trainer" for t in threading.enumerate()),
    "alembic": "alembic" in sys.modules,
}))
"""


# The schema is current and the model stored: no Alembic run, no scikit-learn, no training.
NOTHING_HEAVY = {"sklearn": False, "scipy": False, "trainer": False, "alembic": False}


def _hablo(
    db_url: str, state: Path, code: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HABLO_DATABASE_URL": db_url, "HABLO_STATE_DIR": str(state)}
    return subprocess.run(
        [sys.executable, "-c", "import json\n" + code],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _chat_hola(db_url: str, state: Path) -> tuple[list[str], dict[str, object]]:
    done = _hablo(db_url, state, _CHAT, "hola\n")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    return lines[:-1], json.loads(lines[-1])


def test_a_new_process_answers_without_importing_scikit_learn(
    runtime: Runtime, db_url: str, tmp_path: Path
) -> None:
    replies, seen = _chat_hola(db_url, tmp_path)
    assert any(line.startswith("bot> ") for line in replies), replies
    assert seen == {**NOTHING_HEAVY, "code": 0}

    # A tenant with its own examples, trained by `hablo nlu train`, then a "restart".
    _add_pricing_example(runtime, f"y la {NEW_WORD}?")
    trained = _hablo(
        db_url, tmp_path, "from hablo.cli import main\nmain(['nlu', 'train', '--tenant', 'demo'])"
    )
    assert trained.returncode == 0, trained.stderr
    report = json.loads(trained.stdout.strip().splitlines()[-1])
    assert report["status"] == "trained"
    replies, seen = _chat_hola(db_url, tmp_path)
    assert any(line.startswith("bot> ") for line in replies), replies
    assert seen == {**NOTHING_HEAVY, "code": 0}


def test_the_start_up_schema_check_reads_the_same_head_as_alembic() -> None:
    head = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()
    assert migrate.head_from_files() == head


def test_a_closed_cache_still_trains_when_its_engine_starts_again() -> None:
    cache = ClassifierCache(THRESHOLD, None, wait_for_exact=False)
    first = cache.get(small_training_set())
    assert first.wait_exact(WAIT_S)
    cache.close()  # the engine stopped; tests share caches between engines
    again = cache.get(training_set([("pricing", {"es": (NEW_WORD,)}), *_GREETING]))
    assert again.wait_exact(WAIT_S), "no trainer picked up the second training set"
    assert cache.trainings == 2


def test_a_child_that_cannot_train_says_why() -> None:
    one_intent = (("hola", "greeting"), ("buenas", "greeting"))
    with pytest.raises(TrainingFailed, match="at least two intents"):
        train_in_child(model_key(one_intent), one_intent)
