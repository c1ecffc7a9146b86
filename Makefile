# nianbao — the README's two set-up commands are `make demo` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SYSSTAMP := $(VENV)/.system
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install system demo test test-fast test-clone lint browse bench clean

install: $(STAMP) $(SYSSTAMP)

# Debian packages the suite needs: chromium (browser family, browser capture), redis-server
# (distributed crawl), libreoffice-writer-nogui and antiword (DOC/WPS attachments: LibreOffice first,
# antiword the fallback), fonts-wqy-zenhei (a CJK font PDFium substitutes for non-embedded Chinese
# fonts in PDF reports). Installed only when missing; the script changing runs it again.
$(SYSSTAMP): scripts/install-system.sh
	@bash scripts/install-system.sh
	@mkdir -p $(VENV) && touch $@

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

demo: install
	$(BIN)/python -m crawler.demo

test: install
	$(BIN)/python -m pytest -q -p no:cacheprovider

test-fast: install
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow and not browser and not redis"

# the fast suite in a fresh clone of HEAD with no ../shared beside it, as a new user has it (.ci/run's last step);
# `make test` runs the same test on the test files that read ../shared only
test-clone: install
	NIANBAO_CLEAN_CLONE=full $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/test_clean_clone.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy crawler spiders pipelines archive
	$(BIN)/lint-imports  # the one-way layers of docs/architecture.md (.importlinter)

browse: install
	$(BIN)/python -m pipelines.browse

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
