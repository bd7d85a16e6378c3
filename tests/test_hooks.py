import gc
import resource

import pytest
import torch

import gptviz
from gptviz import hook_names, intervene, record
from tests.conftest import make_model

PER_BLOCK = [
    "resid_pre", "ln1", "attn.q", "attn.k", "attn.v", "attn.scores", "attn.pattern",
    "attn.head_out", "attn.out", "resid_mid", "ln2", "mlp.hidden", "mlp.out", "resid_post",
]
PINNED_TWO_LAYER_NAMES = (
    ["embed.tok", "embed.pos"]
    + [f"blocks.0.{name}" for name in PER_BLOCK]
    + [f"blocks.1.{name}" for name in PER_BLOCK]
    + ["ln_f", "logits"]
)


def test_hook_names_are_pinned(any_tiny_model):
    assert hook_names(any_tiny_model) == PINNED_TWO_LAYER_NAMES
    assert any_tiny_model.hook_names == PINNED_TWO_LAYER_NAMES


def test_recording_leaves_logits_unchanged(any_tiny_model, ids):
    plain = any_tiny_model(ids).logits
    with record(any_tiny_model) as rec:
        recorded = any_tiny_model(ids).logits
    assert (recorded - plain).abs().max().item() < 1e-5
    assert torch.equal(rec["logits"], recorded)
    assert len(rec) == len(PINNED_TWO_LAYER_NAMES)


def test_recorded_shapes_match_table(tiny_model, ids):
    B, T, C, H, D, F, V = 2, 12, 16, 2, 8, 64, 32
    with record(tiny_model) as rec:
        tiny_model(ids)
    expected = {
        "embed.tok": (B, T, C), "embed.pos": (T, C), "blocks.0.resid_pre": (B, T, C),
        "blocks.0.ln1": (B, T, C), "blocks.0.attn.q": (B, H, T, D), "blocks.0.attn.k": (B, H, T, D),
        "blocks.0.attn.v": (B, H, T, D), "blocks.0.attn.scores": (B, H, T, T),
        "blocks.0.attn.pattern": (B, H, T, T), "blocks.0.attn.head_out": (B, H, T, D),
        "blocks.0.attn.out": (B, T, C), "blocks.0.resid_mid": (B, T, C), "blocks.0.ln2": (B, T, C),
        "blocks.0.mlp.hidden": (B, T, F), "blocks.0.mlp.out": (B, T, C),
        "blocks.0.resid_post": (B, T, C), "ln_f": (B, T, C), "logits": (B, T, V),
    }
    for name, shape in expected.items():
        assert tuple(rec[name].shape) == shape, name


def test_patterns_are_causal_and_normalized(any_tiny_model, ids):
    with record(any_tiny_model, "blocks.*.attn.pattern") as rec:
        any_tiny_model(ids)
    T = ids.shape[1]
    above_diagonal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    for layer in range(2):
        pattern = rec[f"blocks.{layer}.attn.pattern"]
        assert torch.allclose(pattern.sum(-1), torch.ones(2, 2, T), atol=1e-6)
        assert (pattern[..., above_diagonal] == 0).all()
        scores = rec.calls(f"blocks.{layer}.attn.pattern")[0]
        assert scores.shape == (2, 2, T, T)


def test_scores_have_minus_inf_above_diagonal(tiny_model, ids):
    with record(tiny_model, "blocks.0.attn.scores") as rec:
        tiny_model(ids)
    scores = rec["blocks.0.attn.scores"]
    T = ids.shape[1]
    above = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    assert torch.isneginf(scores[..., above]).all()
    assert torch.isfinite(scores[..., ~above]).all()


def test_residual_stream_chains_through_blocks(any_tiny_model, ids):
    with record(any_tiny_model) as rec:
        any_tiny_model(ids)
    assert torch.equal(rec["blocks.0.resid_post"], rec["blocks.1.resid_pre"])
    assert torch.allclose(rec["embed.tok"] + rec["embed.pos"], rec["blocks.0.resid_pre"], atol=1e-6)


def test_pre_norm_sublayers_add_to_the_stream(tiny_model, ids):
    with record(tiny_model) as rec:
        tiny_model(ids)
    for layer in range(2):
        b = f"blocks.{layer}"
        assert torch.allclose(rec[f"{b}.resid_pre"] + rec[f"{b}.attn.out"], rec[f"{b}.resid_mid"], atol=1e-6)
        assert torch.allclose(rec[f"{b}.resid_mid"] + rec[f"{b}.mlp.out"], rec[f"{b}.resid_post"], atol=1e-6)


def test_head_out_is_pattern_times_values(tiny_model, ids):
    with record(tiny_model, ["blocks.1.attn.pattern", "blocks.1.attn.v", "blocks.1.attn.head_out"]) as rec:
        tiny_model(ids)
    expected = rec["blocks.1.attn.pattern"] @ rec["blocks.1.attn.v"]
    assert torch.allclose(expected, rec["blocks.1.attn.head_out"], atol=1e-6)


def test_fused_path_records_without_patterns(tiny_model, ids):
    # q, k, v and head_out exist on the fused path as well
    with record(tiny_model, ["blocks.0.attn.head_out", "blocks.0.attn.q"]) as rec:
        tiny_model(ids)
    assert rec["blocks.0.attn.head_out"].shape == (2, 2, 12, 8)
    assert not tiny_model.blocks[0].attn.pattern.is_active


def test_selectors_glob_list_and_predicate(tiny_model):
    with record(tiny_model, "blocks.*.resid_post") as rec:
        pass
    assert rec.names == ["blocks.0.resid_post", "blocks.1.resid_post"]
    with record(tiny_model, lambda name: name.endswith("mlp.out")) as rec:
        pass
    assert rec.names == ["blocks.0.mlp.out", "blocks.1.mlp.out"]
    with record(tiny_model, ["logits", "embed.tok"]) as rec:
        pass
    assert rec.names == ["embed.tok", "logits"]


def test_unknown_hook_name_suggests_closest(tiny_model):
    with pytest.raises(ValueError, match=r"unknown hook 'blocks.0.attn.patern'; did you mean 'blocks.0.attn.pattern'"):
        with record(tiny_model, "blocks.0.attn.patern"):
            pass
    with pytest.raises(ValueError, match="unknown hook 'blocks.9.*'"):
        with record(tiny_model, "blocks.9.*"):
            pass
    with pytest.raises(TypeError, match="each name must be a string"):
        with record(tiny_model, [3]):
            pass


def _gptviz_hook_count(model) -> int:
    return sum(len(m._forward_hooks) for m in model.modules())


def test_hook_error_keeps_only_user_hook(tiny_model, ids):
    calls = []
    user_handle = tiny_model.blocks[0].attn.pattern.register_forward_hook(lambda m, i, o: calls.append(o.shape))

    def explode(tensor, hook):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        with record(tiny_model), intervene(tiny_model, {"blocks.1.mlp.hidden": explode}):
            tiny_model(ids)
    assert _gptviz_hook_count(tiny_model) == 1  # only the user's hook is left
    calls.clear()
    tiny_model(ids)
    assert calls == [torch.Size([2, 2, 12, 12])]
    user_handle.remove()
    assert _gptviz_hook_count(tiny_model) == 0
    assert not tiny_model.blocks[0].attn.pattern.is_active


def test_intervention_zeroing_a_head_changes_logits(tiny_model, ids):
    def zero_head(head_out, hook):
        head_out = head_out.clone()
        head_out[:, 1] = 0
        return head_out

    base = tiny_model(ids).logits
    with intervene(tiny_model, {"blocks.0.attn.head_out": zero_head}), record(tiny_model, "blocks.0.attn.head_out") as rec:
        ablated = tiny_model(ids).logits
    assert not torch.allclose(base, ablated)
    assert (rec["blocks.0.attn.head_out"][:, 1] == 0).all()
    assert torch.allclose(tiny_model(ids).logits, base)


def test_intervention_on_pattern_uses_explicit_path(tiny_model, ids):
    def uniform(pattern, hook):
        allowed = (pattern > 0).float()
        return allowed / allowed.sum(-1, keepdim=True)

    with intervene(tiny_model, {"blocks.*.attn.pattern": uniform}), record(tiny_model, "blocks.0.attn.pattern") as rec:
        tiny_model(ids)
    row = rec["blocks.0.attn.pattern"][0, 0, 3]
    assert torch.allclose(row[:4], torch.full((4,), 0.25))


def test_intervention_shape_mismatch_is_explained(tiny_model, ids):
    with pytest.raises(ValueError, match=r"returned shape \(2,\), expected \(2, 12, 16\)"):
        with intervene(tiny_model, {"blocks.0.mlp.out": lambda t, h: torch.zeros(2)}):
            tiny_model(ids)
    with pytest.raises(TypeError, match="must be callable"):
        with intervene(tiny_model, {"blocks.0.mlp.out": 3}):
            pass
    assert _gptviz_hook_count(tiny_model) == 0


def test_recorded_tensors_are_detached(tiny_model, ids):
    tiny_model.train()
    with record(tiny_model, "blocks.0.attn.pattern") as rec:
        loss = tiny_model(ids, targets=ids).loss
    loss.backward()
    assert not rec["blocks.0.attn.pattern"].requires_grad
    assert rec["blocks.0.attn.pattern"].grad_fn is None


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


@pytest.mark.slow
def test_repeated_traces_do_not_grow_memory():
    model = make_model(block_size=128)
    ids = torch.randint(0, 32, (128,), generator=torch.Generator().manual_seed(0))
    for _ in range(50):
        gptviz.trace(model, ids)
    gc.collect()
    before = _rss_mb()
    for _ in range(500):
        gptviz.trace(model, ids)
    gc.collect()
    after = _rss_mb()
    assert after - before < 30, f"RSS grew from {before:.1f} MB to {after:.1f} MB over 500 traces"
    assert _gptviz_hook_count(model) == 0


@pytest.mark.parametrize("in_place", [False, True])
def test_scores_intervention_masking_a_row_gives_zeros(tiny_model, ids, in_place):
    def hide_row_zero(scores, hook):
        if in_place:
            scores[:, :, 0] = float("-inf")
            return None
        scores = scores.clone()
        scores[:, :, 0] = float("-inf")
        return scores

    with intervene(tiny_model, {"blocks.0.attn.scores": hide_row_zero}), record(tiny_model, "blocks.0.attn.pattern") as rec:
        logits = tiny_model(ids).logits
    pattern = rec["blocks.0.attn.pattern"]
    assert torch.isfinite(logits).all()
    assert torch.equal(pattern[:, :, 0], torch.zeros_like(pattern[:, :, 0]))
    assert torch.allclose(pattern[:, :, 1:].sum(-1), torch.ones(2, 2, 11), atol=1e-6)
