import json

import pytest
import torch

import gptviz
from gptviz import checkpoints
from tests.conftest import make_model


@pytest.mark.parametrize("tie", [True, False])
def test_round_trip_reproduces_logits_exactly(tmp_path, ids, tie):
    model = make_model(tie_weights=tie, positional="sinusoidal", norm="post")
    gptviz.save(model, tmp_path / "ckpt", metadata={"note": "test"})
    loaded = gptviz.load(tmp_path / "ckpt")
    assert loaded.config == model.config
    assert torch.equal(loaded(ids).logits, model(ids).logits)
    if tie:
        assert loaded.lm_head.weight is loaded.embed.token.weight
    payload = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    assert payload["metadata"] == {"note": "test"}


def test_truncated_weights_give_clear_error(tmp_path):
    gptviz.save(make_model(), tmp_path)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"cannot read .*model.safetensors.*truncated"):
        gptviz.load(tmp_path)


def test_truncated_config_gives_clear_error(tmp_path):
    gptviz.save(make_model(), tmp_path)
    config = tmp_path / "config.json"
    config.write_text(config.read_text()[:30])
    with pytest.raises(ValueError, match=r"config.json is not valid JSON"):
        gptviz.load(tmp_path)


def test_config_weights_mismatch_names_keys(tmp_path):
    gptviz.save(make_model(), tmp_path)
    payload = json.loads((tmp_path / "config.json").read_text())
    payload["config"]["n_layer"] = 3
    payload["config"]["n_embd"] = 32
    (tmp_path / "config.json").write_text(json.dumps(payload))
    with pytest.raises(ValueError, match=r"missing keys \['blocks.2.attn.proj.bias'.*shape mismatches \[.*embed.token.weight: file \(32, 16\) vs config \(32, 32\)"):
        gptviz.load(tmp_path)


def test_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no config.json"):
        gptviz.load(tmp_path)
    gptviz.save(make_model(), tmp_path)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="no model.safetensors"):
        gptviz.load(tmp_path)


def test_unknown_pretrained_name_lists_models():
    with pytest.raises(ValueError, match=r"unknown model 'shakespear'; available models: \['shakespeare', 'gpt2'\]"):
        gptviz.load_pretrained("shakespear")


def test_load_to_device(tmp_path):
    gptviz.save(make_model(), tmp_path)
    model = checkpoints.load(tmp_path, device="cpu")
    assert model.device.type == "cpu"
    assert not model.training
