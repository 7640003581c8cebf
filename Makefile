# Two entry points for a fresh Debian/Ubuntu machine with Python 3.11:
#   make demo   - install hablo into .venv and run the demo salon on SQLite
#   make test   - install hablo + test tools (and Chromium if missing), run the whole suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test install lint bench screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The example third-party plugin (examples/hablo-faq) is installed and tested too.
FAQ_STAMP = $(VENV)/.installed-hablo-faq
$(FAQ_STAMP): examples/hablo-faq/pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e examples/hablo-faq
	touch $(FAQ_STAMP)

demo: install
	$(BIN)/hablo demo

test: install $(FAQ_STAMP)
	bash scripts/ensure-test-services.sh
	HABLO_TEST_DATABASE_URL=$${HABLO_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
	$(BIN)/pytest -q -p no:cacheprovider
	$(BIN)/pytest -q -p no:cacheprovider examples/hablo-faq/tests

lint: install
	$(BIN)/ruff check hablo tests
	$(BIN)/mypy hablo
	$(BIN)/lint-imports

bench: install
	$(BIN)/hablo bench

# Desktop and phone-width PNGs of every console page, in docs/screenshots/ (needs Chromium).
screenshots: install
	$(BIN)/python scripts/console_screenshots.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
