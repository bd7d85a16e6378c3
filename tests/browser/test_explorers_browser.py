"""Run the explorers notebook in JupyterLab in headless Chromium and operate every explorer.

Each test moves one control in the page (slider, dropdown, text box or button) and reads
the plotly figure back from the DOM: its title, tick labels or data values. Screenshots
of every explorer go to tests/artifacts/browser/.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import _lab
from tests.browser.conftest import ARTIFACTS, NOTEBOOK

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# anywidget 0.11 gives each widget model 2 s to initialize (AbortSignal.timeout(2000)), and
# every plotly FigureWidget imports plotly's 5 MB front-end bundle anew while it initializes.
# On a busy 2-core CI machine some of the 17 figures miss that limit and then ignore updates,
# so the page gets 120 s instead. NOTE: users on slow machines can hit the 2 s limit too.
LONGER_WIDGET_INIT_JS = """
const shortTimeout = AbortSignal.timeout.bind(AbortSignal);
AbortSignal.timeout = (ms) => shortTimeout(ms === 2000 ? 120000 : ms);
"""


class PageLog:
    """Console errors and uncaught exceptions of a page."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)


@pytest.fixture(scope="module")
def lab_page(lab_server, browser) -> Iterator[tuple[Any, PageLog]]:
    """The explorers notebook, opened in JupyterLab and run from top to bottom."""
    page = browser.new_page(viewport={"width": 1500, "height": 2400})
    page.add_init_script(LONGER_WIDGET_INIT_JS)
    log = PageLog(page)
    page.goto(lab_server.notebook_url(NOTEBOOK.name))
    _lab.run_cells_one_by_one(page)
    try:
        yield page, log
    finally:
        page.screenshot(path=str(ARTIFACTS / "notebook.png"), full_page=True)
        page.close()


def move_slider(page: Any, explorer: str, name: str, steps: int) -> None:
    """Focus the slider handle and press the arrow keys, as a keyboard user does."""
    handle = _lab.control(page, explorer, name).locator(".noUi-handle")
    handle.focus()
    for _ in range(abs(steps)):
        handle.press("ArrowRight" if steps > 0 else "ArrowLeft")


def test_positional_dimension_slider(lab_page):
    page, _ = lab_page
    before = _lab.wait_for_figure(page, "PositionalEncodingExplorer", "curves")
    assert before["title"] == "sinusoidal encoding, dimensions 0 and 1"

    move_slider(page, "PositionalEncodingExplorer", "pair", 2)
    after = _lab.wait_for_title(page, "PositionalEncodingExplorer", "sinusoidal encoding, dimensions 4 and 5", "curves")
    assert [trace["name"] for trace in after["data"]] == ["dimension 4", "dimension 5"]
    assert after["shownTitle"] == after["title"]


def test_positional_offset_slider(lab_page):
    page, _ = lab_page
    before = _lab.wait_for_figure(page, "PositionalEncodingExplorer", "offsets")
    move_slider(page, "PositionalEncodingExplorer", "offset", 1)
    assert before["title"] == "PE[p] · PE[p + k] for offset k = 1"
    after = _lab.wait_for_title(page, "PositionalEncodingExplorer", "PE[p] · PE[p + k] for offset k = 2", "offsets")
    # Sinusoidal encodings: the dot product depends only on the offset, so the line is flat
    sinusoidal = after["data"][0]["y"]
    assert max(sinusoidal) - min(sinusoidal) < 1e-4 * max(abs(value) for value in sinusoidal)
    _lab.screenshot(page, "PositionalEncodingExplorer", ARTIFACTS)


def test_mask_lab_dropdown_and_text(lab_page):
    page, _ = lab_page
    before = _lab.wait_for_figure(page, "MaskLab")
    assert before["title"].startswith("Mask: causal, loss")
    assert before["data"][0]["z"][0][1] == 0  # query 0 may not see key 1

    _lab.control(page, "MaskLab", "kind").locator("select").select_option("bidirectional")
    after = _lab.wait_for_title(page, "MaskLab", "Mask: bidirectional, loss")
    assert after["data"][0]["z"][0][1] == 2  # now a future key leaks in

    text = _lab.control(page, "MaskLab", "text").locator("input")
    text.fill("To be or")
    text.press("Enter")
    shorter = _lab.wait_until(page, "MaskLab", lambda shown: shown["xticks"] != after["xticks"], what="new tick labels")
    assert len(shorter["data"][0]["z"]) == len(shorter["data"][0]["x"]) < len(after["data"][0]["x"])
    _lab.screenshot(page, "MaskLab", ARTIFACTS)


def type_into_text(page: Any, explorer: str, name: str, value: str) -> None:
    box = _lab.control(page, explorer, name).locator("input")
    box.fill(value)
    box.press("Enter")


def test_attention_layer_head_query_and_grid(lab_page):
    page, _ = lab_page
    before = _lab.wait_for_figure(page, "AttentionExplorer", "heatmap")
    assert before["title"].startswith("Layer 0, head 0, query ")

    move_slider(page, "AttentionExplorer", "layer", 2)
    _lab.wait_for_title(page, "AttentionExplorer", "Layer 2, head 0, ", "heatmap")
    type_into_text(page, "AttentionExplorer", "head", "3")
    _lab.wait_for_title(page, "AttentionExplorer", "Layer 2, head 3, ", "heatmap")

    # The query position drives three views at once
    query = int(before["title"].split("query ")[1].split()[0])
    move_slider(page, "AttentionExplorer", "query", 2 - query)
    heatmap = _lab.wait_for_title(page, "AttentionExplorer", "Layer 2, head 3, query 2 outlined", "heatmap")
    _lab.wait_for_title(page, "AttentionExplorer", "Logit lens, position 2 outlined", "lens")
    distribution = _lab.wait_for_title(page, "AttentionExplorer", "after position 2 ", "distribution")
    assert all(0.0 <= p <= 1.0 for p in distribution["data"][0]["y"])
    # Row 2 of a causal pattern: weights on keys 0..2 only, summing to 1
    row = heatmap["data"][0]["z"][2]
    assert abs(sum(value for value in row[:3]) - 1.0) < 1e-4

    # A click on the thumbnail of layer 1, head 1 selects that head
    names = [trace["name"] for trace in _lab.read_figure(page, "AttentionExplorer", "grid")["data"]]
    subplot = names.index("layer 1 head 1") + 1  # plotly names subplot n's axes xn / yn
    drag = _lab.control(page, "AttentionExplorer", "grid").locator(f".draglayer .x{subplot}y{subplot} .nsewdrag")
    drag.click()
    _lab.wait_for_title(page, "AttentionExplorer", "Layer 1, head 1, ", "heatmap")
    _lab.screenshot(page, "AttentionExplorer", ARTIFACTS)


def test_chain_rule_text_and_answers(lab_page):
    page, _ = lab_page
    before = _lab.wait_for_figure(page, "ChainRuleExplorer", "ledger")
    assert before["title"].startswith("Text A: log p = ")
    type_into_text(page, "ChainRuleExplorer", "text", "Good morrow, my lord")
    after = _lab.wait_until(page, "ChainRuleExplorer", lambda shown: shown["title"] != before["title"], "ledger",
                            "new ledger title")
    assert after["title"].startswith("Text A: log p = ")

    ranking = _lab.wait_for_figure(page, "ChainRuleExplorer", "ranking")
    type_into_text(page, "ChainRuleExplorer", "answers", "Romeo | Macbeth | Juliet")
    _lab.control(page, "ChainRuleExplorer", "rank").click()
    ranked = _lab.wait_until(page, "ChainRuleExplorer", lambda shown: len(shown["data"][0]["y"]) == 3, "ranking",
                             "ranking of three answers")
    assert sorted(ranked["data"][0]["y"]) == ["Juliet", "Macbeth", "Romeo"]
    assert ranking["title"] == ranked["title"]
    _lab.screenshot(page, "ChainRuleExplorer", ARTIFACTS)


def test_generation_step_back(lab_page):
    page, _ = lab_page
    before = _lab.wait_for_figure(page, "GenerationStepper", "distribution")
    assert before["title"] == "Press Step to sample the first token"
    step = _lab.control(page, "GenerationStepper", "step_button")
    step.click()
    first = _lab.wait_for_title(page, "GenerationStepper", "Step 0: sampled ", "distribution")
    step.click()
    _lab.wait_for_title(page, "GenerationStepper", "Step 1: sampled ", "distribution")
    # top-k = 5: the sixth and later candidates are filtered, so their sampled probability is 0
    sampled = first["data"][1]["y"]
    assert all(value == 0 for value in sampled[5:]) and sum(sampled[:5]) > 0.5

    _lab.control(page, "GenerationStepper", "back_button").click()
    _lab.wait_for_title(page, "GenerationStepper", "Step 0: sampled ", "distribution")
    _lab.control(page, "GenerationStepper", "fork_button").click()
    tree = _lab.wait_until(page, "GenerationStepper", lambda shown: "Step 1" in shown["title"], "distribution",
                           "a forked step")
    assert tree["title"].startswith("Step 1: sampled ")
    assert "ROMEO:" in _lab.control(page, "GenerationStepper", "text_so_far").inner_text()
    _lab.screenshot(page, "GenerationStepper", ARTIFACTS)


def test_head_inspector_ablation_toggle(lab_page):
    page, _ = lab_page
    before = _lab.wait_for_figure(page, "HeadInspector", "ablation")
    assert before["title"].endswith("ablated: none")
    assert max(abs(value) for value in before["data"][0]["y"]) < 1e-4
    page.locator(".gptviz-HeadInspector .gptviz-head-L0H1 button, .gptviz-HeadInspector button.gptviz-head-L0H1").first.click()
    after = _lab.wait_for_title(page, "HeadInspector", "Change in log p(next token) with heads ablated: L0H1", "ablation")
    assert max(abs(value) for value in after["data"][0]["y"]) > 1e-4
    _lab.screenshot(page, "HeadInspector", ARTIFACTS)


def test_no_widget_or_console_errors(lab_page):
    page, log = lab_page
    assert page.locator(".js-plotly-plot").count() == 17
    assert page.get_by_text("Error displaying widget").count() == 0
    assert page.locator(".gptviz-message").count() == 0, page.locator(".gptviz-message").first.inner_text()
    assert log.errors == []
