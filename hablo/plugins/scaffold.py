"""`hablo skill new NAME`: a skill package that installs, passes its tests and lints clean
as written, for the author to change into theirs.

    hablo-NAME/
      pyproject.toml          the hablo.skills entry point, pytest and ruff settings
      README.md
      src/hablo_NAME/skill.py the skill: config model, intent with examples, templates
      tests/test_skill.py     unit tests with hablo.testing.context (no database)
      tests/test_dialogues.py the dialogue file through the real engine (hablo.testing)
      dialogues/NAME.yaml     dialogue tests, also for `hablo test dialogues --skill NAME`
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Collection
from pathlib import Path

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class ScaffoldError(Exception):
    """A name or folder that cannot be used; one line."""


def check_name(name: str, taken: Collection[str]) -> None:
    if not NAME_PATTERN.match(name) or name.endswith("_") or "__" in name:
        raise ScaffoldError(
            f"skill name {name!r}: use 2-40 lowercase letters, digits and single "
            "underscores, starting with a letter (e.g. wifi, gift_cards)"
        )
    if keyword.iskeyword(name):
        raise ScaffoldError(f"skill name {name!r} is a Python keyword")
    if name in taken:
        raise ScaffoldError(f"a skill named {name!r} is already installed; choose another name")


def new_skill_package(name: str, target: Path, taken: Collection[str] = ()) -> list[Path]:
    """Write the package into `target` (which must not exist or be empty); the files
    written, relative to it."""
    check_name(name, taken)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ScaffoldError(f"{target} already exists and is not an empty folder")
    files = package_files(name)
    for relative, text in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return [Path(p) for p in files]


def package_files(name: str) -> dict[str, str]:
    module = f"hablo_{name}"
    camel = "".join(part.title() for part in name.split("_"))
    values = {
        "name": name,
        "dist": "hablo-" + name.replace("_", "-"),
        "module": module,
        "skill_class": f"{camel}Skill",
        "config_class": f"{camel}Config",
        "words": name.replace("_", " "),
        "name_upper": name.upper(),
    }
    return {
        path.format(**values): text.format(**values)
        for path, text in (
            ("pyproject.toml", _PYPROJECT),
            ("README.md", _README),
            ("src/{module}/__init__.py", _INIT),
            ("src/{module}/skill.py", _SKILL),
            ("tests/test_skill.py", _UNIT_TEST),
            ("tests/test_dialogues.py", _DIALOGUE_TEST),
            ("dialogues/{name}.yaml", _DIALOGUES),
        )
    }


# The templates below are str.format()ed: literal braces are doubled.

_PYPROJECT = """\
[build-system]
requires = ["setuptools>=77", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "A hablo skill: {words}."
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["hablo"]

[project.optional-dependencies]
dev = ["pytest>=8", "ruff"]

# hablo finds skills through this entry-point group; the name must equal {skill_class}.name.
[project.entry-points."hablo.skills"]
{name} = "{module}.skill:{skill_class}"

[tool.setuptools.packages.find]
where = ["src"]

[tool.pytest.ini_options]
testpaths = ["tests"]
pythonpath = ["src"]

[tool.ruff]
line-length = 100
target-version = "py311"

[tool.ruff.lint]
select = ["E", "F", "W", "I", "B", "UP", "SIM", "RUF"]
ignore = ["RUF001", "RUF002", "RUF003", "RUF012"]

[tool.ruff.lint.isort]
known-first-party = ["{module}"]
known-third-party = ["hablo"]
"""

_README = """\
# {dist}

A hablo skill that answers questions about {words}. Made with `hablo skill new {name}`:
change the intent's examples, the templates and the config in
`src/{module}/skill.py` into your own (docs/writing-a-skill.md in hablo).

```sh
pip install -e '.[dev]'                 # next to hablo
pytest -q                               # unit tests and dialogue tests
hablo plugins list                      # {name}  loaded
hablo skills enable {name} --tenant demo --set details="Preguntanos lo que quieras."
hablo test dialogues dialogues/{name}.yaml --tenant demo --now 2027-03-10T12:00 --skill {name}
```
"""

_INIT = '''\
"""A hablo skill: {words}."""
'''

_SKILL = '''\
"""The {name} skill: what hablo sees of this package."""

from __future__ import annotations

from hablo.plugins import IntentSpec, Skill, SkillContext, SkillResult, Turn
from pydantic import BaseModel, ConfigDict, Field


class {config_class}(BaseModel):
    """What each business sets when it enables the skill (`hablo skills config`,
    `PUT /api/skills/{name}`). Validated: a typo in a field name is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    details: str = Field(
        default="",
        max_length=500,
        description="Said after the answer, in the customer's language; empty: nothing",
    )


# Examples train hablo's classifier for this business. Keep them clear of the built-in
# skills' intents (prices, bookings, hours): what you declare here is taken from them.
{name_upper} = IntentSpec(
    "{name}",
    {{
        "es": (
            "quiero saber sobre {words}",
            "info de {words}",
            "contame de {words}",
            "una consulta por {words}",
            "qué me podés decir de {words}",
        ),
        "en": (
            "tell me about {words}",
            "info about {words}",
            "a question about {words}",
            "what can you tell me about {words}",
        ),
    }},
)


class {skill_class}(Skill):
    name = "{name}"
    config_model = {config_class}
    intents = ({name_upper},)
    templates = {{
        "{name}_answer": {{
            "es": "¡Claro! Te cuento sobre {words} en {{{{ business }}}}."
            "{{% if details %}} {{{{ details }}}}{{% endif %}}",
            "en": "Sure! About {words} at {{{{ business }}}}."
            "{{% if details %}} {{{{ details }}}}{{% endif %}}",
        }}
    }}

    def handle(self, turn: Turn, ctx: SkillContext) -> SkillResult:
        config = self.config
        assert isinstance(config, {config_class})
        text = ctx.render(
            "{name}_answer", turn.language, business=ctx.tenant.name, details=config.details
        )
        return SkillResult.say(text)
'''

_UNIT_TEST = '''\
"""The skill alone, with hablo's own SkillContext over the demo salon (no database)."""

from __future__ import annotations

import pytest
from hablo.testing.context import make_turn, skill_context
from pydantic import ValidationError

from {module}.skill import {config_class}, {skill_class}


def test_answers_in_the_customers_language() -> None:
    ctx = skill_context({skill_class})
    skill = {skill_class}({config_class}(details="Abrimos a las 9."))
    spanish = skill.handle(make_turn("info de {words}", intent="{name}"), ctx)
    assert [r.text for r in spanish.replies] == [
        "¡Claro! Te cuento sobre {words} en Peluquería Sol. Abrimos a las 9."
    ]
    english = skill.handle(make_turn("tell me about {words}", "en", intent="{name}"), ctx)
    assert english.replies[0].text.startswith("Sure! About {words} at Peluquería Sol.")


def test_a_business_may_leave_the_details_out() -> None:
    result = {skill_class}().handle(make_turn("info de {words}"), skill_context({skill_class}))
    assert result.replies[0].text.endswith("en Peluquería Sol.")


def test_a_misspelt_config_field_is_an_error() -> None:
    with pytest.raises(ValidationError, match="detail"):
        {config_class}.model_validate({{"detail": "typo"}})
'''

_DIALOGUE_TEST = '''\
"""The dialogue file through the real hablo engine, on a scratch copy of the demo salon
with this skill enabled (the classifier trained on its examples): no install needed."""

from __future__ import annotations

from pathlib import Path

from hablo.testing.engine_kit import assert_dialogues

from {module}.skill import {skill_class}

DIALOGUES = Path(__file__).parents[1] / "dialogues"


def test_dialogues(tmp_path: Path) -> None:
    assert_dialogues(
        [DIALOGUES / "{name}.yaml"],
        {skill_class},
        workdir=tmp_path,
        config={{"details": "Preguntanos lo que quieras."}},
    )
'''

_DIALOGUES = """\
# Dialogue tests (docs/dialogue-tests.md in hablo), run by tests/test_dialogues.py and by
#   hablo test dialogues dialogues/{name}.yaml --tenant demo --now 2027-03-10T12:00 \\
#       --skill {name}

- name: a question about {words} is answered by the skill
  steps:
    - user: "quiero saber sobre {words}"
      bot: "te cuento sobre {words}"
      skill: {name}

- name: english customers get the english answer
  steps:
    - user: "what can you tell me about {words}?"
      bot: "sure! about {words}"
      skill: {name}

- name: prices stay with the built-in skills
  steps:
    - user: "¿cuánto sale el corte de pelo?"
      not_skill: {name}
"""
