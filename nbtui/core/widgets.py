"""Jupyter widgets (ipywidgets) kept as text: a headless widget manager.

A kernel that shows a widget opens a comm (target ``jupyter.widget``) whose ``data.state`` is the
model's state, displays an ``application/vnd.jupyter.widget-view+json`` bundle naming the model,
then sends each change as a ``comm_msg`` (``method: update``) and ends with ``comm_close``. A
browser draws the model; :class:`WidgetStore` keeps the part of each model's state that says
what it shows and draws it as text instead: tqdm's notebook bar (an ``HBox`` of ``HTML``,
``FloatProgress``, ``HTML``) becomes tqdm's own line with a bar of blocks,
``train:  63% ▕████████████▋       ▏ 19/30 [00:00<00:00, 88.48it/s]``, other controls their
description and value (``n: 5``, ``☑ Fast``, ``[ Go ]``).

nbtui never answers the kernel's comms: ipywidgets' kernel side needs no reply to show or update
a widget (a browser's requests, such as ``request_state``, only serve the browser).
"""

from __future__ import annotations

import html as html_lib
from collections import OrderedDict
from typing import Any

from nbtui.core.render import html_to_text

WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
"""The MIME type of a widget's view in a display_data bundle: ``{"model_id": ...}``."""

WIDGET_TARGET = "jupyter.widget"
"""The comm target of widget models."""

MAX_MODELS = 2000
"""Models kept at most; the ones changed longest ago are forgotten first (a tqdm bar is
eleven models: the box, three children, their layouts and styles)."""

MAX_VALUE_CHARS = 10_000
"""Characters kept of one text value (an HTML label, a text box)."""

BAR_WIDTH = 20
"""Characters of a progress bar's body."""

_KEPT = frozenset({
    "_model_name", "children", "value", "min", "max", "description", "index",
    "_options_labels", "layout", "display", "visibility",
})
"""State keys the text needs; the rest (styles, tooltips, binary buffers) is not kept."""

_MODEL_REF = "IPY_MODEL_"
_EIGHTHS = " ▏▎▍▌▋▊▉"
_ROW_BOXES = frozenset({"HBoxModel", "BoxModel", "GridBoxModel"})
_PROGRESS = frozenset({"IntProgressModel", "FloatProgressModel"})
_MAX_DEPTH = 20


def view_model_id(data: dict[str, Any]) -> str | None:
    """The model id a MIME bundle's widget view shows, if it has one."""
    view = data.get(WIDGET_VIEW_MIME)
    model_id = view.get("model_id") if isinstance(view, dict) else None
    return model_id if isinstance(model_id, str) and model_id else None


def progress_bar(value: float, low: float, high: float, width: int = BAR_WIDTH) -> str:
    """A progress bar of `width` characters between thin edges, filled to within an eighth.

    Example:
        ``progress_bar(17, 0, 30, 10) == "▕█████▋    ▏"``
    """
    span = high - low
    fraction = min(1.0, max(0.0, (value - low) / span)) if span > 0 else 1.0
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    body = "█" * full + (_EIGHTHS[part] if part else "")
    return f"▕{body.ljust(width)}▏"


def _model_ref(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith(_MODEL_REF):
        return value[len(_MODEL_REF):]
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _html_text(value: str) -> str:
    text = html_to_text(value) if "<" in value else html_lib.unescape(value)
    # tqdm pads with figure spaces so that HTML keeps them; as text they are plain spaces.
    return text.replace("\u2007", " ")


def _label(description: str) -> str:
    return description if description.endswith(":") else f"{description}:"


def _value_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "–".join(_value_text(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return "" if value is None else str(value)


class WidgetStore:
    """The state of the kernel's widget models, from its comm messages, and their text.

    Memory stays bounded: a closed model is dropped (only its id is remembered, so that its
    views show nothing, as a browser removes them), only the state keys the text needs are kept,
    text values are cut at `max_value_chars`, and beyond `max_models` the models changed longest
    ago are forgotten, a box and its children counting as changed when any of them changes
    (their views keep the last text they showed).

    Args:
        max_models: models kept at most (at least 1).
        max_value_chars: characters kept of one text value.
    """

    def __init__(self, *, max_models: int = MAX_MODELS,
                 max_value_chars: int = MAX_VALUE_CHARS) -> None:
        if max_models < 1:
            raise ValueError("max_models must be at least 1.")
        self.max_models = max_models
        self.max_value_chars = max_value_chars
        self._models: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._parents: dict[str, set[str]] = {}
        self._closed: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._models)

    def clear(self) -> None:
        """Forget every model (the kernel that made them is gone)."""
        self._models.clear()
        self._parents.clear()
        self._closed.clear()

    def apply(self, msg: dict[str, Any]) -> set[str]:
        """Apply one IOPub message: a widget's comm_open, comm_msg (update) or comm_close.

        Args:
            msg: a Jupyter message; anything but a widget model's comm message is ignored.

        Returns:
            The ids of the models whose text may have changed: the model itself and every
            model that contains it.
        """
        msg_type = msg.get("header", {}).get("msg_type")
        content = msg.get("content") or {}
        comm_id = content.get("comm_id")
        if not isinstance(comm_id, str) or not comm_id:
            return set()
        data = content.get("data") if isinstance(content.get("data"), dict) else {}
        state = data.get("state") if isinstance(data.get("state"), dict) else None
        if msg_type == "comm_open":
            if content.get("target_name") != WIDGET_TARGET or state is None:
                return set()
            self._closed.pop(comm_id, None)
            self._set(comm_id, state, replace=True)
        elif msg_type == "comm_msg":
            if comm_id not in self._models or state is None or \
                    data.get("method") not in ("update", "echo_update"):
                return set()
            self._set(comm_id, state, replace=False)
        elif msg_type == "comm_close":
            if comm_id not in self._models:
                return set()
            changed = self._with_ancestors(comm_id)
            self._drop(comm_id)
            self._closed[comm_id] = None
            while len(self._closed) > self.max_models:
                self._closed.popitem(last=False)
            return changed
        else:
            return set()
        changed = self._with_ancestors(comm_id)
        # A view's models are kept or forgotten together: a live bar's box and its quieter
        # parts stay as fresh as its busiest part.
        for model_id in self._with_descendants(changed):
            self._models.move_to_end(model_id)
        while len(self._models) > self.max_models:
            self._drop(next(iter(self._models)))
        return changed

    def closed(self, model_id: str) -> bool:
        """Whether the kernel closed this model (its views are gone)."""
        return model_id in self._closed

    def text(self, model_id: str) -> str | None:
        """What a view of the model shows, as text.

        Returns:
            The text ("" for a closed or hidden model), or None when the model is unknown
            (never opened here, or forgotten) or has no text form: the caller keeps the text
            it had.
        """
        if model_id in self._closed:
            return ""
        return self._text(model_id, 0)

    # -- internals -------------------------------------------------------------------------

    def _set(self, model_id: str, state: dict[str, Any], *, replace: bool) -> None:
        kept = {k: self._bounded(v) for k, v in state.items() if k in _KEPT}
        if replace or model_id not in self._models:
            self._unlink(model_id)
            self._models[model_id] = kept
        else:
            if "children" in kept:
                self._unlink(model_id)
            self._models[model_id].update(kept)
        for child in self._children(model_id):
            self._parents.setdefault(child, set()).add(model_id)

    def _bounded(self, value: Any) -> Any:
        if isinstance(value, str) and len(value) > self.max_value_chars:
            return value[:self.max_value_chars] + "…"
        return value

    def _children(self, model_id: str) -> list[str]:
        children = self._models.get(model_id, {}).get("children")
        if not isinstance(children, list):
            return []
        return [ref for ref in map(_model_ref, children) if ref is not None]

    def _unlink(self, model_id: str) -> None:
        for child in self._children(model_id):
            parents = self._parents.get(child)
            if parents is not None:
                parents.discard(model_id)
                if not parents:
                    del self._parents[child]

    def _drop(self, model_id: str) -> None:
        self._unlink(model_id)
        self._models.pop(model_id, None)

    def _with_ancestors(self, model_id: str) -> set[str]:
        found = {model_id}
        todo = [model_id]
        while todo:
            for parent in self._parents.get(todo.pop(), ()):
                if parent not in found:
                    found.add(parent)
                    todo.append(parent)
        return found

    def _with_descendants(self, model_ids: set[str]) -> list[str]:
        found = [m for m in model_ids if m in self._models]
        seen = set(found)
        for model_id in found:  # grows while it is walked
            for child in self._children(model_id):
                if child in self._models and child not in seen:
                    seen.add(child)
                    found.append(child)
        return found

    def _hidden(self, state: dict[str, Any]) -> bool:
        layout = self._models.get(_model_ref(state.get("layout")) or "")
        return layout is not None and (layout.get("display") == "none"
                                       or layout.get("visibility") == "hidden")

    def _text(self, model_id: str, depth: int) -> str | None:
        state = self._models.get(model_id)
        if state is None or depth > _MAX_DEPTH:
            return None
        if self._hidden(state):
            return ""
        name = state.get("_model_name")
        description = str(state.get("description") or "").strip()
        if isinstance(state.get("children"), list):
            parts = [(self._text(child, depth + 1) or "").strip()
                     for child in self._children(model_id)]
            parts = [part for part in parts if part]
            return (" " if name in _ROW_BOXES else "\n").join(parts)
        value = state.get("value")
        if name in _PROGRESS:
            number, high = _number(value), _number(state.get("max"))
            low = _number(state.get("min")) or 0.0
            if number is None or high is None:
                return description
            shown = progress_bar(number, low, high)
            if depth == 0 and high > low:
                # Alone, a bar says how far it got; in a box (tqdm's) its labels say it.
                shown += f" {100 * (number - low) / (high - low):.0f}%"
        elif name in ("HTMLModel", "HTMLMathModel"):
            shown = _html_text(str(value or ""))
        elif name == "CheckboxModel":
            return f"{'☑' if value else '☐'} {description}".rstrip()
        elif name == "ButtonModel":
            return f"[ {description} ]"
        elif name == "PasswordModel":
            shown = "•" * len(str(value or ""))
        elif "_options_labels" in state and "index" in state:
            labels, index = state.get("_options_labels") or [], state.get("index")
            indexes = index if isinstance(index, list | tuple) else [index]
            shown = ", ".join(str(labels[i]) for i in indexes
                              if isinstance(i, int) and 0 <= i < len(labels))
        elif "value" in state:
            shown = _value_text(value)
        else:
            return description or None
        return f"{_label(description)} {shown}" if description else shown

