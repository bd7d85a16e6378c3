"""Behaviour shared by every explorer: error display, test mode, figure updates, display.

An explorer wires ipywidgets controls to `gptviz.viz` figures shown as plotly
``FigureWidget``s. Every callback runs through `Explorer.guarded`:

- a ``ValueError`` (invalid input such as an empty text or an index out of range) is shown
  as a message in the explorer and logged at WARNING level;
- any other exception is logged with its traceback and the traceback is shown in the
  explorer's error area;
- in test mode (``raise_errors=True``, or the environment variable ``GPTVIZ_WIDGETS_RAISE=1``)
  the exception is shown and then raised again, so a test that sets a control fails loudly.

After an error the explorer keeps its previous figures and accepts the next input.

NOTE: ipywidgets (8.1) catches exceptions raised by ``Button`` click handlers and only
logs them, so in test mode a failing button click is shown and logged but not raised.
Tests call the explorer method behind the button (``stepper.step()``) to see it raise.
"""

from __future__ import annotations

import html
import logging
import math
import os
import traceback
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

logger = logging.getLogger(__name__)

RAISE_ENV_VAR = "GPTVIZ_WIDGETS_RAISE"
_MESSAGE_STYLE = "color:#a61b1b;background:#fdecea;padding:4px 8px;border-radius:3px"


def raise_errors_default() -> bool:
    """Return True when ``GPTVIZ_WIDGETS_RAISE`` is set to 1, true or yes (test mode)."""
    return os.environ.get(RAISE_ENV_VAR, "").strip().lower() in {"1", "true", "yes"}


class LiveFigure(go.FigureWidget):
    """A plotly ``FigureWidget`` that reaches the browser with its data on the first draw.

    plotly's FigureWidget (plotly 7.1) opens its comm before it sets ``_widget_data`` and
    ``_widget_layout``, and its front end reads them only when it first draws. Depending
    on message timing the browser can then draw an empty plot that stays empty until the
    next update. This class opens the comm after the figure is complete.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._gptviz_defer_open = True
        super().__init__(*args, **kwargs)
        self._gptviz_defer_open = False
        self.open()

    def open(self) -> None:
        if getattr(self, "_gptviz_defer_open", False):
            return
        super().open()

    def get_state(self, key: Any = None, drop_defaults: bool = False) -> dict[str, Any]:
        # plotly's widget serializer (plotly 7.1) sends 2-D arrays such as a heatmap's z as
        # nested lists. NaN or an infinity there (a masked attention cell, the last logit-lens
        # column) is not valid JSON, so jupyter_client warns and cleans the message. null is
        # valid, and plotly.js draws it as the same gap.
        return json_compliant(super().get_state(key, drop_defaults))


def json_compliant(value: Any) -> Any:
    """Return ``value`` with every NaN or infinite float inside dicts, lists and tuples
    replaced by None; binary buffers and other values are returned unchanged."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_compliant(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_compliant(item) for item in value]
    return value


# Width of a monospace character relative to the font size, and plotly's default title size
_CHAR_WIDTH = 0.6
_DEFAULT_TITLE_SIZE = 17


def fit_width(figure: go.Figure, width: int, *, title_font_size: int | None = None) -> go.Figure:
    """Set the width of ``figure`` in pixels and break its title into lines that fit it, in place.

    plotly does not wrap titles, so a long title in a narrow explorer view runs off the
    figure. Lines break at spaces; the top margin grows by one line height per extra line.
    """
    size = title_font_size or figure.layout.title.font.size or _DEFAULT_TITLE_SIZE
    # plotly's default margins are 80 px on the left and right and 100 px on top
    margin = figure.layout.margin
    left = 80 if margin.l is None else margin.l
    right = 80 if margin.r is None else margin.r
    usable_px = width - left - right
    max_chars = max(20, int(usable_px / (_CHAR_WIDTH * size)))
    title = figure.layout.title.text or ""
    lines = [line for part in title.split("<br>") for line in _wrap_words(part, max_chars)]
    extra = max(0, len(lines) - 1)
    figure.update_layout(width=width, title_font_size=size)
    if extra:
        top = 100 if margin.t is None else margin.t
        figure.update_layout(title_text="<br>".join(lines), margin_t=top + extra * round(1.3 * size))
    return figure


def _wrap_words(text: str, max_chars: int) -> list[str]:
    lines: list[str] = []
    for word in text.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= max_chars:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def show_figure(target: go.FigureWidget, source: go.Figure) -> None:
    """Copy the traces and layout of ``source`` into ``target`` in one front-end update.

    Traces are updated in place when ``source`` has the same number and types of traces,
    so the browser restyles the existing plot, and only the layout entries that differ
    from the ones shown are sent. Otherwise traces and layout are replaced.

    Args:
        target: the figure on screen.
        source: a freshly built figure from a `gptviz.viz` function.
    """
    same_traces = len(target.data) == len(source.data) and all(
        old.type == new.type for old, new in zip(target.data, source.data)
    )
    if not same_traces:
        target.data = ()
        target.add_traces(list(source.data))
        target.layout = source.layout
        return
    layout, shown = _layout_entries(source), _layout_entries(target)
    changed = {key: value for key, value in layout.items() if not _equal(shown.get(key), value)}
    # Entries shown but absent from the new figure go back to their defaults
    changed.update({key: None for key in shown.keys() - layout.keys()})
    with target.batch_update():
        for old, new in zip(target.data, source.data):
            old.update(new.to_plotly_json(), overwrite=True)
        if changed:
            target.layout.update(changed, overwrite=True)


def _equal(shown: Any, new: Any) -> bool:
    try:
        return bool(shown == new)
    except ValueError:  # numpy arrays inside the entries compare element-wise
        return False


def _layout_entries(figure: go.Figure) -> dict[str, Any]:
    # The template is the same default in every view and by far the largest entry, so it
    # is left out of the comparison
    layout = figure.layout.to_plotly_json()
    layout.pop("template", None)
    return layout


def encode_text(tokenizer: Any, text: str, block_size: int, caller: str, *, minimum: int = 1) -> list[int]:
    """Encode text typed into an explorer, raising ValueError with a message for the user.

    Args:
        tokenizer: any object with ``encode``.
        text: the text from a text box.
        block_size: the model's context length; longer texts are rejected.
        caller: the explorer name, used in messages.
        minimum: the fewest tokens the view needs.
    """
    if not text.strip():
        raise ValueError(f"{caller}: the text is empty; type a sentence of at least {minimum} token(s)")
    ids = list(tokenizer.encode(text))
    if len(ids) < minimum:
        raise ValueError(f"{caller}: the text has {len(ids)} token(s) but this view needs at least {minimum}; type more")
    if len(ids) > block_size:
        raise ValueError(
            f"{caller}: the text has {len(ids)} tokens but the model's context is {block_size}; shorten the text"
        )
    return ids


class Explorer:
    """Base class of the explorers: a message line, an error area and the guarded callbacks.

    Subclasses build their controls and figures, call `_assemble` with the main layout and
    implement `static_figure`.

    Args:
        raise_errors: raise callback errors after showing them (test mode); None reads
            the ``GPTVIZ_WIDGETS_RAISE`` environment variable.

    Attributes:
        widget: the top-level ipywidgets container that a notebook displays.
        message: HTML line with the latest message for the user (empty when all is well).
        message_text: the same message as plain text.
        error_output: Output area where unexpected errors show their traceback.
        errors: every exception that a callback raised, oldest first.
    """

    def __init__(self, *, raise_errors: bool | None = None) -> None:
        self.raise_errors = raise_errors_default() if raise_errors is None else bool(raise_errors)
        self.message = widgets.HTML(value="", layout=widgets.Layout(min_height="0px"))
        self.message_text = ""
        self.error_output = widgets.Output(layout=widgets.Layout(max_height="240px", overflow="auto"))
        self.errors: list[BaseException] = []
        self.widget: widgets.Box = widgets.VBox()

    # Display -------------------------------------------------------------------------------

    def _assemble(self, *children: widgets.Widget) -> None:
        # Every control and figure gets a CSS class named after its attribute, so a browser
        # test (or a user's stylesheet) can find it: `gptviz-control-pair` for `self.pair`
        for name, value in vars(self).items():
            if isinstance(value, widgets.DOMWidget) and not isinstance(value, go.FigureWidget):
                value.add_class(f"gptviz-control-{name.replace('_', '-')}")
        self.widget = widgets.VBox([*children, self.message, self.error_output])
        self.widget.add_class("gptviz-explorer")
        self.widget.add_class(f"gptviz-{type(self).__name__}")

    def _boxed(self, name: str) -> widgets.Box:
        """Wrap the FigureWidget ``self.<name>`` in a box with the class `gptviz-control-<name>`.

        The plotly front end manages the classes of its own element, so the class goes on
        a container around it.
        """
        box = widgets.Box([getattr(self, name)])
        box.add_class(f"gptviz-control-{name.replace('_', '-')}")
        return box

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        return self.widget._repr_mimebundle_(**kwargs)

    def static_figure(self) -> go.Figure:
        """Return the current main view as a plain plotly Figure (for exported HTML or GitHub)."""
        raise NotImplementedError(f"{type(self).__name__} does not define static_figure()")

    # Messages and errors -------------------------------------------------------------------

    def show_message(self, text: str) -> None:
        """Show ``text`` (plain text, escaped here) as the explorer's message line."""
        self.message_text = text
        self.message.value = f'<div class="gptviz-message" style="{_MESSAGE_STYLE}">{html.escape(text)}</div>'

    def clear_message(self) -> None:
        self.message_text = ""
        self.message.value = ""
        self.error_output.outputs = ()

    def guarded(self, action: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``action`` and report its errors in the explorer instead of losing them.

        Returns:
            What ``action`` returns, or None when it raised and test mode is off.
        """
        self.clear_message()
        try:
            return action(*args, **kwargs)
        except ValueError as error:
            self.errors.append(error)
            logger.warning("%s: invalid input: %s", type(self).__name__, error)
            self.show_message(str(error))
            if self.raise_errors:
                raise
        except Exception as error:
            self.errors.append(error)
            logger.exception("%s: callback %s failed", type(self).__name__, getattr(action, "__name__", action))
            self.show_message(f"{type(error).__name__}: {error} (traceback below)")
            self.error_output.append_stderr("".join(traceback.format_exception(error)))
            if self.raise_errors:
                raise
        return None

    def _on_change(self, control: widgets.Widget, action: Callable[[], Any], names: str = "value") -> None:
        """Call ``action()`` through `guarded` whenever ``control.<names>`` changes."""
        control.observe(lambda change: self.guarded(action), names=names)

    def _on_click(self, button: widgets.Button, action: Callable[[], Any]) -> None:
        button.on_click(lambda _button: self.guarded(action))
