# leadstream: `make run` runs the product, `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test up down status deps venv bench lock tracker dashboard clean

run: deps venv            ## stack + edge + worker in the foreground (Ctrl-C stops all)
	@dev/run.sh

test: deps venv           ## the whole suite on the real stack (started if not running)
	@LEADSTREAM_TESTS=1 dev/bootstrap.sh
	@dev/stack.sh up
	$(VENV)/bin/pytest $(PYTEST_ARGS)

up: deps venv             ## start Kafka and Redis in the background, wait until healthy
	@dev/stack.sh up

down:                     ## stop what `make up` started
	@dev/stack.sh down

status:
	@dev/stack.sh status

deps:                     ## Debian packages the stack needs (installed only if missing)
	@dev/bootstrap.sh

venv: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install -q --upgrade pip
	@$(VENV)/bin/pip install -q -r requirements.lock
	@$(VENV)/bin/pip install -q --no-deps -e .
	@touch $(STAMP)

bench: venv              ## benchmarks (see bench/README.md); BENCH_ARGS="--only edge" etc.
	@LEADSTREAM_BENCH=1 dev/bootstrap.sh
	@dev/stack.sh up
	$(VENV)/bin/python -m bench.run $(BENCH_ARGS)

tracker:                  ## rebuild leadstream/ingest/static/t.min.js from tracker/t.js (terser, pinned)
	@LEADSTREAM_TRACKER=1 dev/bootstrap.sh
	@cd tracker && npm ci --no-audit --no-fund --silent && npm run -s build
	@$(PYTHON) -c "import gzip; b = open('leadstream/ingest/static/t.min.js', 'rb').read(); \
	  print(f'[tracker] t.min.js: {len(b)} bytes, {len(gzip.compress(b, 9))} gzipped (at most 2048)')"

dashboard:                ## rebuild leadstream/dashboard/static/dashboard.{js,css} from dashboard/src (esbuild, pinned)
	@LEADSTREAM_TRACKER=1 dev/bootstrap.sh
	@cd dashboard && npm ci --no-audit --no-fund --silent && npm run -s build
	@$(PYTHON) -c "import gzip; n = sum(len(gzip.compress(open(f'leadstream/dashboard/static/dashboard.{x}', 'rb').read(), 9)) \
	  for x in ('js', 'css')); print(f'[dashboard] js + css: {n} bytes gzipped (at most 102400)'); assert n <= 102400"

lock: venv                ## re-pin the dependency tree after changing pyproject.toml
	@{ echo '# The whole dependency tree, pinned (pip freeze of the dev venv). Regenerate with `make lock`.'; \
	  $(VENV)/bin/pip freeze --exclude-editable | grep -v '^leadstream'; } > requirements.lock

clean: down
	rm -rf var $(VENV)
