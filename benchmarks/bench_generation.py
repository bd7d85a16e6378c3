"""Benchmark greedy generation speed: gptviz with and without the KV cache, and Hugging Face.

Run from the repository root:

    python benchmarks/bench_generation.py            # both models, 128 new tokens, 3 repeats

Options: ``--new-tokens``, ``--repeats``, ``--models``, ``--threads``, ``--device``, ``--json``.

Two models are measured, each with the same weights in gptviz and in a Hugging Face
``GPT2LMHeadModel`` built in this process (no download):

- ``bundled``: the bundled Shakespeare checkpoint when it is installed, else random weights
  of its shape (4 layers, 4 heads, width 128, context 256, vocabulary 4096);
- ``gpt2-small-shape``: random weights in the GPT-2 small shape (12 layers, 12 heads,
  width 768, context 1024, vocabulary 50257).

Each repeat times the three generators back to back on the same prompt with greedy decoding
and checks that all three produce the same tokens. The table gives median tokens per second
and the median of the per-repeat ratios, so slow drift on a shared machine affects both
sides of each ratio alike. gptviz builds a full `StepRecord` per token (two (V,) probability
vectors, top candidates, entropy), which Hugging Face ``generate`` does not.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import GPT2Config, GPT2LMHeadModel

# Import gptviz from this checkout, whether or not (and however) it is installed
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gptviz  # noqa: E402
from gptviz import GPT, GPTConfig  # noqa: E402
from gptviz.generation import generate  # noqa: E402
from gptviz.tokenizer import Tokenizer  # noqa: E402

PROMPT = "ROMEO: But soft, what light through yonder window breaks?"


@dataclass
class Case:
    name: str
    model: GPT
    tokenizer: Tokenizer
    note: str


def hf_twin(config: GPTConfig, seed: int) -> GPT2LMHeadModel:
    """Build a random Hugging Face GPT-2 with the shape of ``config``."""
    torch.manual_seed(seed)
    hf_config = GPT2Config(
        vocab_size=config.vocab_size,
        n_positions=config.block_size,
        n_embd=config.n_embd,
        n_layer=config.n_layer,
        n_head=config.n_head,
        n_inner=config.hidden_width,
        activation_function="gelu_new",
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        layer_norm_epsilon=config.layer_norm_eps,
        bos_token_id=config.vocab_size - 1,
        eos_token_id=config.vocab_size - 1,
    )
    return GPT2LMHeadModel(hf_config).eval()


def copy_gptviz_to_hf(model: GPT, hf_model: GPT2LMHeadModel) -> None:
    """Copy gptviz weights into the Hugging Face model (Conv1D weights are (in, out))."""
    state = model.state_dict()
    hf_state: dict[str, torch.Tensor] = {
        "transformer.wte.weight": state["embed.token.weight"],
        "transformer.wpe.weight": state["embed.position.weight"],
        "transformer.ln_f.weight": state["norm_f.weight"],
        "transformer.ln_f.bias": state["norm_f.bias"],
        "lm_head.weight": state["embed.token.weight"],
    }
    pairs = {
        "ln_1": "norm1", "ln_2": "norm2", "attn.c_attn": "attn.qkv", "attn.c_proj": "attn.proj",
        "mlp.c_fc": "mlp.fc_in", "mlp.c_proj": "mlp.fc_out",
    }
    for layer in range(model.config.n_layer):
        for hf_name, name in pairs.items():
            weight = state[f"blocks.{layer}.{name}.weight"]
            is_conv1d = not hf_name.startswith("ln_")
            hf_state[f"transformer.h.{layer}.{hf_name}.weight"] = weight.t() if is_conv1d else weight
            hf_state[f"transformer.h.{layer}.{hf_name}.bias"] = state[f"blocks.{layer}.{name}.bias"]
    missing, unexpected = hf_model.load_state_dict(hf_state, strict=False)
    real_missing = [key for key in missing if not key.endswith(".attn.bias") and not key.endswith("masked_bias")]
    if real_missing or unexpected:
        raise RuntimeError(f"weight mapping incomplete: missing {real_missing}, unexpected {unexpected}")


def synthetic_tokenizer(vocab_size: int) -> Tokenizer:
    """Build a byte-level tokenizer of ``vocab_size`` ids: 256 bytes, two-byte tokens, then
    ``<|endoftext|>``, for shapes that have no real vocabulary available offline."""
    ranks = {bytes([i]): i for i in range(256)}
    pairs = (bytes([a, b]) for a in range(256) for b in range(256))
    for rank, token in zip(range(256, vocab_size - 1), pairs):
        ranks[token] = rank
    return Tokenizer.from_ranks(ranks, name=f"synthetic-{vocab_size}", special_tokens={"<|endoftext|>": vocab_size - 1})


def bundled_case(seed: int) -> Case:
    try:
        model, tokenizer = gptviz.load_pretrained("shakespeare")
        return Case("bundled", model.eval(), tokenizer, "bundled shakespeare checkpoint")
    except (FileNotFoundError, ValueError) as error:
        reason = str(error)
    torch.manual_seed(seed)
    config = GPTConfig(vocab_size=4096, block_size=256, n_layer=4, n_head=4, n_embd=128)
    note = f"bundled checkpoint not loadable ({reason}): random weights of its shape, synthetic vocabulary"
    return Case("bundled", GPT(config).eval(), synthetic_tokenizer(4096), note)


def gpt2_case(seed: int) -> Case:
    torch.manual_seed(seed)
    model = GPT(GPTConfig.gpt2()).eval()
    return Case("gpt2-small-shape", model, synthetic_tokenizer(50257), "random weights, synthetic vocabulary")


def time_call(fn) -> tuple[float, list[int]]:
    start = time.perf_counter()
    tokens = fn()
    return time.perf_counter() - start, tokens


def bench_case(case: Case, new_tokens: int, repeats: int, device: str) -> dict:
    model = case.model.to(device)
    if model.config.positional != "learned" or model.config.norm != "pre":
        raise ValueError(f"{case.name}: only pre-norm, learned-position models have a GPT-2 twin")
    hf_model = hf_twin(model.config, seed=0)
    copy_gptviz_to_hf(model, hf_model)
    hf_model = hf_model.to(device)
    hf_model.generation_config.eos_token_id = None
    hf_model.generation_config.pad_token_id = model.config.vocab_size - 1
    prompt_ids = case.tokenizer.encode(PROMPT)
    hf_input = torch.tensor([prompt_ids], device=device)
    with torch.no_grad():
        logit_diff = float((model(hf_input).logits - hf_model(hf_input).logits).abs().max())

    def run_gptviz(use_cache: bool, n_tokens: int) -> list[int]:
        result = generate(model, case.tokenizer, prompt_ids, n_tokens, temperature=0, use_cache=use_cache)
        return result.new_ids

    def run_hf(n_tokens: int) -> list[int]:
        with torch.no_grad():
            out = hf_model.generate(hf_input, max_new_tokens=n_tokens, min_new_tokens=n_tokens, do_sample=False)
        return out[0, len(prompt_ids) :].tolist()

    runners = {
        "gptviz_cache": lambda n: run_gptviz(True, n),
        "gptviz_no_cache": lambda n: run_gptviz(False, n),
        "hf_generate": run_hf,
    }
    # A short warm-up run of each generator, so one-time setup is not timed
    for fn in runners.values():
        fn(8)
    seconds: dict[str, list[float]] = {name: [] for name in runners}
    same_tokens = True
    for _ in range(repeats):
        outputs = {}
        for name, fn in runners.items():
            elapsed, outputs[name] = time_call(lambda: fn(new_tokens))
            seconds[name].append(elapsed)
        same_tokens &= outputs["gptviz_cache"] == outputs["gptviz_no_cache"] == outputs["hf_generate"]

    def median_ratio(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(seconds[a], seconds[b]))

    return {
        "model": case.name,
        "note": case.note,
        "tokens_per_s": {name: new_tokens / statistics.median(times) for name, times in seconds.items()},
        "cache_speedup": median_ratio("gptviz_no_cache", "gptviz_cache"),
        "hf_time_over_gptviz_cache": median_ratio("hf_generate", "gptviz_cache"),
        "same_tokens": same_tokens,
        "max_abs_logit_diff": logit_diff,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--new-tokens", type=int, default=128, help="tokens generated per run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per generator (median reported)")
    parser.add_argument("--models", nargs="+", default=["bundled", "gpt2-small-shape"], choices=["bundled", "gpt2-small-shape"])
    parser.add_argument("--device", default="cpu", help="torch device, for example cpu or cuda")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument(
        "--threads", type=int, default=1,
        help="torch intra-op threads (default 1: on a loaded 2-core machine more threads made "
        "one-token steps over 10x slower, waiting for descheduled workers)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    builders = {"bundled": bundled_case, "gpt2-small-shape": gpt2_case}
    results = []
    for name in args.models:
        results.append(bench_case(builders[name](seed=0), args.new_tokens, args.repeats, args.device))

    print(f"greedy decoding, {args.new_tokens} new tokens, {args.repeats} repeats, device {args.device}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    print("| model | gptviz + KV cache (tok/s) | gptviz, no cache (tok/s) | HF generate (tok/s) "
          "| cache speed-up | HF time / gptviz-cache time | same tokens | max logit diff vs HF |")
    print("|---|---|---|---|---|---|---|---|")
    for row in results:
        speed = row["tokens_per_s"]
        print(f"| {row['model']} | {speed['gptviz_cache']:.1f} | {speed['gptviz_no_cache']:.1f} | "
              f"{speed['hf_generate']:.1f} | {row['cache_speedup']:.2f} | {row['hf_time_over_gptviz_cache']:.2f} | "
              f"{row['same_tokens']} | {row['max_abs_logit_diff']:.1e} |")
    for row in results:
        print(f"- {row['model']}: {row['note']}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
