"""Training in a child process, for the background trainer of a serving process.

The child (`python -m hablo.engine.nlu.training`) imports scikit-learn and trains; the
server never imports it (about a second and 100 MB), and its turns do not share the GIL
with a run that takes seconds of CPU. The training set goes in as JSON on stdin, the
weights come back as `dump_model` bytes on stdout.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence

from hablo.engine.nlu.classifier import ModelArrays
from hablo.engine.nlu.model_store import load_model

TRAINING_MODULE = "hablo.engine.nlu.training"
TIMEOUT_S = 900.0


class TrainingFailed(RuntimeError):
    """The child process did not produce the model (its stderr's last line says why)."""


def train_in_child(key: str, examples: Sequence[tuple[str, str]]) -> ModelArrays:
    payload = json.dumps({"key": key, "examples": list(examples)}, ensure_ascii=False)
    done = subprocess.run(
        [sys.executable, "-m", TRAINING_MODULE],
        input=payload.encode(),
        capture_output=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines() or ["no output"]
        raise TrainingFailed(f"exit {done.returncode}: {lines[-1]}")
    returned_key, model = load_model(done.stdout)
    if returned_key != key:
        raise TrainingFailed(f"trained model {returned_key[:12]}, asked for {key[:12]}")
    return model
