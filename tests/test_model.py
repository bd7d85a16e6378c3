import math

import pytest
import torch

import gptviz
from gptviz import GPT, GPTConfig, KVCache
from tests.conftest import make_model


def test_logits_shape_for_batch_and_single(tiny_model, ids):
    assert tiny_model(ids).logits.shape == (2, 12, 32)
    assert tiny_model(ids[0]).logits.shape == (1, 12, 32)


def test_later_token_leaves_earlier_logits_unchanged(any_tiny_model):
    ids = torch.arange(10).unsqueeze(0) % 32
    base = any_tiny_model(ids).logits
    for j in (3, 7, 9):
        changed = ids.clone()
        changed[0, j] = (changed[0, j] + 5) % 32
        logits = any_tiny_model(changed).logits
        assert torch.equal(logits[0, :j], base[0, :j]) or torch.allclose(logits[0, :j], base[0, :j], atol=1e-6)
        assert not torch.allclose(logits[0, j], base[0, j])


def test_one_pass_equals_prefix_passes(any_tiny_model):
    ids = torch.tensor([[5, 1, 30, 2, 2, 17, 9, 4]])
    full = any_tiny_model(ids).logits[0]
    for t in range(1, ids.shape[1] + 1):
        prefix = any_tiny_model(ids[:, :t]).logits[0, -1]
        assert torch.allclose(prefix, full[t - 1], atol=1e-5)


def test_initial_loss_is_close_to_log_vocab(ids):
    model = make_model(seed=3)
    loss = model(ids[:, :-1], targets=ids[:, 1:]).loss.item()
    assert abs(loss - math.log(32)) < 0.1


def test_loss_is_mean_cross_entropy(tiny_model, ids):
    out = tiny_model(ids[:, :-1], targets=ids[:, 1:])
    logprobs = torch.log_softmax(out.logits, dim=-1)
    manual = -logprobs.gather(2, ids[:, 1:].unsqueeze(2)).mean()
    assert torch.allclose(out.loss, manual, atol=1e-6)


@pytest.mark.parametrize("norm", ["pre", "post"])
@pytest.mark.parametrize("positional", ["learned", "sinusoidal"])
def test_each_variant_learns_repeated_sequence(norm, positional):
    torch.manual_seed(0)
    model = GPT(GPTConfig.tiny(norm=norm, positional=positional))
    pattern = torch.tensor([3, 14, 15, 9, 26, 5, 8, 27])
    data = pattern.repeat(2).unsqueeze(0)  # (1, 16)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.train()
    first = model(data[:, :-1], targets=data[:, 1:]).loss.item()
    for _ in range(200):
        loss = model(data[:, :-1], targets=data[:, 1:]).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert abs(first - math.log(32)) < 0.3
    assert loss.item() < 0.25 * math.log(32)


def test_tied_head_shares_embedding():
    model = make_model()
    assert model.lm_head.weight is model.embed.token.weight
    untied = make_model(tie_weights=False)
    assert untied.lm_head.weight is not untied.embed.token.weight


def test_sequence_longer_than_context_names_both_lengths():
    model = make_model(block_size=8)
    with pytest.raises(ValueError, match=r"sequence length 20 .*block_size=8"):
        model(torch.zeros(1, 20, dtype=torch.long))


@pytest.mark.parametrize(
    ("ids", "error", "fragment"),
    [
        (torch.zeros(1, 0, dtype=torch.long), ValueError, "ids are empty"),
        (torch.tensor([[1, 32]]), ValueError, r"token id 32 is outside the vocabulary \[0, 32\)"),
        (torch.tensor([[1, -1]]), ValueError, "token id -1 is outside"),
        (torch.tensor([[1.0, 2.0]]), TypeError, "must be an integer tensor"),
        ([1, 2, 3], TypeError, "must be a torch.Tensor"),
        (torch.zeros(1, 2, 3, dtype=torch.long), ValueError, r"shape \(B, T\)"),
    ],
)
def test_bad_ids_rejected(tiny_model, ids, error, fragment):
    with pytest.raises(error, match=fragment):
        tiny_model(ids)


def test_fully_masked_row_gives_zeros_not_nan(tiny_model):
    T = 5
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    key_padding = torch.tensor([False, True, True, True, True])  # key 0 is padding
    mask = causal & key_padding.unsqueeze(0)  # row 0 may see nothing
    with gptviz.record(tiny_model, "blocks.*.attn.pattern") as rec:
        logits = tiny_model(torch.tensor([[1, 2, 3, 4, 5]]), attn_mask=mask).logits
    assert torch.isfinite(logits).all()
    pattern = rec["blocks.0.attn.pattern"][0]  # (H, T, T)
    assert torch.equal(pattern[:, 0], torch.zeros_like(pattern[:, 0]))
    assert torch.allclose(pattern[:, 1:].sum(-1), torch.ones(2, T - 1))
    assert torch.equal(pattern[:, :, 0], torch.zeros(2, T))


def test_custom_mask_equal_to_causal_gives_same_logits(tiny_model, ids):
    mask = torch.tril(torch.ones(12, 12, dtype=torch.bool))
    assert torch.allclose(tiny_model(ids, attn_mask=mask).logits, tiny_model(ids).logits, atol=1e-5)


def test_bidirectional_mask_lets_future_leak(tiny_model):
    ids = torch.tensor([[1, 2, 3, 4]])
    full = torch.ones(4, 4, dtype=torch.bool)
    changed = ids.clone()
    changed[0, 3] = 9
    a = tiny_model(ids, attn_mask=full).logits
    b = tiny_model(changed, attn_mask=full).logits
    assert not torch.allclose(a[0, 0], b[0, 0])


def test_bad_mask_rejected(tiny_model, ids):
    with pytest.raises(TypeError, match="boolean"):
        tiny_model(ids, attn_mask=torch.ones(12, 12))
    with pytest.raises(ValueError, match=r"must end in \(12, 12\)"):
        tiny_model(ids, attn_mask=torch.ones(5, 5, dtype=torch.bool))


def test_kv_cache_matches_full_recomputation(any_tiny_model):
    ids = torch.tensor([[4, 8, 15, 16, 23, 9, 2, 11, 30, 1]])
    full = any_tiny_model(ids).logits
    cache = KVCache()
    pieces = [any_tiny_model(ids[:, :4], cache=cache).logits]
    for t in range(4, ids.shape[1]):
        pieces.append(any_tiny_model(ids[:, t : t + 1], cache=cache).logits)
    assert cache.length == ids.shape[1]
    assert torch.allclose(torch.cat(pieces, dim=1), full, atol=1e-5)


def test_kv_cache_chunk_uses_bottom_right_mask(tiny_model):
    ids = torch.tensor([[4, 8, 15, 16, 23, 9]])
    cache = KVCache()
    tiny_model(ids[:, :2], cache=cache)
    chunk = tiny_model(ids[:, 2:], cache=cache).logits
    assert torch.allclose(chunk, tiny_model(ids).logits[:, 2:], atol=1e-5)


def test_cache_overflow_is_rejected():
    model = make_model(block_size=8)
    cache = KVCache()
    model(torch.zeros(1, 6, dtype=torch.long), cache=cache)
    with pytest.raises(ValueError, match=r"sequence length 9 after 6 cached positions .*block_size=8"):
        model(torch.zeros(1, 3, dtype=torch.long), cache=cache)


def test_gpt_rejects_non_config():
    with pytest.raises(TypeError, match="expected a GPTConfig"):
        GPT({"n_layer": 2})  # type: ignore[arg-type]
