"""The gptviz command line: every subcommand, its help, its exit status and its output.

Most tests call `gptviz.cli.main` in this process (fast); the tests marked slow run the
installed ``gptviz`` script and ``python -m gptviz`` as subprocesses.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torch

import gptviz
from gptviz import cli
from gptviz.generation import generate
from gptviz.tokenizer import Tokenizer

SUBCOMMANDS = ("trace", "generate", "train", "export", "lab")
REPO = Path(__file__).resolve().parent.parent


def byte_tokenizer() -> Tokenizer:
    return Tokenizer.from_ranks({bytes([i]): i for i in range(256)}, name="bytes",
                                special_tokens={"<|endoftext|>": 256})


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A seeded tiny model with a byte-level vocabulary, saved as a checkpoint directory."""
    torch.manual_seed(0)
    model = gptviz.GPT(gptviz.GPTConfig.tiny(vocab_size=257)).eval()
    return gptviz.save(model, tmp_path_factory.mktemp("model"), tokenizer=byte_tokenizer())


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


# Help and usage errors -------------------------------------------------------------------


def test_top_level_help_lists_subcommands(capsys):
    status, out, _ = run(capsys, "--help")
    assert status == 0
    for name in SUBCOMMANDS:
        assert re.search(rf"^\s+{name}\s", out, re.MULTILINE), name


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_subcommand_help(capsys, name):
    status, out, _ = run(capsys, name, "--help")
    assert status == 0
    assert out.startswith(f"usage: gptviz {name}")


def test_missing_subcommand_is_usage_error(capsys):
    status, _, err = run(capsys)
    assert status == 2
    assert err.startswith("usage: gptviz")


@pytest.mark.parametrize("argv", [
    ["trace"],
    ["trace", "text", "--bogus"],
    ["generate"],
    ["generate", "Hi", "--temperature", "-1"],
    ["generate", "Hi", "--temperature", "nan"],
    ["generate", "Hi", "--top-k", "0"],
    ["generate", "Hi", "--top-p", "1.5"],
    ["generate", "Hi", "--max-new-tokens", "-3"],
    ["generate", "Hi", "--seed", "abc"],
    ["export", "text"],
    ["export", "text", "-o", "x.html", "--layer", "-1"],
    ["train", "--steps", "3"],
    ["lab", "--port", "0"],
    ["frobnicate"],
], ids=lambda argv: " ".join(argv))
def test_bad_arguments_exit_2_with_usage(capsys, argv):
    status, out, err = run(capsys, *argv)
    command = argv[0] if argv[0] in SUBCOMMANDS else ""
    assert status == 2
    assert out == ""
    assert err.startswith(f"usage: gptviz {command}".rstrip())
    assert "error:" in err.splitlines()[-1]


# Failures: exit status 1 and one line on stderr ------------------------------------------


@pytest.mark.parametrize("command", [["trace", "hello"], ["generate", "hello"], ["export", "hello", "-o", "r.html"]],
                         ids=lambda argv: argv[0])
def test_unknown_model_lists_available(capsys, command):
    status, out, err = run(capsys, *command, "--model", "no-such-model")
    assert status == 1
    assert out == ""
    lines = error_lines(err)
    assert len(lines) == 1
    assert lines[0].startswith("gptviz: error: unknown model 'no-such-model'")
    for name in gptviz.available_models():
        assert name in lines[0]


def test_directory_without_checkpoint_fails(capsys, tmp_path):
    status, _, err = run(capsys, "trace", "hello", "--model", str(tmp_path))
    assert status == 1
    assert error_lines(err) == [f"gptviz: error: {tmp_path} is not a gptviz checkpoint directory: it has no config.json"]


def test_text_longer_than_context_fails_in_one_line(capsys, checkpoint):
    status, _, err = run(capsys, "trace", "a" * 40, "--model", str(checkpoint))
    assert status == 1
    lines = error_lines(err)
    assert len(lines) == 1
    assert "block_size=16" in lines[0]


def test_debug_shows_traceback(checkpoint):
    with pytest.raises(ValueError, match="block_size"):
        cli.main(["--debug", "trace", "a" * 40, "--model", str(checkpoint)])


# trace -----------------------------------------------------------------------------------


def test_trace_json_matches_library(capsys, checkpoint):
    text = "To be 🤖"
    status, out, err = run(capsys, "trace", text, "--model", str(checkpoint), "--json")
    payload = json.loads(out)
    model, tokenizer = gptviz.load(checkpoint), Tokenizer.from_directory(checkpoint)
    expected = gptviz.trace(model, tokenizer, text, prepend_bos=True)
    rows = payload["tokens"]

    assert status == 0
    assert err == ""
    assert payload["prepend_bos"] is True
    assert [row["id"] for row in rows] == tokenizer.encode(text)
    assert [row["token"] for row in rows] == expected.tokens[1:]
    assert [row["logprob"] for row in rows] == pytest.approx(expected.token_logprobs.tolist(), abs=1e-6)
    assert rows[-1]["running_sum"] == pytest.approx(payload["sequence_logprob"], abs=1e-9)
    assert payload["sequence_logprob"] == pytest.approx(expected.sequence_logprob, abs=1e-6)
    assert payload["perplexity"] == pytest.approx(math.exp(-payload["sequence_logprob"] / len(rows)))


def test_trace_running_sum_is_cumulative(capsys, checkpoint):
    _, out, _ = run(capsys, "trace", "abcabc", "--model", str(checkpoint), "--json")
    rows = json.loads(out)["tokens"]
    running = 0.0
    for row in rows:
        running += row["logprob"]
        assert row["running_sum"] == pytest.approx(running)


def test_trace_without_bos_leaves_first_token_unscored(capsys, checkpoint):
    _, out, _ = run(capsys, "trace", "abc", "--model", str(checkpoint), "--json", "--no-bos")
    payload = json.loads(out)
    assert payload["prepend_bos"] is False
    assert payload["tokens"][0]["logprob"] is None
    assert payload["scored_tokens"] == 2
    assert [row["position"] for row in payload["tokens"]] == [0, 1, 2]


def test_trace_table_has_one_row_per_token(capsys, checkpoint):
    status, out, _ = run(capsys, "trace", "a\nb c", "--model", str(checkpoint))
    lines = out.splitlines()
    assert status == 0
    assert lines[0].split() == ["pos", "token", "log", "p", "running", "sum"]
    assert [line.split()[1] for line in lines[1:-1]] == ['"a"', '"\\n"', '"b"', '"', '"c"']
    assert lines[-1].startswith("log p(text) = ")
    assert "perplexity" in lines[-1]
    assert "bits per token" in lines[-1]


@pytest.mark.parametrize("bos", [[], ["--no-bos"]], ids=["bos", "no-bos"])
def test_trace_empty_text_fails(capsys, checkpoint, bos):
    status, _, err = run(capsys, "trace", "", "--model", str(checkpoint), *bos)
    assert status == 1
    assert error_lines(err) == ["gptviz: error: TEXT is empty, so there is no token to score; pass some text"]


# generate --------------------------------------------------------------------------------


def test_generate_json_matches_library(capsys, checkpoint):
    argv = ["generate", "Hi", "--model", str(checkpoint), "-n", "6", "--temperature", "0.8",
            "--top-k", "20", "--top-p", "0.9", "--seed", "3", "--json"]
    status, out, _ = run(capsys, *argv)
    payload = json.loads(out)
    model, tokenizer = gptviz.load(checkpoint), Tokenizer.from_directory(checkpoint)
    expected = generate(model, tokenizer, "Hi", 6, temperature=0.8, top_k=20, top_p=0.9, seed=3)

    assert status == 0
    assert payload["new_ids"] == expected.new_ids
    assert payload["text"] == expected.text
    assert payload["seed"] == 3
    assert payload["logprob"] == pytest.approx(expected.logprob_raw, abs=1e-5)


def test_generate_same_seed_same_text(capsys, checkpoint):
    argv = ["generate", "ab", "--model", str(checkpoint), "-n", "8", "--seed", "11"]
    first = run(capsys, *argv)
    second = run(capsys, *argv)
    assert first[0] == 0
    assert first[1] == second[1]
    assert first[1].startswith("ab")


def test_generate_greedy_is_argmax(capsys, checkpoint):
    _, out, _ = run(capsys, "generate", "ab", "--model", str(checkpoint), "-n", "1", "--temperature", "0", "--json")
    model, tokenizer = gptviz.load(checkpoint), Tokenizer.from_directory(checkpoint)
    logits = model(torch.tensor([tokenizer.encode("ab")])).logits[0, -1]
    assert json.loads(out)["new_ids"] == [int(logits.argmax())]


# export ----------------------------------------------------------------------------------


def test_export_writes_offline_report(capsys, checkpoint, tmp_path):
    target = tmp_path / "reports" / "report.html"
    status, out, _ = run(capsys, "export", "To <b>be</b>", "--model", str(checkpoint), "-o", str(target),
                         "--layer", "1", "--head", "1")
    page = target.read_text(encoding="utf-8")

    assert status == 0
    assert out.strip() == f"wrote {target}"
    assert '<script src="http' not in page
    assert re.search(r"<script[^>]*\ssrc\s*=", page) is None
    assert re.search(r"<link[^>]*href\s*=\s*[\"']?https?:", page) is None
    assert "Plotly.newPlot" in page
    assert "<b>be</b>" not in page.split("</title>", 1)[1].split("<script", 1)[0]
    assert "Layer 1, head 1" in page


def test_export_rejects_layer_out_of_range(capsys, checkpoint, tmp_path):
    status, _, err = run(capsys, "export", "abc", "--model", str(checkpoint), "-o", str(tmp_path / "r.html"),
                         "--layer", "5")
    assert status == 1
    assert error_lines(err) == ["gptviz: error: --layer 5 is out of range; this model has layers 0..1"]
    assert not (tmp_path / "r.html").exists()


# train -----------------------------------------------------------------------------------


def test_train_writes_a_model_trace_can_load(capsys, tmp_path):
    out_dir = tmp_path / "trained"
    status = cli.main(["train", "--corpus", "induction", "--vocab-size", "257", "--n-layer", "1", "--n-head", "2",
                       "--n-embd", "16", "--block-size", "32", "--steps", "4", "--batch-size", "4",
                       "--warmup-steps", "1", "--eval-every", "2", "--eval-batches", "1", "--sample-tokens", "0",
                       "--out", str(out_dir)])
    capsys.readouterr()

    assert status == 0
    assert (out_dir / "provenance.json").is_file()
    status, out, _ = run(capsys, "trace", "abc", "--model", str(out_dir), "--json")
    assert status == 0
    assert json.loads(out)["scored_tokens"] >= 1


# lab -------------------------------------------------------------------------------------


def test_lab_rejects_missing_notebook_dir(capsys, tmp_path):
    status, _, err = run(capsys, "lab", "--notebook-dir", str(tmp_path / "absent"))
    assert status == 1
    assert error_lines(err) == [f"gptviz: error: --notebook-dir {tmp_path / 'absent'} is not a directory"]


def test_find_notebooks_prefers_working_directory(tmp_path, monkeypatch):
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path)
    assert cli.find_notebooks(None) == tmp_path / "notebooks"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_lab_serves_the_notebook_directory(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "hello.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    port, token = free_port(), "gptviz-cli-test"
    command = [sys.executable, "-m", "gptviz", "lab", "--notebook-dir", str(notebooks), "--port", str(port),
               "--no-browser", "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
                              cwd=tmp_path, start_new_session=True)
    try:
        listing = _wait_for_json(f"http://127.0.0.1:{port}/api/contents?token={token}", server, timeout=120)
        # gptviz lab has become the server, so stopping this process stops JupyterLab
        server.terminate()
        server.wait(timeout=60)
        stopped = _port_is_closed(port)
    finally:
        # Whatever is left in the server's session (a leaked JupyterLab included) goes too
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
    assert [item["name"] for item in listing["content"]] == ["hello.ipynb"]
    assert stopped, f"JupyterLab still listens on port {port} after gptviz lab was terminated"


def _port_is_closed(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _wait_for_json(url: str, server: subprocess.Popen, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"gptviz lab exited with status {server.returncode}: {server.stderr.read()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer {url} within {timeout} s")


# The real entry points, as subprocesses --------------------------------------------------


def script_entry_point() -> list[str]:
    """The installed ``gptviz`` script beside this interpreter, else ``python -m gptviz``."""
    script = shutil.which("gptviz", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "gptviz"]


def run_entry(entry: list[str], *argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([*entry, *argv], capture_output=True, text=True, check=False, env=env, cwd=REPO)


@pytest.mark.slow
@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_script_help(name):
    result = run_entry(script_entry_point(), name, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: gptviz {name}")


@pytest.mark.slow
def test_script_exit_statuses(checkpoint):
    entry = script_entry_point()
    ok = run_entry(entry, "trace", "ab", "--model", str(checkpoint))
    usage = run_entry(entry, "generate", "ab", "--top-p", "2")
    failure = run_entry(entry, "trace", "ab", "--model", "no-such-model")

    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[-1].startswith("log p(text) = ")
    assert usage.returncode == 2
    assert usage.stderr.startswith("usage: gptviz generate")
    assert failure.returncode == 1
    assert error_lines(failure.stderr) == [
        "gptviz: error: unknown model 'no-such-model'; available models: "
        f"{', '.join(gptviz.available_models())}; or pass the path of a checkpoint directory"
    ]


@pytest.mark.slow
def test_module_entry_point():
    entry = [sys.executable, "-m", "gptviz"]
    helped = run_entry(entry, "--help")
    failure = run_entry(entry, "generate", "ab", "--model", "no-such-model")

    assert helped.returncode == 0
    assert helped.stdout.startswith("usage: gptviz")
    assert failure.returncode == 1
    assert len(error_lines(failure.stderr)) == 1
