"""`hablo nlu eval`: the evaluation module in-process on SQLite, the CLI as a subprocess,
and the accuracy targets on the sample and on our own held-out set."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from hablo.bootstrap import Runtime, bootstrap
from hablo.demo import seed_demo
from hablo.engine.nlu.evaluation import (
    Case,
    EvalInputError,
    EvalReport,
    build_pipeline,
    evaluate,
    load_cases,
    parse_now,
    run_evaluation,
    tenant_id_by_slug,
)
from hablo.engine.nlu.pipeline import NluPipeline
from hablo.engine.nlu.text import normalize
from hablo.engine.tenant_profile import TenantProfile, load_profile
from hablo.skills.examples import BUILTIN_INTENTS, LANGUAGES, load_examples
from hablo.skills.info import InfoSkill
from hablo.skills.pricing import PricingSkill
from tests.conftest import make_settings

REPO = Path(__file__).resolve().parents[2]
NLU_DIR = REPO / "tests" / "nlu"
SHARED_SAMPLE = REPO.parent / "shared" / "nlu" / "sample.jsonl"
SAMPLE = SHARED_SAMPLE if SHARED_SAMPLE.exists() else NLU_DIR / "sample.jsonl"
HELDOUT = NLU_DIR / "heldout.jsonl"
DEV = NLU_DIR / "dev.jsonl"
CHITCHAT = NLU_DIR / "chitchat.jsonl"
NOW = "2027-03-10T12:00"
THRESHOLD = 0.45  # Settings.nlu_threshold's default
SUMMARY_KEYS = ["intent_accuracy", "service_accuracy", "when_accuracy", "n"]

SCRIPT = Path(sys.executable).with_name("hablo")
HABLO: list[str] = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "hablo"]


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_db(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated SQLite file with the demo tenant seeded (shared by this module)."""
    path = tmp_path_factory.mktemp("nlu_eval") / "hablo.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    rt = bootstrap(make_settings(url), upgrade_schema=False)
    with rt.db.transaction() as session:
        seed_demo(session)
    rt.close()
    yield url


@pytest.fixture(scope="module")
def eval_runtime(demo_db: str) -> Iterator[Runtime]:
    rt = bootstrap(make_settings(demo_db), upgrade_schema=False)
    yield rt
    rt.close()


@pytest.fixture(scope="module")
def profile(eval_runtime: Runtime) -> TenantProfile:
    with eval_runtime.db.transaction() as session:
        return load_profile(session, tenant_id_by_slug(session, "demo"))


@pytest.fixture(scope="module")
def now(profile: TenantProfile) -> datetime:
    return parse_now(NOW, profile.zone)


@pytest.fixture(scope="module")
def pipeline(eval_runtime: Runtime, profile: TenantProfile, now: datetime) -> NluPipeline:
    return build_pipeline(profile, eval_runtime.registry, THRESHOLD, now)


def _report(pipeline: NluPipeline, profile: TenantProfile, now: datetime, path: Path) -> EvalReport:
    return evaluate(pipeline, profile, load_cases(path), now, str(path))


# -- targets -----------------------------------------------------------------------------------


def _assert_targets(report: EvalReport) -> None:
    detail = "\n".join(report.lines())
    assert report.intent_accuracy is not None and report.intent_accuracy >= 0.95, detail
    assert report.service_accuracy is not None and report.service_accuracy >= 0.95, detail
    assert report.when_accuracy is not None and report.when_accuracy >= 0.90, detail


def test_sample_meets_the_targets(eval_runtime: Runtime) -> None:
    """The whole path, as `hablo nlu eval` runs it: file, tenant from the DB, build, score."""
    report = run_evaluation(
        eval_runtime.db, "demo", SAMPLE, NOW, threshold=THRESHOLD, registry=eval_runtime.registry
    )
    assert report.n == len(load_cases(SAMPLE))
    _assert_targets(report)


def test_heldout_meets_the_targets(
    pipeline: NluPipeline, profile: TenantProfile, now: datetime
) -> None:
    report = _report(pipeline, profile, now, HELDOUT)
    _assert_targets(report)
    weak = [row for row in report.per_intent() if row.support and row.f1 < 0.85]
    assert not weak, "\n".join(report.lines())


def test_dev_set_meets_the_targets(
    pipeline: NluPipeline, profile: TenantProfile, now: datetime
) -> None:
    _assert_targets(_report(pipeline, profile, now, DEV))


def test_a_turn_respells_once_and_reads_as_a_raw_message_is_read(
    pipeline: NluPipeline, profile: TenantProfile, now: datetime
) -> None:
    # The turn respells the message and hands both spellings to understand(), which reads
    # the respelled text as given; a caller with the raw text alone gets the same reading.
    said = "kiero korte, no, barba el juebes"
    spelled = pipeline.respell(said)
    assert spelled == "quiero barba el jueves"
    turn = pipeline.understand(spelled, now, profile.opening_hours, said=said)
    raw = pipeline.understand(said, now, profile.opening_hours)
    assert turn.intent == raw.intent == "book"
    assert turn.entities["service"].name == raw.entities["service"].name == "Arreglo de barba"
    assert turn.entities["when"].start == raw.entities["when"].start
    assert [s.name for s in turn.entities["taken_back"]] == ["Corte de pelo"]


def test_a_service_taken_back_is_reported(
    pipeline: NluPipeline, profile: TenantProfile, now: datetime
) -> None:
    # "barba, no corte" right after booking a haircut: the booking skill swaps it.
    said = "barba, no corte"
    read = pipeline.understand(pipeline.respell(said), now, profile.opening_hours, said=said)
    assert read.entities["service"].name == "Arreglo de barba"
    assert [s.name for s in read.entities["taken_back"]] == ["Corte de pelo"]
    plain = pipeline.understand("corte y barba", now, profile.opening_hours, said="corte y barba")
    assert "taken_back" not in plain.entities
    alone = pipeline.understand("sin barba", now, profile.opening_hours, said="sin barba")
    assert "service" not in alone.entities
    assert [s.name for s in alone.entities["taken_back"]] == ["Arreglo de barba"]


def test_chitchat_gets_no_intent(
    pipeline: NluPipeline, profile: TenantProfile, now: datetime
) -> None:
    report = _report(pipeline, profile, now, CHITCHAT)
    # Laughter is small talk the bot answers (never "no entendí"); the rest asks nothing.
    assert all(o.case.intent in (None, "laugh") for o in report.outcomes)
    assert report.intent_accuracy is not None and report.intent_accuracy >= 0.9, "\n".join(
        report.lines()
    )


# -- the held-out set is what it claims to be --------------------------------------------------


def _training_texts() -> dict[str, str]:
    return {
        normalize(text): intent
        for intent in BUILTIN_INTENTS
        for texts in load_examples(intent).values()
        for text in texts
    }


def test_heldout_is_not_in_the_training_examples() -> None:
    seen = _training_texts()
    copies = [c.text for c in load_cases(HELDOUT) if normalize(c.text) in seen]
    assert not copies


def test_heldout_is_large_balanced_and_bilingual() -> None:
    cases = load_cases(HELDOUT)
    assert len(cases) >= 150
    per_intent = Counter(c.intent for c in cases)
    assert set(per_intent) == set(BUILTIN_INTENTS)
    assert min(per_intent.values()) >= 10
    per_lang = Counter(c.lang for c in cases)
    assert set(per_lang) == {"es", "en"} and per_lang["en"] >= 40
    assert sum(c.service is not None for c in cases) >= 20
    assert sum(c.when is not None for c in cases) >= 20


# -- examples data -----------------------------------------------------------------------------


@pytest.mark.parametrize("intent", BUILTIN_INTENTS)
def test_every_intent_ships_examples_in_both_languages(intent: str) -> None:
    examples = load_examples(intent)
    assert set(examples) == set(LANGUAGES)
    for lang, texts in examples.items():
        assert len(texts) >= 40, (intent, lang, len(texts))
        assert all(t == t.strip() and t and "#" not in t for t in texts)
        assert len(set(texts)) == len(texts)


def test_no_example_is_labelled_with_two_intents() -> None:
    owners: dict[str, set[str]] = {}
    for intent in BUILTIN_INTENTS:
        for texts in load_examples(intent).values():
            for text in texts:
                owners.setdefault(normalize(text), set()).add(intent)
    assert not {t: o for t, o in owners.items() if len(o) > 1}


def test_builtin_skills_train_on_the_shipped_files() -> None:
    specs = {spec.name: spec for skill in (InfoSkill, PricingSkill) for spec in skill.intents}
    for intent in ("greeting", "hours", "location", "thanks", "pricing"):
        assert dict(specs[intent].examples) == load_examples(intent)


# -- report format -----------------------------------------------------------------------------


def test_report_ends_with_the_json_summary(
    pipeline: NluPipeline, profile: TenantProfile, now: datetime
) -> None:
    report = _report(pipeline, profile, now, SAMPLE)
    lines = report.lines()
    summary = json.loads(lines[-1])
    assert list(summary) == SUMMARY_KEYS
    assert summary["n"] == report.n
    for key in SUMMARY_KEYS[:3]:
        assert summary[key] == round(summary[key], 4)
    text = "\n".join(lines)
    assert "precision" in text and "recall" in text and "f1" in text
    for intent in BUILTIN_INTENTS:
        assert any(line.startswith(intent) for line in lines), intent


def test_misses_are_listed_and_empty_denominators_are_null(
    pipeline: NluPipeline, profile: TenantProfile, now: datetime
) -> None:
    cases = [
        Case(1, "cuanto sale el corte?", "es", "book", service="Manicura"),
        Case(2, "hola", "es", "greeting"),
    ]
    report = evaluate(pipeline, profile, cases, now)
    assert report.intent_accuracy == 0.5
    assert report.service_accuracy == 0.0
    assert report.when_accuracy is None
    text = "\n".join(report.lines())
    assert "line 1: 'cuanto sale el corte?' expected book, got pricing" in text
    assert "expected Manicura, got Corte de pelo" in text
    assert json.loads(report.lines()[-1]) == {
        "intent_accuracy": 0.5,
        "service_accuracy": 0.0,
        "when_accuracy": None,
        "n": 2,
    }


def test_service_names_compare_without_accents(
    pipeline: NluPipeline, profile: TenantProfile, now: datetime
) -> None:
    cases = [Case(1, "cuanto sale la tintura", "es", "pricing", service="Coloracion")]
    assert evaluate(pipeline, profile, cases, now).service_accuracy == 1.0


def test_now_is_local_to_the_tenant(profile: TenantProfile) -> None:
    local = parse_now("2027-03-10T12:00", profile.zone)
    assert local.tzinfo == profile.zone and local.hour == 12
    converted = parse_now("2027-03-10T15:00+00:00", profile.zone)
    assert converted.hour == 12 and converted.utcoffset() == local.utcoffset()
    with pytest.raises(EvalInputError, match="--now"):
        parse_now("mañana", profile.zone)


# -- input errors ------------------------------------------------------------------------------

GOOD = '{"text": "hola", "lang": "es", "intent": "greeting"}'


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: invalid JSON"),
        ('["hola"]', "line 2: expected a JSON object"),
        ('{"lang": "es", "intent": "greeting"}', "line 2: 'text'"),
        ('{"text": "  ", "lang": "es", "intent": "greeting"}', "line 2: 'text'"),
        ('{"text": "hola", "intent": "greeting"}', "line 2: 'lang'"),
        ('{"text": "hola", "lang": "es"}', "line 2: 'intent' is missing"),
        ('{"text": "hola", "lang": "es", "intent": 3}', "line 2: 'intent'"),
        ('{"text": "hola", "lang": "es", "intent": "book", "service": 1}', "line 2: 'service'"),
        ('{"text": "hola", "lang": "es", "intent": "book", "when": "mañana"}', "line 2: 'when'"),
        ('{"text": "hola", "lang": "es", "intent": "book", "when": 5}', "line 2: 'when'"),
    ],
)
def test_malformed_lines_name_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(f"{GOOD}\n{line}\n{GOOD}\n", encoding="utf-8")
    with pytest.raises(EvalInputError, match=message):
        load_cases(path)


def test_blank_lines_are_skipped_and_line_numbers_kept(tmp_path: Path) -> None:
    path = tmp_path / "ok.jsonl"
    path.write_text(f"\n{GOOD}\n\n{GOOD}\n", encoding="utf-8")
    assert [c.line for c in load_cases(path)] == [2, 4]


def test_null_intent_means_no_intent(tmp_path: Path) -> None:
    path = tmp_path / "ok.jsonl"
    path.write_text('{"text": "jaja", "lang": "es", "intent": null}\n', encoding="utf-8")
    assert load_cases(path)[0].intent is None


@pytest.mark.parametrize("content", [None, "", "\n  \n"])
def test_missing_or_empty_file(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "cases.jsonl"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(EvalInputError, match=r"no such file|no evaluation lines"):
        load_cases(path)


def test_unknown_tenant(eval_runtime: Runtime) -> None:
    with pytest.raises(LookupError, match="nosuch"):
        run_evaluation(eval_runtime.db, "nosuch", SAMPLE, NOW, threshold=THRESHOLD)


# -- the CLI -----------------------------------------------------------------------------------


def hablo(*args: str, db_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("HABLO_")}
    environ["HABLO_DATABASE_URL"] = db_url
    return subprocess.run(
        [*HABLO, *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=110,
        check=False,
    )


def test_cli_prints_the_report_and_json_last(demo_db: str, tmp_path: Path) -> None:
    args = ("nlu", "eval", str(SAMPLE), "--tenant", "demo", "--now", NOW)
    done = hablo(*args, db_url=demo_db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    summary: dict[str, Any] = json.loads(lines[-1])
    assert list(summary) == SUMMARY_KEYS
    assert summary["n"] == len(load_cases(SAMPLE))
    assert summary["intent_accuracy"] >= 0.95
    assert summary["service_accuracy"] >= 0.95
    assert summary["when_accuracy"] >= 0.90
    assert any("precision" in line for line in lines)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (f"{GOOD}\n{{oops\n", "line 2: invalid JSON"),
        ('{"text": "hola", "lang": "es"}\n', "line 1: 'intent' is missing"),
    ],
)
def test_cli_rejects_bad_files_with_exit_2(
    demo_db: str, tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "cases.jsonl"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    done = hablo("nlu", "eval", str(path), "--now", NOW, db_url=demo_db, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    err = done.stderr.strip().splitlines()
    assert len(err) == 1 and message in err[0], done.stderr


def test_cli_rejects_a_bad_now_with_exit_2(demo_db: str, tmp_path: Path) -> None:
    done = hablo("nlu", "eval", str(SAMPLE), "--now", "yesterday", db_url=demo_db, cwd=tmp_path)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "--now" in done.stderr


def test_cli_unknown_tenant_or_empty_database(demo_db: str, tmp_path: Path) -> None:
    done = hablo("nlu", "eval", str(SAMPLE), "--tenant", "nosuch", db_url=demo_db, cwd=tmp_path)
    assert done.returncode == 1
    assert "no tenant with slug 'nosuch'" in done.stderr
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    done = hablo("nlu", "eval", str(SAMPLE), db_url=empty, cwd=tmp_path)
    assert done.returncode == 1
    assert "hablo demo --seed-only" in done.stderr
