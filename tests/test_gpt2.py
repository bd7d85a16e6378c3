"""GPT-2 import: a random Hugging Face GPT2LMHeadModel saved to disk gives the same logits in gptviz."""

from __future__ import annotations

import json
import socket

import pytest
import torch

from gptviz import GPT
from gptviz.gpt2 import config_from_hf, from_hf

transformers = pytest.importorskip("transformers")


def _hf_model(tmp_path, *, safe: bool, **overrides):
    config = transformers.GPT2Config(
        vocab_size=97, n_positions=32, n_embd=24, n_layer=2, n_head=3,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, **overrides,
    )
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(config).eval()
    # Random biases and layer-norm parameters, so a wrong mapping of any of them shows up
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    model.save_pretrained(tmp_path, safe_serialization=safe)
    return model


def _greedy(step, ids: torch.Tensor, n_new: int) -> list[int]:
    for _ in range(n_new):
        next_id = step(ids)[0, -1].argmax()
        ids = torch.cat([ids, next_id.view(1, 1)], dim=1)
    return ids[0].tolist()


@pytest.mark.parametrize("safe", [True, False], ids=["safetensors", "bin"])
def test_gpt2_logits_match_transformers(tmp_path, safe):
    hf = _hf_model(tmp_path, safe=safe)
    model = from_hf(tmp_path)
    ids = torch.randint(0, 97, (2, 20), generator=torch.Generator().manual_seed(3))

    with torch.no_grad():
        expected = hf(ids).logits
        actual = model(ids).logits
    assert isinstance(model, GPT)
    assert (actual - expected).abs().max().item() < 1e-4


def test_gpt2_greedy_continuation_matches(tmp_path):
    hf = _hf_model(tmp_path, safe=True)
    model = from_hf(tmp_path)
    prompt = torch.tensor([[5, 17, 42, 8]])

    with torch.no_grad():
        ours = _greedy(lambda x: model(x).logits, prompt, 12)
        theirs = _greedy(lambda x: hf(x).logits, prompt, 12)
    assert ours == theirs


def test_gpt2_config_translation(tmp_path):
    _hf_model(tmp_path, safe=True, n_inner=40)
    config = config_from_hf(json.loads((tmp_path / "config.json").read_text()))

    assert (config.vocab_size, config.block_size, config.n_layer, config.n_head, config.n_embd) == (97, 32, 2, 3, 24)
    assert config.hidden_width == 40
    assert config.positional == "learned"
    assert config.norm == "pre"
    assert config.tie_weights


def test_gpt2_unsupported_activation_rejected(tmp_path):
    _hf_model(tmp_path, safe=True, activation_function="relu")
    with pytest.raises(ValueError, match="activation_function 'relu'"):
        from_hf(tmp_path)


def test_gpt2_missing_weights_rejected(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2", "vocab_size": 10, "n_layer": 1,
                                                      "n_head": 1, "n_embd": 4}))
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        from_hf(tmp_path)


def test_load_gpt2_offline_error(tmp_path, monkeypatch):
    pytest.importorskip("huggingface_hub")
    from gptviz.gpt2 import load_gpt2

    def refuse(*args, **kwargs):
        raise OSError("network access is disabled in this test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    with pytest.raises(OSError, match="from_hf"):
        load_gpt2("gpt2", cache_dir=tmp_path)
