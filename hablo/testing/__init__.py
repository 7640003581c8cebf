"""Testing tools for tenants and plugin authors: dialogue tests (`hablo test dialogues`),
a ready SkillContext for a skill's unit tests (hablo.testing.context), and a skill's
dialogue files through the real engine from its own pytest (hablo.testing.engine_kit).

An outer layer, like the CLI: it may import the engine, the database and the skills;
nothing inside hablo imports it.
"""
