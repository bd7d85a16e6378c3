#!/usr/bin/env bash
# Install the benchmark peers (TransformerLens 3.9.0 and the modules it imports) into
# benchmarks/.peers/tl39, outside the main environment.
#
# Usage: bash benchmarks/setup.sh PYTHON
#
# Every package is installed with --no-deps into its own target folder, so pip never
# resolves torch or transformers again: the benchmark uses the torch and transformers of
# the main environment (transformers comes with the "dev" extra). TransformerLens 3.9.0
# is the last release with HookedTransformer and run_with_cache on a model built from a
# config. The benchmark code appends the folder to sys.path, after the main environment,
# so nothing in it shadows a package the main environment already has.
set -euo pipefail

PY="${1:-python3}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TARGET="$HERE/.peers/tl39"

# Pinned: TransformerLens itself, its one extra dependency better-abc, and the modules
# its "import transformer_lens" needs that the main environment does not ship.
PACKAGES=(
  transformer-lens==3.9.0
  better-abc==0.0.3
  einops==0.8.2
  jaxtyping==0.3.11
  wadler-lindig==0.1.7
  datasets==5.2.0
  dill==0.4.1
  multiprocess==0.70.19
  xxhash==4.1.0
  pandas==3.1.1
  pyarrow==26.0.1
)
STAMP="$TARGET/.installed"
WANTED="${PACKAGES[*]}"

if ! "$PY" -c "import transformers" 2>/dev/null; then
  echo "setup.sh: transformers is missing from $PY; install the dev extra: pip install -e '.[dev]'" >&2
  exit 1
fi

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANTED" ]]; then
  echo "setup.sh: peers already installed in $TARGET"
else
  rm -rf "$TARGET"
  mkdir -p "$TARGET"
  "$PY" -m pip install --quiet --no-deps --target "$TARGET" "${PACKAGES[@]}"
  echo "$WANTED" > "$STAMP"
  echo "setup.sh: installed ${#PACKAGES[@]} packages into $TARGET"
fi

# Check that the peer imports against the main environment's torch.
PYTHONPATH="" "$PY" - "$TARGET" <<'PYCHECK'
import sys
import warnings

sys.path.append(sys.argv[1])
warnings.simplefilter("ignore")
import torch
from transformer_lens import HookedTransformer  # noqa: F401

print(f"setup.sh: TransformerLens importable with torch {torch.__version__}")
PYCHECK
