"""`hablo test dialogues`: file errors, passing and failing cases, given bookings, booking
counts, -k, accent-insensitive matching, --skill, and that the configured database (the
source tenant) is only read — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from hablo.bootstrap import Runtime
from hablo.cli import main
from hablo.db.models import Booking, Contact, Conversation, Message, Service, Tenant, TenantSkill
from hablo.plugins import IntentSpec, Skill, SkillContext, SkillResult, Turn
from hablo.testing.dialogue_file import Step
from hablo.testing.dialogue_report import check_step
from hablo.testing.dialogue_runner import run_dialogue_tests
from tests.conftest import make_settings

NOW = "2027-03-10T12:00"  # Wednesday; the demo salon's calendar (see FORMAT in docs)
HUMAN = """\
- name: asks for a human
  steps:
    - user: "prefiero hablar con un humano"
      bot: 'persona|alguien|equipo'
      skill: handoff
"""
MANICURE = """\
- name: books a manicure
  steps:
    - user: "Buenas! ¿Me anotás para manicura el miércoles 17 a las 9:45?"
      skill: booking
    - user: "sí, gracias"
"""


@pytest.fixture
def fresh_clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder with no hablo.db and no settings: the demo is seeded in the copy."""
    work = tmp_path / "clone"
    work.mkdir()
    monkeypatch.chdir(work)
    for name in ("HABLO_DATABASE_URL", "HABLO_CONFIG_FILE", "HABLO_STATE_DIR"):
        monkeypatch.delenv(name, raising=False)
    return work


def _file(folder: Path, text: str, name: str = "cases.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    code = main(["test", "dialogues", *args])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def _summary(lines: list[str]) -> dict[str, int]:
    last: dict[str, int] = json.loads(lines[-1])
    return last


# -- file errors: one line, exit 2, nothing runs ---------------------------------------------

BAD_FILES = [
    ("- name: x\n  steps: [\n", "invalid YAML at line 3"),
    ("- name: typo\n  stepz: []\n", "case 1 'typo', field stepz: Extra inputs are not permitted"),
    (
        "- name: no user\n  steps:\n    - bot: hola\n",
        "case 1 'no user', field steps[0].user: Field required",
    ),
    (
        "- name: bad regex\n  steps:\n    - user: hola\n      bot: '(unclosed'\n",
        "case 1 'bad regex', field steps[0].bot: invalid regex '(unclosed'",
    ),
    (
        "- name: bad start\n  steps: [{user: hola}]\n"
        "  bookings: [{service: Manicura, start: 'el martes'}]\n",
        "case 1 'bad start', field bookings[0].start: 'el martes' is not an ISO time",
    ),
    (
        "- name: same\n  steps: [{user: hola}]\n- name: same\n  steps: [{user: chau}]\n",
        "case 2 'same', field name: duplicate of case 1",
    ),
    ("- name: empty\n  steps: []\n", "case 1 'empty', field steps: List should have at least 1"),
    (
        "- name: ok\n  steps: [{user: hola}]\n- steps: [{user: hola}]\n",
        "case 2, field name: Field required",
    ),
    (
        "- name: unknown service\n  steps: [{user: hola}]\n"
        "  bookings: [{service: Depilación, start: '2027-03-17T10:00'}]\n",
        "case 1 'unknown service', field bookings[0].service: unknown service 'Depilación'",
    ),
    (
        "- name: closed\n  given:\n    bookings: [{service: Manicura, start: '2027-03-14T10:00'}]\n"
        "  steps: [{user: hola}]\n",
        "case 1 'closed', field given.bookings[0]: Manicura at 2027-03-14T10:00 is outside",
    ),
    (
        "- name: overlap\n  given:\n    bookings:\n"
        "      - {service: Coloración, start: '2027-03-16T15:00'}\n"
        "      - {service: Corte de pelo, start: '2027-03-16T16:00'}\n"
        "  steps: [{user: hola}]\n",
        "case 1 'overlap', field given.bookings[1]: Corte de pelo at 2027-03-16T16:00 overlaps",
    ),
    (
        "- name: both\n  steps:\n    - user: hola\n    - user: si\n      reminder: true\n",
        "case 1 'both', field steps[1].reminder: a step is the customer's (user) or a reminder",
    ),
    (
        "- name: not true\n  steps:\n    - user: hola\n    - reminder: yes\n",
        "case 1 'not true', field steps[1].reminder: only `true`",
    ),
    (
        "- name: skill\n  steps:\n    - user: hola\n    - reminder: true\n      skill: booking\n",
        "case 1 'skill', field steps[1].skill: a reminder step checks only bot / not_bot",
    ),
    (
        "- name: first\n  steps:\n    - reminder: true\n    - user: si\n",
        "case 1 'first', field steps[0].reminder: a reminder needs a booking made in an earlier",
    ),
]


@pytest.mark.parametrize(("source", "expected"), BAD_FILES)
def test_a_bad_file_is_one_line_and_exit_2(
    fresh_clone: Path, capsys: pytest.CaptureFixture[str], source: str, expected: str
) -> None:
    path = _file(fresh_clone, source, "bad.yaml")
    code, out, err = _run(capsys, str(path), "--tenant", "demo", "--now", NOW)
    assert code == 2
    assert out == []  # nothing ran
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"hablo: {path}: ")
    assert expected in err


def test_unknown_tenant_and_unknown_skill_are_one_line_errors(
    fresh_clone: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(fresh_clone, HUMAN)
    code, out, err = _run(capsys, str(path), "--tenant", "nobody", "--now", NOW)
    assert (code, out) == (2, [])
    assert err.strip() == "hablo: no tenant with slug 'nobody' in the configured database"
    code, out, err = _run(capsys, str(path), "--tenant", "demo", "--now", NOW, "--skill", "nope")
    assert (code, out) == (2, [])
    assert err.startswith("hablo: --skill nope: no such skill installed")
    code, _, err = _run(capsys, str(path), "--tenant", "demo", "--now", "mañana")
    assert code == 2 and "--now 'mañana' is not an ISO time" in err


# -- running ---------------------------------------------------------------------------------


def test_passing_and_failing_cases_in_a_fresh_clone(
    fresh_clone: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failing = """\
    - name: price is never this
      steps:
        - user: "¿cuánto sale la manicura?"
          bot: '9[.,]?000'
        - user: "¿y el brushing?"
          bot: 'zzz-never-said'
          not_skill: pricing
    """
    path = _file(fresh_clone, HUMAN + textwrap.dedent(failing))
    code, out, _ = _run(capsys, str(path), "--tenant", "demo", "--now", NOW)
    assert code == 1
    assert out[0] == "ok    asks for a human"
    assert out[1].startswith("FAIL  price is never this")
    text = "\n".join(out)
    assert "  you> ¿cuánto sale la manicura?" in text
    assert "[skill: pricing]" in text
    assert "✗ bot: /zzz-never-said/ not found in the reply" in text
    assert "✗ not_skill: answered by pricing" in text
    # Both failures sit under the second step, none under the first.
    second = out.index("  you> ¿y el brushing?")
    assert not any(line.startswith("    ✗") for line in out[:second])
    assert _summary(out) == {
        "cases": 2,
        "passed": 1,
        "failed_steps": 1,
        "wrong_bookings": 0,
        "missing_bookings": 0,
    }
    assert not (fresh_clone / "hablo.db").exists()  # the configured database is not created
    assert not (fresh_clone / ".hablo").exists()  # nor a state folder


def test_a_reminder_step_without_a_booking_to_remind_fails(
    fresh_clone: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = """\
    - name: nothing booked
      steps:
        - user: "hola"
        - reminder: true
    - name: reminded twice
      steps:
        - user: "manicura el miércoles 17 a las 9:45"
        - user: "sí"
        - reminder: true
          bot: 'recordamos'
        - reminder: true
    """
    path = _file(fresh_clone, textwrap.dedent(cases))
    code, out, _ = _run(capsys, str(path), "--tenant", "demo", "--now", NOW)
    assert code == 1
    text = "\n".join(out)
    assert "  (the bot sends the booking reminder)" in text
    assert "✗ reminder: the customer has no upcoming booking" in text
    assert "✗ reminder: the next booking's reminder was already sent" in text
    assert _summary(out)["failed_steps"] == 2  # the first reminder of the second case is sent


def test_wrong_and_missing_bookings_are_counted(
    fresh_clone: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = (
        MANICURE
        + "  bookings: [{service: Brushing, start: '2027-03-22T13:15'}]\n"
        + MANICURE.replace("books a manicure", "books the manicure asked for")
        + "  bookings: [{service: manicura, start: '2027-03-17T09:45'}]\n"
    )
    path = _file(fresh_clone, cases)
    code, out, _ = _run(capsys, str(path), "--tenant", "demo", "--now", NOW, "--json")
    assert code == 1
    wrong_case, right_case = (json.loads(line) for line in out[:2])
    assert wrong_case["passed"] is False
    assert wrong_case["bookings"]["wrong"] == [{"service": "Manicura", "start": "2027-03-17T09:45"}]
    assert wrong_case["bookings"]["missing"] == [
        {"service": "Brushing", "start": "2027-03-22T13:15"}
    ]
    assert [s["skill"] for s in wrong_case["steps"]] == ["booking", "booking"]
    assert all(s["replies"] and not s["failures"] for s in wrong_case["steps"])
    assert right_case["passed"] is True  # the service name matches in any case
    assert _summary(out) == {
        "cases": 2,
        "passed": 1,
        "failed_steps": 0,
        "wrong_bookings": 1,
        "missing_bookings": 1,
    }


def test_given_bookings_block_a_slot_only_in_their_case(
    fresh_clone: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ask = '    - user: "¿hay lugar para un corte el martes 16 a las 15:30?"\n'
    cases = (
        "- name: taken by another customer\n"
        "  given:\n    bookings: [{service: Coloración, start: '2027-03-16T15:00'}]\n"
        f"  steps:\n{ask}      not_bot: 'te reservo[^?]*15:30'\n"
        "  bookings: []\n"
        "- name: free again in the next case\n"
        f"  steps:\n{ask}      bot: 'te reservo[^?]*15:30'\n"
    )
    code, out, _ = _run(capsys, str(_file(fresh_clone, cases)), "--tenant", "demo", "--now", NOW)
    assert out[:2] == ["ok    taken by another customer", "ok    free again in the next case"]
    assert code == 0 and _summary(out)["passed"] == 2


def test_k_runs_only_matching_names(fresh_clone: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = HUMAN + MANICURE + "  bookings: [{service: Manicura, start: '2027-03-17T09:45'}]\n"
    path = _file(fresh_clone, cases)
    code, out, _ = _run(capsys, str(path), "--tenant", "demo", "--now", NOW, "-k", "HUMAN")
    assert (code, out) == (0, ["ok    asks for a human", _cases_line(1)])


def _cases_line(n: int) -> str:
    return json.dumps(
        {"cases": n, "passed": n, "failed_steps": 0, "wrong_bookings": 0, "missing_bookings": 0}
    )


def test_a_directory_runs_its_yaml_files_in_name_order(
    fresh_clone: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = fresh_clone / "dialogues"
    folder.mkdir()
    _file(folder, HUMAN.replace("asks for a human", "second"), "b.yml")
    _file(folder, HUMAN.replace("asks for a human", "first"), "a.yaml")
    (folder / "notes.txt").write_text("not a case file")
    code, out, _ = _run(capsys, str(folder), "--tenant", "demo", "--now", NOW)
    assert (code, out) == (0, ["ok    first", "ok    second", _cases_line(2)])


def test_matching_ignores_accents_and_case_on_both_sides(
    fresh_clone: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    step = Step(user="x", bot="PELUQUERIA sol", not_bot="atención")
    assert check_step(step, ["Hablá con la peluquería Sol"], "info") == []
    assert check_step(step, ["La Atencion es 9 a 19"], "info") == [
        "bot: /PELUQUERIA sol/ not found in the reply",
        "not_bot: /atención/ matched 'Atencion'",
    ]
    # Through the runner: the handoff reply names "Peluquería Sol".
    cases = HUMAN.replace("'persona|alguien|equipo'", "'PELUQUERIA SOL'") + (
        "- name: accents in the pattern\n  steps:\n"
        "    - user: prefiero hablar con un humano\n      bot: 'peluquéría sól'\n"
    )
    code, out, _ = _run(capsys, str(_file(fresh_clone, cases)), "--tenant", "demo", "--now", NOW)
    assert code == 0, out


class EchoSkill(Skill):
    """A third-party skill for --skill: answers one unmistakable phrase."""

    name = "echo_test"
    intents = (
        IntentSpec(
            "echo_test",
            {"es": ("abracadabra pata de cabra", "abracadabra", "pata de cabra abracadabra")},
        ),
    )

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        return SkillResult.say(f"eco: {turn.text}\nsegunda línea")


def test_skill_enables_a_plugin_the_tenant_has_not(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "- name: magic\n  steps:\n    - user: abracadabra pata de cabra\n"
        "      bot: '^eco: abracadabra pata de cabra\\nsegunda linea$'\n      skill: echo_test\n",
    )
    settings = make_settings(f"sqlite:///{tmp_path / 'absent.db'}")
    enabled = run_dialogue_tests(
        settings, [path], tenant="demo", now=NOW, skills=["echo_test"], extra_skills=[EchoSkill]
    )
    assert enabled[0].passed, enabled[0].as_json()
    assert enabled[0].steps[0].replies == ["eco: abracadabra pata de cabra\nsegunda línea"]
    off = run_dialogue_tests(settings, [path], tenant="demo", now=NOW, extra_skills=[EchoSkill])
    assert off[0].steps[0].skill != "echo_test"
    assert not (tmp_path / "absent.db").exists()


# -- the source tenant lives in the configured database ----------------------------------------


def _counts(rt: Runtime) -> dict[str, int]:
    with rt.db.transaction() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Booking, Contact, Conversation, Message, TenantSkill, Tenant)
        }


def test_the_configured_tenant_is_copied_and_never_written(
    runtime: Runtime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The real tenant's own price (not the demo seed's) must be what the copy answers.
    with runtime.db.transaction() as session:
        session.execute(
            update(Service).where(Service.name == "Manicura").values(price_minor=1_234_500)
        )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HABLO_DATABASE_URL", runtime.settings.database_url)
    _file(tmp_path, MANICURE + "  bookings: [{service: Manicura, start: '2027-03-17T09:45'}]\n")
    before = _counts(runtime)
    before_settings = _tenant_settings(runtime)
    price = (
        "- name: the tenant's price\n  steps:\n"
        "    - user: ¿cuánto sale la manicura?\n      bot: '12[.,]?345'\n"
    )
    _file(tmp_path, price, "price.yaml")
    code, out, err = _run(capsys, str(tmp_path), "--tenant", "demo", "--now", NOW)
    assert code == 0, (out, err)
    assert _summary(out)["cases"] == 2
    assert _counts(runtime) == before  # no conversation, message, contact or booking added
    assert _tenant_settings(runtime) == before_settings  # debounce etc. set only in the copy


def _tenant_settings(rt: Runtime) -> Any:
    with rt.db.transaction() as session:
        return session.scalars(select(Tenant.settings).where(Tenant.slug == "demo")).one()
