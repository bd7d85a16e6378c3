"""Head ablation: zero or mean-replace heads and compare per-token log-probabilities."""

from __future__ import annotations

import pytest
import torch

import gptviz
from gptviz.analysis.ablation import _ablation_hook, ablate_heads, head_ablation_effects


@pytest.fixture
def sequence(tiny_model):
    ids = torch.randint(0, 32, (10,), generator=torch.Generator().manual_seed(3))
    return gptviz.trace(tiny_model, ids)


def test_no_heads_changes_nothing(tiny_model, sequence):
    result = ablate_heads(tiny_model, sequence, [])

    assert torch.allclose(result.ablated, sequence.token_logprobs, atol=1e-5)
    assert torch.equal(result.delta, torch.zeros(len(sequence) - 1))


def test_ablation_baseline_ignores_recording(tiny_model):
    # A trace that recorded patterns ran the explicit attention path. Its last-bit differences
    # from the fused kernel must not show up as an effect of the heads.
    ids = torch.randint(0, 32, (12,), generator=torch.Generator().manual_seed(5))
    with_patterns = gptviz.trace(tiny_model, ids, names="blocks.*.attn.pattern")
    plain = gptviz.trace(tiny_model, ids, names=[])
    for trace in (with_patterns, plain):
        assert torch.equal(ablate_heads(tiny_model, trace, []).delta, torch.zeros(11))
    # The baseline depends on the tokens only, not on what the trace recorded
    result = ablate_heads(tiny_model, with_patterns, [(0, 0)])
    assert torch.equal(result.original, ablate_heads(tiny_model, plain, [(1, 1)]).original)


def test_zero_ablation_equals_manual_intervention(tiny_model, sequence):
    def zero_head(head_out, hook):
        head_out = head_out.clone()
        head_out[:, 1] = 0.0
        return head_out

    with torch.no_grad(), gptviz.intervene(tiny_model, {"blocks.0.attn.head_out": zero_head}):
        logits = tiny_model(sequence.ids.unsqueeze(0)).logits[0]
    expected = torch.log_softmax(logits.double(), -1)[:-1].gather(1, sequence.ids[1:, None]).squeeze(1)

    result = ablate_heads(tiny_model, sequence, [(0, 1)])

    assert result.heads == [(0, 1)]
    assert result.ablated.shape == (len(sequence) - 1,)
    assert torch.allclose(result.ablated.double(), expected, atol=1e-5)
    assert result.delta.abs().max() > 0


def test_ablation_keeps_earlier_predictions_causal(tiny_model, sequence):
    # Zeroing a head changes every position's output, but position 0 only sees itself, so
    # its prediction changes exactly as a one-token run with the same head zeroed does
    first_only = gptviz.trace(tiny_model, sequence.ids[:2])
    full = ablate_heads(tiny_model, sequence, [(1, 0)])
    short = ablate_heads(tiny_model, first_only, [(1, 0)])

    assert torch.allclose(full.ablated[0], short.ablated[0], atol=1e-5)


def test_mean_ablation_replaces_head_by_its_position_mean():
    head_out = torch.randn(1, 3, 5, 4, generator=torch.Generator().manual_seed(0))  # (B, H, T, D)
    replaced = _ablation_hook([1], "mean")(head_out, None)

    expected = head_out[:, 1].mean(dim=1, keepdim=True).expand(-1, 5, -1)
    assert torch.allclose(replaced[:, 1], expected)
    assert torch.equal(replaced[:, 0], head_out[:, 0])
    assert torch.equal(replaced[:, 2], head_out[:, 2])


def test_mean_differs_from_zero(tiny_model, sequence):
    zero = ablate_heads(tiny_model, sequence, [(0, 0)], method="zero")
    mean = ablate_heads(tiny_model, sequence, [(0, 0)], method="mean")

    assert not torch.allclose(zero.ablated, mean.ablated)


def test_effects_table_matches_single_ablations(tiny_model, sequence):
    effects = head_ablation_effects(tiny_model, sequence, positions=slice(4, None))

    assert effects.shape == (2, 2)
    for layer in range(2):
        for head in range(2):
            single = ablate_heads(tiny_model, sequence, [(layer, head)]).delta[4:].mean()
            assert effects[layer, head] == pytest.approx(float(single), abs=1e-5)


def test_ablation_restores_training_mode(tiny_model, sequence):
    tiny_model.train()
    ablate_heads(tiny_model, sequence, [(0, 0)])

    assert tiny_model.training


@pytest.mark.parametrize("heads", [[(2, 0)], [(0, 2)], [(-1, 0)], [(0,)], [("0", 1)], [(True, 0)]])
def test_invalid_head_pair_rejected(tiny_model, sequence, heads):
    with pytest.raises(ValueError, match=r"\(layer, head\) pair"):
        ablate_heads(tiny_model, sequence, heads)


def test_invalid_method_rejected(tiny_model, sequence):
    with pytest.raises(ValueError, match="method must be one of"):
        ablate_heads(tiny_model, sequence, [(0, 0)], method="resample")


def test_empty_position_selection_rejected(tiny_model, sequence):
    with pytest.raises(ValueError, match="selects none"):
        head_ablation_effects(tiny_model, sequence, positions=slice(50, None))


def test_non_slice_positions_rejected(tiny_model, sequence):
    with pytest.raises(TypeError, match="positions must be a slice"):
        head_ablation_effects(tiny_model, sequence, positions=[1, 2])
