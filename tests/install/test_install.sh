#!/usr/bin/env bash
# Install test, in two parts, each in a fresh copy of the repository under a temporary directory.
#
# binder: a fresh virtual environment built from binder/ alone, the way repo2docker builds it
#   (binder/requirements.txt, then binder/postBuild from the repository root), in which every
#   notebook executes in a fresh python3 kernel with a peak RSS under 1.5 GiB.
#   Two departures from Binder, so that the test needs no network beyond the package index:
#   torch==2.13.0 is installed first (pip finds the local CPU wheel), and the line
#   "--extra-index-url https://download.pytorch.org/whl/cpu" is removed from a copy of
#   requirements.txt. Every other line is installed as written, and the torch pin must be
#   met by that wheel.
# readme: a fresh clone, the README's setup command (make lab: it must serve the notebooks
#   on 127.0.0.1) and the README's test command (make test: the whole suite). That run sets
#   GPTVIZ_INSIDE_INSTALL_TEST=1, so the suite's own install test does not build the Binder
#   environment a second time.
#
# Environment:
#   PYTHON                 interpreter that creates the environments (default python3)
#   INSTALL_TEST_PARTS     "binder", "readme" or "binder readme" (default)
#   INSTALL_TEST_SOURCE    "clone" (default): git clone, so only committed files count;
#                          "worktree": copy tracked and untracked, not ignored, files
#   INSTALL_TEST_KEEP=1    keep the temporary directory and print its path
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
PARTS="${INSTALL_TEST_PARTS:-binder readme}"
SOURCE="${INSTALL_TEST_SOURCE:-clone}"
CPU_INDEX_LINE="--extra-index-url https://download.pytorch.org/whl/cpu"
MAX_RSS_MB=1536
LAB_START_TIMEOUT=1200
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gptviz-install.XXXXXX")"
LAB_PID=""

cleanup() {
    if [[ -n "$LAB_PID" ]] && kill -0 "$LAB_PID" 2>/dev/null; then
        kill -- "-$LAB_PID" 2>/dev/null || true
        wait "$LAB_PID" 2>/dev/null || true
    fi
    if [[ "${INSTALL_TEST_KEEP:-0}" == 1 ]]; then
        echo "install test: kept $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

step() { printf '\n== install test: %s (%d s so far)\n' "$1" "$SECONDS"; }
fail() { printf 'install test FAILED: %s\n' "$1" >&2; exit 1; }

# Copy the repository to $1: a git clone, or the files git would commit from the working tree.
fresh_copy() {
    local dest="$1"
    if [[ "$SOURCE" == clone ]]; then
        if [[ -n "$(git -C "$REPO" status --porcelain --untracked-files=normal)" ]]; then
            echo "install test: NOTE: the working tree has uncommitted changes; the clone tests HEAD" \
                 "(INSTALL_TEST_SOURCE=worktree tests the working tree)"
        fi
        git clone --quiet --no-hardlinks "$REPO" "$dest"
    elif [[ "$SOURCE" == worktree ]]; then
        mkdir -p "$dest"
        (cd "$REPO" && git ls-files -z --cached --others --exclude-standard \
            | while IFS= read -r -d '' path; do if [[ -e "$path" ]]; then printf '%s\0' "$path"; fi; done \
            | tar --null --files-from=- -cf -) | tar -xf - -C "$dest"
    else
        fail "INSTALL_TEST_SOURCE must be 'clone' or 'worktree', got '$SOURCE'"
    fi
}

# The git mode of a tracked file (100755 is executable), or nothing when untracked.
git_mode() { git -C "$1" ls-files --stage -- "$2" | cut -d' ' -f1; }

check_binder_files() {
    local src="$1"
    [[ -f "$src/binder/requirements.txt" ]] || fail "binder/requirements.txt is missing"
    local name
    for name in postbuild postBuild.sh postbuild.sh post_build PostBuild; do
        [[ ! -e "$src/binder/$name" ]] || fail "binder/$name is not a name repo2docker reads; name it binder/postBuild"
    done
    if [[ -e "$src/binder/postBuild" ]]; then
        [[ -x "$src/binder/postBuild" ]] || fail "binder/postBuild is not executable (chmod +x binder/postBuild)"
        local mode
        mode="$(git_mode "$REPO" binder/postBuild)"
        [[ -z "$mode" || "$mode" == 100755 ]] \
            || fail "binder/postBuild is committed with mode $mode; run git update-index --chmod=+x binder/postBuild"
    fi
    local count
    count="$(grep -cxF -- "$CPU_INDEX_LINE" "$src/binder/requirements.txt" || true)"
    [[ "$count" == 1 ]] || fail "binder/requirements.txt must contain the line '$CPU_INDEX_LINE' once, found $count"
}

# Versions, CPU-only torch, no test-only packages, and the front-end extensions Lab loads.
check_binder_env() {
    local bin="$1" src="$2"
    "$bin/python" -m pip check
    # From a directory without a gptviz/ folder, so the import finds the installed package
    (cd "$WORK" && GPTVIZ_SRC="$src" "$bin/python" -) <<'EOF'
import importlib.metadata as md
import importlib.util
import os
from pathlib import Path

def major(name):
    return int(md.version(name).split(".")[0])

expected = {"jupyterlab": 4, "ipywidgets": 8, "jupyterlab_widgets": 3}
for name, want in expected.items():
    assert major(name) == want, f"{name} {md.version(name)}: expected major version {want}"
for name in ("anywidget", "plotly", "torch", "tiktoken", "safetensors"):
    print(f"{name} {md.version(name)}")

import torch
assert torch.version.cuda is None, f"torch {torch.__version__} is a CUDA build; Binder needs the CPU wheel"
for name in ("pytest", "transformers", "playwright"):
    assert importlib.util.find_spec(name) is None, f"{name} is installed, but Binder does not need it"

import gptviz
home = Path(gptviz.__file__).resolve().parent
assert home == Path(os.environ["GPTVIZ_SRC"]).resolve() / "gptviz", f"gptviz imported from {home}"
model, tokenizer = gptviz.load_pretrained("shakespeare")
print(f"gptviz {gptviz.__version__} from {home}; bundled model: {model.num_parameters()} parameters")
EOF
    local listing
    listing="$("$bin/jupyter" labextension list 2>&1)"
    echo "$listing"
    local extension
    for extension in "@jupyter-widgets/jupyterlab-manager" "anywidget" "jupyterlab-plotly"; do
        grep -F "$extension" <<<"$listing" | grep -q "enabled.*OK" \
            || fail "JupyterLab does not load the front-end extension $extension"
    done
}

part_binder() {
    local src="$WORK/binder-src" env="$WORK/binder-env"
    step "binder: copy of the repository"
    fresh_copy "$src"
    check_binder_files "$src"

    step "binder: fresh environment, torch==2.13.0 from the local wheel"
    "$PYTHON" -m venv "$env"
    "$env/bin/python" -m pip install --quiet torch==2.13.0

    step "binder: binder/requirements.txt without the PyTorch CPU index line"
    grep -vxF -- "$CPU_INDEX_LINE" "$src/binder/requirements.txt" >"$WORK/requirements-offline.txt"
    (cd "$src" && "$env/bin/python" -m pip install --quiet -r "$WORK/requirements-offline.txt")

    if [[ -e "$src/binder/postBuild" ]]; then
        step "binder: binder/postBuild from the repository root"
        (cd "$src" && PATH="$env/bin:$PATH" ./binder/postBuild)
    fi

    step "binder: environment check"
    check_binder_env "$env/bin" "$src"

    step "binder: every notebook in a fresh python3 kernel"
    [[ -f "$src/notebooks/00_tour.ipynb" ]] || fail "notebooks/00_tour.ipynb, the page Binder opens, is missing"
    local notebook failed=()
    for notebook in "$src"/notebooks/*.ipynb; do
        env -u PYTHONPATH -u JUPYTER_PATH \
            JUPYTER_DATA_DIR="$WORK/jupyter-data" JUPYTER_CONFIG_DIR="$WORK/jupyter-config" \
            JUPYTER_RUNTIME_DIR="$WORK/jupyter-runtime" PATH="$env/bin:$PATH" \
            "$env/bin/python" "$src/tests/install/run_notebook.py" "$notebook" --max-rss-mb "$MAX_RSS_MB" \
            || failed+=("$(basename "$notebook")")
    done
    ((${#failed[@]} == 0)) || fail "notebooks that failed in the Binder environment: ${failed[*]}"
}

# Start the README's setup command in its own process group and wait until JupyterLab lists
# the notebooks on 127.0.0.1; the process group is stopped afterwards.
check_make_lab() {
    local clone="$1" port token config="$WORK/lab-config"
    port="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    token="install-test-$RANDOM$RANDOM"
    mkdir -p "$config"
    cat >"$config/jupyter_server_config.json" <<EOF
{"ServerApp": {"ip": "127.0.0.1", "open_browser": false, "allow_root": true},
 "IdentityProvider": {"token": "$token"}}
EOF
    (cd "$clone" && JUPYTER_CONFIG_DIR="$config" JUPYTER_RUNTIME_DIR="$WORK/lab-runtime" \
        exec setsid make lab LAB_PORT="$port") >"$WORK/make-lab.log" 2>&1 &
    LAB_PID=$!
    local url="http://127.0.0.1:$port/api/contents/?token=$token" deadline=$((SECONDS + LAB_START_TIMEOUT))
    until curl -fsS "$url" -o "$WORK/contents.json" 2>/dev/null; do
        if ! kill -0 "$LAB_PID" 2>/dev/null; then
            tail -n 40 "$WORK/make-lab.log" >&2
            fail "make lab exited before JupyterLab answered"
        fi
        ((SECONDS < deadline)) || fail "JupyterLab did not answer on port $port within $LAB_START_TIMEOUT s"
        sleep 2
    done
    curl -fsS "http://127.0.0.1:$port/lab?token=$token" -o /dev/null || fail "JupyterLab does not serve /lab"
    "$PYTHON" - "$WORK/contents.json" <<'EOF' || fail "JupyterLab does not list notebooks/00_tour.ipynb"
import json, sys
names = [item["name"] for item in json.load(open(sys.argv[1]))["content"]]
print("make lab serves:", ", ".join(sorted(names)))
sys.exit(0 if "00_tour.ipynb" in names else 1)
EOF
    kill -- "-$LAB_PID" 2>/dev/null || true
    wait "$LAB_PID" 2>/dev/null || true
    LAB_PID=""
}

part_readme() {
    local clone="$WORK/fresh/gptviz"
    step "readme: fresh clone in a fresh directory"
    fresh_copy "$clone"
    grep -qE '^make lab( |$)' "$clone/README.md" || fail "README.md no longer shows 'make lab' as the setup command"
    grep -qE '^make test( |$)' "$clone/README.md" || fail "README.md no longer shows 'make test' as the test command"

    step "readme: make lab (setup, then JupyterLab on the notebooks)"
    check_make_lab "$clone"

    step "readme: make test"
    # The suite's slow install test would build the Binder environment again; this marks
    # the nested run so that test skips itself
    (cd "$clone" && GPTVIZ_INSIDE_INSTALL_TEST=1 make test) || fail "make test failed in the fresh clone"
}

main() {
    local part
    for part in $PARTS; do
        case "$part" in
            binder) part_binder ;;
            readme) part_readme ;;
            *) fail "unknown part '$part' in INSTALL_TEST_PARTS (use binder and/or readme)" ;;
        esac
    done
    step "passed"
}

# Sourcing the file defines the steps without running them
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    main
fi
