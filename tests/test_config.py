import pytest

from gptviz import GPTConfig


def test_tiny_preset_shape():
    config = GPTConfig.tiny()
    assert (config.n_layer, config.n_head, config.n_embd, config.vocab_size) == (2, 2, 16, 32)
    assert config.head_size == 8
    assert config.hidden_width == 64


def test_width_not_divisible_by_heads_names_values():
    with pytest.raises(ValueError, match=r"n_embd=30 is not divisible by n_head=4"):
        GPTConfig(n_embd=30, n_head=4)


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"positional": "rotary"}, "positional must be one of"),
        ({"norm": "middle"}, "norm must be one of"),
        ({"dropout": 1.0}, "dropout must be in"),
        ({"n_layer": 0}, "n_layer must be a positive int"),
        ({"vocab_size": 3.5}, "vocab_size must be a positive int"),
        ({"mlp_width": -1}, "mlp_width must be a positive int"),
        ({"positional": "sinusoidal", "n_embd": 9, "n_head": 3}, "n_embd must be even"),
    ],
)
def test_invalid_config_rejected(changes, fragment):
    with pytest.raises(ValueError, match=fragment):
        GPTConfig.tiny(**changes)


def test_config_is_frozen():
    config = GPTConfig.tiny()
    with pytest.raises(AttributeError):
        config.n_layer = 3  # type: ignore[misc]


def test_dict_round_trip_and_unknown_key():
    config = GPTConfig.small(norm="post", positional="sinusoidal")
    assert GPTConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match=r"unknown keys \['n_layers'\]"):
        GPTConfig.from_dict({**config.to_dict(), "n_layers": 3})
