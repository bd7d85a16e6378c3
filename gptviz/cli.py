"""The ``gptviz`` command line: trace, generate, train, export and lab.

Run ``gptviz --help`` or ``python -m gptviz --help``. Every subcommand has ``--help``.
Exit status: 0 on success, 2 on a usage error (argparse prints the usage line), 1 on a
failure, with one ``gptviz: error: ...`` line on stderr. ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gptviz.model import GPT
    from gptviz.tokenizer import Tokenizer
    from gptviz.tracing import Trace

logger = logging.getLogger(__name__)

PROG = "gptviz"
DEFAULT_MODEL = "shakespeare"


class CommandError(Exception):
    """A failure the command reports as one line on stderr, with exit status 1."""


# Argument types: a value out of range is a usage error (exit status 2) ----------------------


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {value}")
    return value


def _temperature(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0 (0 is greedy decoding), got {text}")
    return value


def _top_p(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


# The parser ------------------------------------------------------------------------------


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    from gptviz.checkpoints import available_models

    parser.add_argument(
        "--model", default=DEFAULT_MODEL, metavar="NAME_OR_DIR",
        help=f"a model name ({', '.join(available_models())}; default {DEFAULT_MODEL}) "
             "or a checkpoint directory written by gptviz.save() or gptviz train",
    )


def _add_bos_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-bos", dest="prepend_bos", action="store_false",
        help="do not put <|endoftext|> in front of the text; the first token then gets no log-probability",
    )


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """Build the top-level parser; returns it and the parser of each subcommand by name."""
    from gptviz import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="See inside GPT-style language models: per-token log-probabilities, "
                    "generation, training, offline HTML reports and the teaching notebooks.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress on stderr")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on a failure")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    sub: dict[str, argparse.ArgumentParser] = {}

    sub["trace"] = commands.add_parser(
        "trace", help="print the per-token log-probability ledger of a text",
        description="Score TEXT with the model in one forward pass and print, for every token, "
                    "log p(token | tokens before it) in nats and the running sum (the chain rule).",
    )
    sub["trace"].add_argument("text", metavar="TEXT", help="the text to score")
    _add_model_options(sub["trace"])
    _add_bos_option(sub["trace"])
    sub["trace"].add_argument("--json", action="store_true", help="print one JSON object instead of a table")

    sub["generate"] = commands.add_parser(
        "generate", help="continue a prompt by sampling one token at a time",
        description="Generate text after PROMPT. Sampling divides the logits by the temperature, "
                    "then keeps the top-k tokens, then the smallest set whose probability reaches top-p.",
    )
    sub["generate"].add_argument("prompt", metavar="PROMPT", help="the text to continue ('' starts from <|endoftext|>)")
    _add_model_options(sub["generate"])
    sub["generate"].add_argument("-n", "--max-new-tokens", type=_non_negative_int, default=50,
                                 help="number of tokens to generate (default 50)")
    sub["generate"].add_argument("--temperature", type=_temperature, default=1.0,
                                 help="softmax temperature >= 0; 0 is greedy decoding (default 1.0)")
    sub["generate"].add_argument("--top-k", type=_positive_int, default=None,
                                 help="keep only the k most probable tokens (default: no limit)")
    sub["generate"].add_argument("--top-p", type=_top_p, default=None,
                                 help="keep the most probable tokens whose total probability reaches p, in (0, 1]")
    sub["generate"].add_argument("--seed", type=int, default=None,
                                 help="random seed; the same seed and options give the same text (default: random)")
    sub["generate"].add_argument("--json", action="store_true",
                                 help="print one JSON object with the text, token ids, log-probability and seed")

    # Options of `train` belong to the training command line, which parses them itself
    sub["train"] = commands.add_parser(
        "train", add_help=False, help="train a model (the options of python -m gptviz.training)",
        description="Train a GPT by maximum likelihood; run 'gptviz train --help' for its options.",
    )

    sub["export"] = commands.add_parser(
        "export", help="write a standalone offline HTML report of a text",
        description="Write an HTML report with the per-token ledger and the attention views of TEXT. "
                    "plotly.js is inlined, so the file opens without a network connection.",
    )
    sub["export"].add_argument("text", metavar="TEXT", help="the text to report on")
    sub["export"].add_argument("-o", "--output", type=Path, required=True, metavar="FILE",
                               help="path of the HTML file to write; missing parent directories are created")
    _add_model_options(sub["export"])
    _add_bos_option(sub["export"])
    sub["export"].add_argument("--layer", type=_non_negative_int, default=0,
                               help="block of the full-size attention views (default 0)")
    sub["export"].add_argument("--head", type=_non_negative_int, default=0,
                               help="head of the full-size attention views (default 0)")

    sub["lab"] = commands.add_parser(
        "lab", help="open JupyterLab on the notebooks",
        description="Start JupyterLab on the gptviz notebooks. Options not listed here are passed "
                    "to 'jupyter lab' (for example --ServerApp.token=...).",
    )
    sub["lab"].add_argument("--notebook-dir", type=Path, default=None,
                            help="directory to open (default: ./notebooks, else the notebooks of this checkout)")
    sub["lab"].add_argument("--port", type=_positive_int, default=None, help="port to listen on (default: Jupyter's)")
    sub["lab"].add_argument("--no-browser", action="store_true", help="do not open a web browser")
    return parser, sub


# Shared steps ------------------------------------------------------------------------------


def load_model(spec: str) -> tuple[GPT, Tokenizer]:
    """Load a named model or a checkpoint directory.

    Raises:
        CommandError: the name is unknown (the message lists the available models), or the
            directory is not a gptviz checkpoint.
    """
    from gptviz import checkpoints
    from gptviz.tokenizer import Tokenizer

    path = Path(spec)
    if path.is_dir():
        if not (path / checkpoints.CONFIG_FILE).is_file():
            raise CommandError(f"{spec} is not a gptviz checkpoint directory: it has no {checkpoints.CONFIG_FILE}")
        return checkpoints.load(path), Tokenizer.from_directory(path)
    available = checkpoints.available_models()
    if spec not in available:
        raise CommandError(
            f"unknown model {spec!r}; available models: {', '.join(available)}; "
            "or pass the path of a checkpoint directory"
        )
    return checkpoints.load_pretrained(spec)


def _trace_text(args: argparse.Namespace) -> Trace:
    import gptviz

    if args.text == "":
        raise CommandError("TEXT is empty, so there is no token to score; pass some text")
    model, tokenizer = load_model(args.model)
    return gptviz.trace(model, tokenizer, args.text, prepend_bos=args.prepend_bos)


def ledger_rows(trace: Trace) -> list[dict[str, Any]]:
    """Build one ledger row per token of the text: position, id, token, log-probability, running sum.

    The log-probability of a token is log p(token | tokens before it) in nats. A token with
    no context (the first token when no ``<|endoftext|>`` was put in front) has ``None``.
    """
    logprobs = [None, *trace.token_logprobs.double().tolist()]
    rows, running = [], 0.0
    for position, (token_id, token, logprob) in enumerate(zip(trace.ids.tolist(), trace.tokens, logprobs)):
        if position == 0 and trace.has_bos:
            continue
        if logprob is not None:
            running += logprob
        rows.append({
            "position": position, "id": token_id, "token": token, "logprob": logprob,
            "running_sum": running if logprob is not None else None,
        })
    return rows


def _ledger_summary(trace: Trace) -> dict[str, Any]:
    return {
        "sequence_logprob": trace.sequence_logprob,
        "perplexity": trace.perplexity,
        "bits_per_token": trace.bits_per_token,
        "scored_tokens": len(trace) - 1,
    }


def _quote_token(token: str) -> str:
    """Quote a token for a terminal, with newlines, tabs and carriage returns escaped."""
    return '"' + token.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r") + '"'


def _format_ledger(rows: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    shown = [_quote_token(row["token"]) for row in rows]
    width = max([len("token"), *map(len, shown)])
    lines = [f"{'pos':>4}  {'token':<{width}}  {'log p':>9}  {'running sum':>11}"]
    for row, token in zip(rows, shown):
        if row["logprob"] is None:
            lines.append(f"{row['position']:>4}  {token:<{width}}  {'(context)':>9}  {'':>11}")
        else:
            lines.append(f"{row['position']:>4}  {token:<{width}}  {row['logprob']:>9.4f}  {row['running_sum']:>11.4f}")
    lines.append(
        f"log p(text) = {summary['sequence_logprob']:.4f} nats over {summary['scored_tokens']} tokens; "
        f"perplexity {summary['perplexity']:.3f}; {summary['bits_per_token']:.3f} bits per token"
    )
    return "\n".join(lines)


# Subcommands -------------------------------------------------------------------------------


def _run_trace(args: argparse.Namespace) -> int:
    trace = _trace_text(args)
    rows, summary = ledger_rows(trace), _ledger_summary(trace)
    if args.json:
        payload = {"model": args.model, "text": args.text, "prepend_bos": trace.has_bos, "tokens": rows, **summary}
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(_format_ledger(rows, summary) + "\n")
    return 0


def _run_generate(args: argparse.Namespace) -> int:
    from gptviz.generation import generate

    model, tokenizer = load_model(args.model)
    result = generate(
        model, tokenizer, args.prompt, args.max_new_tokens, temperature=args.temperature,
        top_k=args.top_k, top_p=args.top_p, seed=args.seed, progress=args.verbose,
    )
    if args.json:
        payload = {
            "model": args.model, "prompt": args.prompt, "text": result.text, "new_ids": result.new_ids,
            "logprob": result.logprob_raw, "seed": result.seed, "temperature": args.temperature,
            "top_k": args.top_k, "top_p": args.top_p,
        }
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(args.prompt + result.text + "\n")
    logger.info("seed %d, log p of the new tokens %.4f nats", result.seed, result.logprob_raw)
    return 0


def _run_train(extra: list[str]) -> int:
    from gptviz import training

    # Parse once here so that help and usage errors name `gptviz train`
    parser = training.build_parser()
    parser.prog = f"{PROG} train"
    parser.parse_args(extra)
    return training.main(extra)


def _report_figures(trace: Trace, layer: int, head: int) -> list[Any]:
    from gptviz import viz

    if layer >= trace.n_layer:
        raise CommandError(f"--layer {layer} is out of range; this model has layers 0..{trace.n_layer - 1}")
    n_head = trace[f"blocks.{layer}.attn.pattern"].shape[0]
    if head >= n_head:
        raise CommandError(f"--head {head} is out of range; this model has heads 0..{n_head - 1}")
    if len(trace) < 2:
        raise CommandError("the text has one token and nothing to score; leave out --no-bos to score it")
    return [
        viz.chain_rule_ledger(trace, title="Per-token log-probabilities (the chain rule)"),
        viz.token_probability_text(trace),
        viz.attention_grid(trace),
        viz.attention_heatmap(trace, layer=layer, head=head),
        viz.attention_lines(trace, layer=layer, head=head),
    ]


def _run_export(args: argparse.Namespace) -> int:
    from gptviz import viz

    trace = _trace_text(args)
    title = f"gptviz report: {args.text[:60]}"
    viz.to_html(_report_figures(trace, args.layer, args.head), args.output, title=title)
    sys.stdout.write(f"wrote {args.output}\n")
    return 0


def find_notebooks(notebook_dir: Path | None) -> Path:
    """Return the directory ``gptviz lab`` opens: the given one, ./notebooks, or this checkout's."""
    if notebook_dir is not None:
        if not notebook_dir.is_dir():
            raise CommandError(f"--notebook-dir {notebook_dir} is not a directory")
        return notebook_dir
    checkout = Path(__file__).resolve().parent.parent / "notebooks"
    for candidate in (Path.cwd() / "notebooks", checkout):
        if candidate.is_dir():
            return candidate
    raise CommandError(
        "no notebooks directory found in the current directory or next to the gptviz package; "
        "run from a gptviz checkout or pass --notebook-dir"
    )


def _run_lab(args: argparse.Namespace, extra: list[str]) -> int:
    if importlib.util.find_spec("jupyterlab") is None:
        raise CommandError("JupyterLab is not installed; install it with: pip install 'gptviz[notebook]'")
    command = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={find_notebooks(args.notebook_dir)}"]
    if args.port is not None:
        command.append(f"--port={args.port}")
    if args.no_browser:
        command.append("--no-browser")
    command.extend(extra)
    logger.info("running %s", " ".join(command))
    if os.name == "posix":
        # Become JupyterLab, so that signals (Ctrl-C, SIGTERM from a process manager) reach
        # the server itself and no orphaned server outlives this command
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, command)
    status = subprocess.run(command, check=False).returncode
    if status != 0:
        raise CommandError(f"jupyter lab exited with status {status}")
    return 0


# Entry point -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the ``gptviz`` command line and return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser, sub = build_parser()
    debug = "--debug" in argv
    try:
        args, extra = parser.parse_known_args(argv)
        if args.command not in ("train", "lab") and extra:
            sub[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
        if args.command != "train":
            # The training command line configures logging itself
            logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                                format="%(name)s: %(message)s", stream=sys.stderr)
        handlers: dict[str, Callable[[], int]] = {
            "trace": lambda: _run_trace(args),
            "generate": lambda: _run_generate(args),
            "train": lambda: _run_train(extra),
            "export": lambda: _run_export(args),
            "lab": lambda: _run_lab(args, extra),
        }
        return handlers[args.command]()
    except SystemExit as exit_request:
        # argparse exits with 0 after --help and 2 after a usage error
        code = exit_request.code
        if code is None:
            return 0
        return code if isinstance(code, int) else 1
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG}: interrupted\n")
        return 130
    except Exception as error:  # noqa: BLE001 - every failure becomes one line and status 1
        if debug:
            raise
        sys.stderr.write(f"{PROG}: error: {_one_line(error)}\n")
        return 1


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if isinstance(error, CommandError) else f"{text} ({type(error).__name__})"
