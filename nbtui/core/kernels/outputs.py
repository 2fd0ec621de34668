"""Kernel output messages made into nbformat outputs, one execution at a time.

:class:`OutputCollector` turns IOPub messages into nbformat v4 output dicts (streams merged with
``\\r`` progress bars collapsed, ``clear_output(wait=True)``, display-id updates, widgets drawn as
text, bounded memory). It is pure, so it is tested against recorded message sequences without a
kernel.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from nbtui.core.widgets import WIDGET_VIEW_MIME, WidgetStore, view_model_id

STREAM_KEEP_HEAD = 500_000
"""Characters kept from the start of one stream output once it outgrows its cap."""

STREAM_KEEP_TAIL = 1_500_000
"""Characters kept from the end of one stream output once it outgrows its cap (the newest text
matters most: the final progress state, the last lines before an error)."""

MAX_OUTPUTS = 500
"""Outputs kept per execution; beyond that the oldest are dropped behind a marker output."""

_CR_NEWLINE = re.compile(r"\r+\n")
_ERASED_BY_CR = re.compile(r"[^\n]*\r")
_JSON_MIME = re.compile(r"^application/(.*\+)?json$")


def widget_key(model_id: str) -> str:
    """The key under which outputs showing a widget model are indexed beside display ids (the
    NUL keeps it apart from any display id a kernel names)."""
    return f"\0widget:{model_id}"


class DisplayIndex:
    """Which collectors hold outputs with a given display id, across all runs of a session.

    Display ids are transient (the kernel names a display so that it can update it later): they
    live only here, in memory, and are never written into the notebook. Outputs that show a
    widget are indexed the same way under their model (:func:`widget_key`), and the session's
    widget models live in :attr:`widgets`.
    """

    def __init__(self) -> None:
        self._holders: dict[str, list[OutputCollector]] = {}
        self.widgets = WidgetStore()
        """The kernel's widget models, shared by every run (a widget shown by one cell can be
        changed by another)."""

    def register(self, display_id: str, collector: OutputCollector) -> None:
        """Record that `collector` holds an output with `display_id`."""
        holders = self._holders.setdefault(display_id, [])
        if not any(h is collector for h in holders):
            holders.append(collector)

    def update(self, display_id: str, data: dict[str, Any],
               metadata: dict[str, Any]) -> list[OutputCollector]:
        """Replace data and metadata of every output shown under `display_id`.

        Returns:
            The collectors whose outputs changed.
        """
        holders = self._holders.get(display_id)
        if not holders:
            return []
        changed = [c for c in holders if c.update_display(display_id, data, metadata)]
        if changed:
            self._holders[display_id] = changed
        else:
            del self._holders[display_id]
        return changed

    def apply_comm(self, msg: dict[str, Any]) -> list[OutputCollector]:
        """Apply a comm message (comm_open, comm_msg, comm_close) to the widget models, and
        redraw the outputs that show a model it changed.

        Returns:
            The collectors whose outputs changed.
        """
        changed: list[OutputCollector] = []
        for model_id in self.widgets.apply(msg):
            for collector in self._holders.get(widget_key(model_id), ()):
                if collector.refresh_widget(model_id) and collector not in changed:
                    changed.append(collector)
        return changed

    def forget(self, collector: OutputCollector) -> None:
        """Stop updating `collector`'s outputs (its run was replaced or is too old)."""
        for display_id in list(collector.display_ids):
            holders = [h for h in self._holders.get(display_id, []) if h is not collector]
            if holders:
                self._holders[display_id] = holders
            else:
                self._holders.pop(display_id, None)

    def clear(self) -> None:
        """Forget every display and widget (the kernel that made them is gone)."""
        self._holders.clear()
        self.widgets.clear()


class _StreamText:
    """The text of one stream output, kept in pieces so that appending a chunk costs O(chunk).

    Invariants: `lines` holds complete lines (each piece ends with a newline) with every `\\r`
    already applied; `line` holds the unfinished last line; a `\\r` that ended the last chunk is
    held back in `pending_cr`, because only the next chunk tells whether it was half of `\\r\\n`.
    """

    __slots__ = ("output", "name", "head", "dropped", "lines", "lines_len", "line", "line_len",
                 "pending_cr", "stale")

    def __init__(self, output: dict[str, Any], name: str) -> None:
        self.output = output
        self.name = name
        self.head: str | None = None
        self.dropped = 0
        self.lines: list[str] = []
        self.lines_len = 0
        self.line: list[str] = []
        self.line_len = 0
        self.pending_cr = False
        self.stale = False

    def feed(self, chunk: str) -> None:
        if self.pending_cr:
            self.pending_cr = False
            if not chunk.startswith("\n"):
                chunk = "\r" + chunk
        if "\r" in chunk:
            chunk = _CR_NEWLINE.sub("\n", chunk)
            kept = chunk.rstrip("\r")
            self.pending_cr = len(kept) != len(chunk)
            chunk = kept
        end = chunk.rfind("\n") + 1
        if end:
            done = "".join(self.line) + chunk[:end]
            if "\r" in done:
                done = _ERASED_BY_CR.sub("", done)
            self.lines.append(done)
            self.lines_len += len(done)
            self.line, self.line_len = [], 0
        rest = chunk[end:]
        cr = rest.rfind("\r")
        if cr >= 0:
            # A carriage return erases the unfinished line, as Jupyter front ends show it.
            rest = rest[cr + 1:]
            self.line, self.line_len = [], 0
        if rest:
            self.line.append(rest)
            self.line_len += len(rest)
        self.stale = True

    def trim(self, keep_head: int, keep_tail: int) -> None:
        if self.head is None:
            if self.lines_len > keep_head + keep_tail:
                text = "".join(self.lines)
                cut = text.rfind("\n", 0, keep_head) + 1 or keep_head
                self.head = text[:cut]
                self._keep_tail(text[cut:], keep_tail)
        elif self.lines_len > keep_tail + keep_tail // 4:
            self._keep_tail("".join(self.lines), keep_tail)
        if self.line_len > keep_tail:
            line = "".join(self.line)
            self.dropped += len(line) - keep_tail
            self.line, self.line_len = [line[-keep_tail:]], keep_tail

    def _keep_tail(self, text: str, keep_tail: int) -> None:
        start = max(0, len(text) - keep_tail)
        if start and text[start - 1] != "\n":
            newline = text.find("\n", start)
            if 0 <= newline < len(text) - 1:
                start = newline + 1
        self.dropped += start
        text = text[start:]
        self.lines, self.lines_len = ([text] if text else []), len(text)

    def render(self) -> None:
        body = "".join(self.lines)
        self.lines = [body] if body else []
        line = "".join(self.line)
        self.line = [line] if line else []
        if self.head is None:
            text = body + line
        else:
            gap = "" if not self.head or self.head.endswith("\n") else "\n"
            text = (f"{self.head}{gap}[nbtui: {self.dropped:,} characters of output dropped "
                    f"here]\n{body}{line}")
        self.output["text"] = text
        self.stale = False


def display_id_of(content: dict[str, Any]) -> str | None:
    transient = content.get("transient")
    display_id = transient.get("display_id") if isinstance(transient, dict) else None
    return display_id if isinstance(display_id, str) and display_id else None


def mimebundle(data: Any) -> dict[str, Any]:
    """A kernel's MIME bundle in the shape nbformat accepts (text values as strings)."""
    if not isinstance(data, dict):
        return {}
    bundle: dict[str, Any] = {}
    for mime, value in data.items():
        if not isinstance(mime, str):
            continue
        if (_JSON_MIME.match(mime) or isinstance(value, str)
                or (isinstance(value, list) and all(isinstance(v, str) for v in value))):
            bundle[mime] = value
        else:
            bundle[mime] = str(value)
    return bundle


class OutputCollector:
    """Applies IOPub messages, one at a time, to the outputs list of one execution.

    The outputs are nbformat v4 output dicts, the shape `nbformat.v4.output_from_msg` makes
    (built directly: validating every output of a flood with jsonschema costs a millisecond
    each). Consecutive chunks of one stream merge into one output with `\\r` progress bars
    collapsed; `clear_output(wait=True)` clears just before the next output arrives; display ids
    are shared with every other collector of the session through `displays`. Memory stays
    bounded: a stream output keeps its first `stream_head` and last `stream_tail` characters and
    says how much it dropped; beyond `max_outputs` outputs the oldest are dropped behind a marker.

    Args:
        outputs: the list to fill (adopted, mutated in place); a new list if None.
        displays: the session's display-id index; a private one if None.
        owner: whatever this collector belongs to (the session passes the Execution).
        max_outputs: outputs kept, the marker included (at least 2).
        stream_head: characters kept from the start of an overlong stream.
        stream_tail: characters kept from the end of an overlong stream.
    """

    def __init__(
        self,
        outputs: list[dict[str, Any]] | None = None,
        *,
        displays: DisplayIndex | None = None,
        owner: Any = None,
        max_outputs: int = MAX_OUTPUTS,
        stream_head: int = STREAM_KEEP_HEAD,
        stream_tail: int = STREAM_KEEP_TAIL,
    ) -> None:
        if max_outputs < 2:
            raise ValueError("max_outputs must be at least 2 (one output and the marker).")
        self.outputs: list[dict[str, Any]] = [] if outputs is None else outputs
        self.displays = DisplayIndex() if displays is None else displays
        self.owner = owner
        self.max_outputs = max_outputs
        self.stream_head = stream_head
        self.stream_tail = stream_tail
        self.dropped_outputs = 0
        """How many outputs were dropped to respect `max_outputs` since the last clear."""
        self._stream: _StreamText | None = None
        self._clear_pending = False
        self._display_outputs: dict[str, list[dict[str, Any]]] = {}
        self._marker: dict[str, Any] | None = None

    @property
    def display_ids(self) -> Iterable[str]:
        """The display ids of the outputs this collector holds."""
        return self._display_outputs.keys()

    def apply(self, msg: dict[str, Any], *, render: bool = True) -> list[OutputCollector]:
        """Apply one IOPub message.

        Args:
            msg: a Jupyter message (`header.msg_type` and `content` are read); comm messages
                change widgets (:meth:`DisplayIndex.apply_comm`); other messages that are not
                outputs (status, execute_input) are ignored.
            render: bring stream text up to date now. The session passes False and calls
                :meth:`render` once per burst instead.

        Returns:
            The collectors whose outputs changed (this one and, for display updates, others).
        """
        msg_type = msg["header"]["msg_type"]
        content = msg.get("content") or {}
        changed: list[OutputCollector] = []
        if msg_type == "clear_output":
            if content.get("wait"):
                self._clear_pending = True
            else:
                self.clear()
                changed = [self]
        elif msg_type == "update_display_data":
            display_id = display_id_of(content)
            if display_id is not None:
                changed = self.displays.update(display_id, mimebundle(content.get("data")),
                                               dict(content.get("metadata") or {}))
        elif msg_type == "stream":
            self._add_stream(str(content.get("name", "stdout")), content.get("text", ""))
            changed = [self]
        elif msg_type in ("display_data", "execute_result"):
            changed = self._add_display(msg_type, content)
        elif msg_type in ("comm_open", "comm_msg", "comm_close"):
            changed = self.displays.apply_comm(msg)
        elif msg_type == "error":
            self._take_pending_clear()
            traceback = content.get("traceback") or []
            self._append({
                "output_type": "error",
                "ename": str(content.get("ename", "")),
                "evalue": str(content.get("evalue", "")),
                "traceback": [str(line) for line in traceback],
            })
            changed = [self]
        if render:
            self.render()
        return changed

    def render(self) -> None:
        """Bring the text of the stream output being appended to up to date."""
        if self._stream is not None and self._stream.stale:
            self._stream.render()

    def clear(self) -> None:
        """Remove every output (in place: whoever holds the list sees it empty)."""
        self.outputs.clear()
        self._stream = None
        self._clear_pending = False
        self._display_outputs.clear()
        self._marker = None
        self.dropped_outputs = 0

    def update_display(self, display_id: str, data: dict[str, Any],
                       metadata: dict[str, Any]) -> bool:
        """Replace data and metadata of this collector's outputs with `display_id`.

        Returns:
            Whether this collector holds any output with that display id.
        """
        outputs = self._display_outputs.get(display_id)
        if not outputs:
            return False
        for output in outputs:
            output["data"] = data
            output["metadata"] = metadata
        return True

    def refresh_widget(self, model_id: str) -> bool:
        """Redraw the text of this collector's outputs that show the widget `model_id`.

        The text goes to the bundle's text/plain, which is what every view reads and what
        Jupyter shows where it cannot draw the widget; a closed model's views show nothing
        (and their model id is emptied, as JupyterLab records a removed view).

        Returns:
            Whether any output changed.
        """
        text = self.displays.widgets.text(model_id)
        if text is None:
            return False
        closed = self.displays.widgets.closed(model_id)
        changed = False
        for output in self._display_outputs.get(widget_key(model_id), ()):
            data = output["data"]
            # A new dict: whoever compares bundles sees the change.
            drawn = {**data, "text/plain": text}
            view = data.get(WIDGET_VIEW_MIME)
            if closed and isinstance(view, dict):
                drawn[WIDGET_VIEW_MIME] = {**view, "model_id": ""}
            if drawn != data:
                output["data"] = drawn
                changed = True
        return changed

    # -- internals -------------------------------------------------------------------------

    def _take_pending_clear(self) -> None:
        if self._clear_pending:
            self.clear()

    def _add_stream(self, name: str, text: Any) -> None:
        self._take_pending_clear()
        stream = self._stream
        if stream is None or stream.name != name:
            output = {"output_type": "stream", "name": name, "text": ""}
            self._append(output)
            stream = self._stream = _StreamText(output, name)
        stream.feed(text if isinstance(text, str) else str(text))
        stream.trim(self.stream_head, self.stream_tail)

    def _add_display(self, msg_type: str, content: dict[str, Any]) -> list[OutputCollector]:
        self._take_pending_clear()
        data = mimebundle(content.get("data"))
        metadata = dict(content.get("metadata") or {})
        output: dict[str, Any] = {"output_type": msg_type, "data": data, "metadata": metadata}
        if msg_type == "execute_result":
            output["execution_count"] = content.get("execution_count")
        display_id = display_id_of(content)
        # As nbclient does: a new output under a known display id also updates the old ones.
        changed = self.displays.update(display_id, data, metadata) if display_id else []
        self._append(output)
        if display_id:
            self._display_outputs.setdefault(display_id, []).append(output)
            self.displays.register(display_id, self)
        model_id = view_model_id(data)
        if model_id is not None:
            key = widget_key(model_id)
            self._display_outputs.setdefault(key, []).append(output)
            self.displays.register(key, self)
            self.refresh_widget(model_id)
        return [self, *(c for c in changed if c is not self)]

    def _append(self, output: dict[str, Any]) -> None:
        self.render()
        self._stream = None
        self.outputs.append(output)
        if len(self.outputs) > self.max_outputs:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        if self._marker is None:
            self._marker = {"output_type": "stream", "name": "stderr", "text": ""}
            self.outputs.insert(0, self._marker)
        excess = len(self.outputs) - self.max_outputs
        dropped = self.outputs[1:1 + excess]
        del self.outputs[1:1 + excess]
        self.dropped_outputs += len(dropped)
        self._marker["text"] = (f"[nbtui: {self.dropped_outputs:,} earlier outputs dropped "
                                "to bound memory]\n")
        gone = {id(o) for o in dropped}
        for display_id, outputs in list(self._display_outputs.items()):
            kept = [o for o in outputs if id(o) not in gone]
            if kept:
                self._display_outputs[display_id] = kept
            else:
                del self._display_outputs[display_id]
