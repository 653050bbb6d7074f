# Tandem — the two commands: `make run` and `make test`.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
UV := python3 -m uv
PY := .venv/bin/python
# Tests spread over workers, each with its own databases, broker and topic prefix; the
# modules tests/conftest.py keeps together (a browser's stack) stay on one worker.
PYTEST_PARALLEL := -n 3 --dist load

.PHONY: run run-federation test test-full install bytecode lint typecheck contracts i18n bench clean

# Bytecode is compiled ahead: with PYTHONDONTWRITEBYTECODE set (as on our CI machines)
# every service process would otherwise compile its imports anew, about 3 s a process.
install: .venv/.synced bytecode
.venv/.synced: pyproject.toml uv.lock shared/pyproject.toml services/*/pyproject.toml tools/pyproject.toml
	@python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv>=0.5"
	$(UV) sync --frozen --python 3.11 --compile-bytecode
	@touch $@

bytecode: .venv/.synced  ## the repository's own modules (the packages are compiled by uv sync)
	@$(PY) -m compileall -q -j 0 services shared tools tests bench >/dev/null

run: install  ## the embedded broker, all four services and demo data; Ctrl-C stops
	$(PY) -m tandem_tools.devstack

run-federation: install  ## two hubs, north (8101-8104) and south (8201-8204), on one broker
	$(PY) -m tandem_tools.federation

test: install  ## the whole suite: lint, types, unit, integration, e2e
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	@# mypy (about 90 s on a fresh clone) runs beside pytest, whose workers mostly wait on
	@# brokers and services; both must pass.
	@$(PY) -m mypy > .mypy-report.txt 2>&1 & types=$$!; \
	$(PY) -m pytest -q $(PYTEST_PARALLEL); tests=$$?; \
	wait $$types; typed=$$?; echo "mypy:"; cat .mypy-report.txt; rm -f .mypy-report.txt; \
	test $$tests -eq 0 -a $$typed -eq 0

test-full: install  ## the same with the full generated-example counts (nightly-style)
	TANDEM_TEST_FULL=1 $(PY) -m pytest -q $(PYTEST_PARALLEL)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: install
	$(PY) -m mypy

contracts: install  ## regenerate JSON Schema + AsyncAPI from the pydantic models
	$(PY) -m tandem_shared.contracts_export --out contracts

.PHONY: docs
docs: install  ## regenerate docs/configuration.md from the settings classes
	$(PY) -m tandem_tools.settings_doc > docs/configuration.md.new
	mv docs/configuration.md.new docs/configuration.md

i18n: install  ## the console's catalogues: extract its messages, merge them into each language
	$(PY) -m babel.messages.frontend extract -F services/console/babel.cfg -k N_ --no-location \
		--sort-output -o .tandem/console.pot services/console/tandem_console
	$(PY) -m babel.messages.frontend update -i .tandem/console.pot \
		-d services/console/tandem_console/locale --no-fuzzy-matching --width 100

clean:
	rm -rf .tandem .pytest_cache .mypy_cache .ruff_cache
