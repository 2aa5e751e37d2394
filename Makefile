# latentloop: the two commands of the quick start, plus lint.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
DEMO    := demo
# The recursive model trains its preset's 700 optimizer steps (bf16, the same model with any thread count);
# the non-recursive baseline (the same network applied once, one supervision step) gets the same training
# compute in model FLOPs.
BASELINE := model.outer_cycles=1 model.inner_cycles=1 model.halt_max_steps=1 model.halting=none \
	model.grad_calls=-1 eval.steps=1

.PHONY: demo test lint venv clean-demo

$(BIN)/latentloop: pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(BIN)/latentloop

demo: $(BIN)/latentloop
	$(BIN)/latentloop data build sudoku --size 6 --train 1000 --test 500 --aug 100 --seed 0 --out $(DEMO)/data/sudoku6
	$(BIN)/latentloop train trm-sudoku6-cpu run_dir=$(DEMO)/trm data.path=$(DEMO)/data/sudoku6
	$(BIN)/latentloop train trm-sudoku6-cpu run_dir=$(DEMO)/baseline data.path=$(DEMO)/data/sudoku6 $(BASELINE) \
		train.max_steps=0 train.max_flops=$$($(BIN)/latentloop info trm-sudoku6-cpu --training-flops)
	$(BIN)/latentloop report $(DEMO)/trm --baseline $(DEMO)/baseline --out $(DEMO)/report
	@echo "report: $(DEMO)/report/report.html (and report.md)"

test: $(BIN)/latentloop
	$(BIN)/pytest -q

lint: $(BIN)/latentloop
	$(BIN)/ruff check src tests benchmarks

clean-demo:
	rm -rf $(DEMO)
