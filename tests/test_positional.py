import math

import torch

from gptviz.positional import sinusoidal_table


def test_sinusoidal_matches_closed_form():
    table = sinusoidal_table(20, 8)
    for p in (0, 1, 7, 19):
        for i in range(4):
            angle = p / 10000 ** (2 * i / 8)
            assert math.isclose(table[p, 2 * i].item(), math.sin(angle), abs_tol=1e-6)
            assert math.isclose(table[p, 2 * i + 1].item(), math.cos(angle), abs_tol=1e-6)


def test_sinusoidal_similarity_depends_only_on_offset():
    table = sinusoidal_table(64, 16).double()
    similarity = table @ table.T  # (T, T)
    for offset in (0, 1, 5, 17):
        diagonal = torch.diagonal(similarity, offset=offset)
        assert torch.allclose(diagonal, diagonal[0].expand_as(diagonal), atol=1e-5)
    # The similarity is symmetric in the offset and largest at offset 0
    assert torch.allclose(similarity, similarity.T)
    assert similarity[10].argmax().item() == 10
