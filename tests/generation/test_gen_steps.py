"""Step records, the KV cache, the sliding window, empty prompts and the Stepper."""

from __future__ import annotations

import math

import pytest
import torch

import gptviz
from gptviz.generation import Stepper, generate, steps

from .conftest import byte_model


def full_logits(model, context: list[int]) -> torch.Tensor:
    with torch.no_grad():
        return model(torch.tensor([context])).logits[0, -1]


def test_record_fields_are_consistent(model, tokenizer):
    records = list(steps(model, tokenizer, "To be", 5, temperature=0.9, top_k=20, top_p=0.9, seed=0))
    prompt = tokenizer.encode("To be")
    assert [rec.index for rec in records] == list(range(5))
    for rec in records:
        assert rec.context_ids == prompt + [r.chosen_id for r in records[: rec.index]]
        assert rec.raw_probs.shape == (257,)
        assert float(rec.raw_probs.sum()) == pytest.approx(1.0, abs=1e-5)
        assert float(rec.sampled_probs.sum()) == pytest.approx(1.0, abs=1e-5)
        assert 1 <= rec.nucleus_size <= 20
        assert rec.nucleus_size == int((rec.sampled_probs > 0).sum())
        assert rec.sampled_probs[rec.chosen_id] > 0
        assert rec.logprob_raw == pytest.approx(math.log(float(rec.raw_probs[rec.chosen_id])), abs=1e-5)
        assert rec.logprob_sampled == pytest.approx(math.log(float(rec.sampled_probs[rec.chosen_id])), abs=1e-5)
        assert rec.chosen_token == tokenizer.token_strings([rec.chosen_id])[0]
        assert rec.attention is None


def test_candidates_sorted_with_filter_names(model, tokenizer):
    rec = next(steps(model, tokenizer, "x", 1, top_k=3, seed=0))
    assert len(rec.candidates) == 10
    raw = [c.raw_prob for c in rec.candidates]
    assert raw == sorted(raw, reverse=True)
    assert [c.filtered_by for c in rec.candidates[:3]] == [None, None, None]
    assert all(c.filtered_by == "top_k" and c.sampled_prob == 0.0 for c in rec.candidates[3:])
    assert rec.candidates[0].id == int(rec.raw_probs.argmax())


def test_cache_logits_equal_full_recomputation(tokenizer):
    model = byte_model(block_size=64)
    prompt = tokenizer.encode("The cache")
    with gptviz.record(model, "logits") as rec:
        records = list(steps(model, tokenizer, prompt, 30, temperature=1.0, seed=1))
    calls = rec.calls("logits")
    assert len(calls) == 30
    assert calls[1].shape[1] == 1  # later steps feed one new position
    for step, record in enumerate(records):
        expected = full_logits(model, record.context_ids)
        assert (calls[step][0, -1] - expected).abs().max() < 1e-5


def test_cache_and_no_cache_give_same_tokens(tokenizer):
    model = byte_model(block_size=64)
    with_cache = list(steps(model, tokenizer, "abc", 20, seed=5))
    without = list(steps(model, tokenizer, "abc", 20, seed=5, use_cache=False))
    assert [r.chosen_id for r in with_cache] == [r.chosen_id for r in without]
    for a, b in zip(with_cache, without):
        assert (a.raw_probs - b.raw_probs).abs().max() < 1e-6


def test_window_slides_past_block_size(tokenizer):
    model = byte_model(block_size=8)
    ids = tokenizer.encode("twenty tokens here!!")
    assert len(ids) == 20
    with pytest.raises(ValueError) as error:
        model(torch.tensor([ids]))
    assert "20" in str(error.value)
    assert "8" in str(error.value)

    records = list(steps(model, tokenizer, ids, 5, temperature=0))
    full = ids + [r.chosen_id for r in records]
    for rec in records:
        assert len(rec.context_ids) == 8
        assert rec.window_start == 20 + rec.index - 8
        assert rec.context_ids == full[rec.window_start : rec.window_start + 8]
        assert rec.window_moved
        assert torch.allclose(torch.log_softmax(full_logits(model, rec.context_ids), -1), rec.raw_probs.log(), atol=1e-5)


def test_window_moves_once_context_is_full(tokenizer):
    model = byte_model(block_size=8)
    records = list(steps(model, tokenizer, "abcde", 6, temperature=0))
    assert [r.window_start for r in records] == [0, 0, 0, 0, 1, 2]
    assert [r.window_moved for r in records] == [False, False, False, False, True, True]
    assert len(generate(model, tokenizer, "abcde", 30, seed=0).new_ids) == 30


def test_empty_prompt_starts_from_endoftext(model, tokenizer):
    first = next(steps(model, tokenizer, "", 1, temperature=0))
    assert first.context_ids == [tokenizer.eot_id]
    assert first.chosen_id == int(full_logits(model, [256]).argmax())
    result = generate(model, tokenizer, "", 4, temperature=0)
    assert result.prompt_ids == [256]
    assert result.text == tokenizer.decode(result.new_ids)


def test_attention_rows_match_full_pattern(tokenizer):
    model = byte_model(block_size=32)
    records = list(steps(model, tokenizer, "hello", 4, temperature=0, record="attention"))
    for rec in records:
        T = len(rec.context_ids)
        assert rec.attention.shape == (2, 2, T)
        torch.testing.assert_close(rec.attention.sum(-1), torch.ones(2, 2))
        with gptviz.record(model, "blocks.*.attn.pattern") as full:
            model(torch.tensor([rec.context_ids]))
        expected = torch.stack([full[f"blocks.{i}.attn.pattern"][0, :, -1] for i in range(2)])
        assert (rec.attention - expected).abs().max() < 1e-5


def test_record_other_hooks_at_new_position(model, tokenizer):
    rec = next(steps(model, tokenizer, "abc", 1, record=["blocks.1.resid_post", "blocks.0.attn.q"]))
    assert rec.recorded["blocks.1.resid_post"].shape == (16,)
    assert rec.recorded["blocks.0.attn.q"].shape == (2, 8)
    assert rec.attention is None


def test_stepper_back_replays_without_model(model, tokenizer):
    stepper = Stepper(model, tokenizer, "ab", temperature=1.0, seed=2)
    first = stepper.run(4)
    assert stepper.back() is first[-1]
    assert stepper.back() is first[-2]
    assert len(stepper.ids) == 2 + 2
    with gptviz.record(model, "logits") as rec:
        replayed = stepper.run(2)
    assert replayed == first[2:]
    assert "logits" not in rec  # no forward pass ran
    assert stepper.text == first[-1].text


def test_stepper_back_then_resample_is_reproducible(model, tokenizer):
    stepper = Stepper(model, tokenizer, "ab", seed=2)
    first = [r.chosen_id for r in stepper.run(5)]
    for _ in range(3):
        stepper.back()
    stepper.set_sampling(temperature=1.0)  # same settings; discards the undone steps
    again = [r.chosen_id for r in stepper.run(3)]
    assert again == first[2:]


def test_forced_token_and_cache_after_back(tokenizer):
    model = byte_model(block_size=64)
    stepper = Stepper(model, tokenizer, "hi", temperature=0)
    stepper.run(3)
    stepper.back()
    stepper.back()
    forced = stepper.step(ord("Q"))
    assert forced.chosen_by == "forced"
    assert forced.chosen_id == ord("Q")
    nxt = stepper.step()
    expected = full_logits(model, tokenizer.encode("hi") + [stepper.ids[2], ord("Q")])
    assert nxt.chosen_id == int(expected.argmax())
    assert torch.allclose(nxt.raw_probs, torch.softmax(expected, -1), atol=1e-6)


def test_forced_filtered_token_has_minus_inf(model, tokenizer):
    stepper = Stepper(model, tokenizer, "a", temperature=0)
    rec = stepper.step(0 if int(full_logits(model, [97]).argmax()) != 0 else 1)
    assert rec.logprob_sampled == float("-inf")
    assert math.isfinite(rec.logprob_raw)


def test_invalid_arguments_raise(model, tokenizer):
    with pytest.raises(ValueError, match="max_new_tokens"):
        steps(model, tokenizer, "a", -1)
    with pytest.raises(ValueError, match="token_id"):
        Stepper(model, tokenizer, "a").step(257)
    with pytest.raises(ValueError, match="prompt id 300"):
        Stepper(model, tokenizer, [1, 300])
    with pytest.raises(ValueError, match="unknown hook"):
        Stepper(model, tokenizer, "a", record="blocks.0.attn.patern")


def test_generate_progress_and_logprob(model, tokenizer):
    result = generate(model, tokenizer, "ab", 6, seed=0, keep_records=True, progress=True)
    assert len(result.records) == 6
    assert result.logprob_raw == pytest.approx(sum(r.logprob_raw for r in result.records))
    assert result.text == tokenizer.decode(result.new_ids)
    assert str(result) == result.text


def test_empty_prompt_without_start_token_raises(model):
    from gptviz.tokenizer import Tokenizer

    no_special = Tokenizer.from_ranks({bytes([i]): i for i in range(256)}, name="plain-bytes")
    with pytest.warns(UserWarning, match="vocab_size=257"):
        with pytest.raises(ValueError, match="prompt is empty"):
            Stepper(model, no_special, "")


def test_training_mode_model_warns(tokenizer):
    model = byte_model().train()
    with pytest.warns(UserWarning, match="model.eval"):
        Stepper(model, tokenizer, "a")
