"""Testing tools for tenants and plugin authors: dialogue tests (`hablo test dialogues`)
and a ready SkillContext for a skill's unit tests (hablo.testing.context).

An outer layer, like the CLI: it may import the engine, the database and the skills;
nothing inside hablo imports it.
"""
