# The two commands: `make run` starts the playground, `make test` runs the whole suite. Both set up what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
API_PORT ?= 6443
TEMPO ?= realtime
# For a classroom: the name or address students use to reach this machine (make run HOST=0.0.0.0 PUBLIC_HOST=…).
PUBLIC_HOST ?=

.PHONY: run test lint bench venv dev browser

$(VENV)/.base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.dev: $(VENV)/.base
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.base
dev: $(VENV)/.dev

# Debian's chromium for the browser tests (Playwright drives it through executable_path), and CJK fonts for the
# Chinese page.
browser:
	@command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "noto sans cjk" || { \
	  echo "installing chromium and fonts-noto-cjk from Debian"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
	  || echo "could not install chromium: the browser tests will skip"; }

run: venv
	$(PY) manage.py migrate --noinput
	KUBEPLAY_PUBLIC_HOST=$(PUBLIC_HOST) $(PY) manage.py playground --host $(HOST) --port $(PORT) --api-port $(API_PORT) --tempo $(TEMPO)

# The suite's files are spread over both cores (one worker per core, a file's tests together).
test: dev browser
	$(PY) -m pytest -q -n auto --dist loadfile

lint: dev
	$(VENV)/bin/ruff check .

bench: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py bench converge --pods 1000 --nodes 50
