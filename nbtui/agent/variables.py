"""list_variables: a summary of what the kernel holds, computed inside the kernel."""

from __future__ import annotations

import json

from nbtui.core.kernel import KernelSession

MARKER = "__nbtui_variables__"

# Runs inside the kernel. It summarises each user variable without printing its data, and
# cleans up after itself so the user's namespace is left as it was.
_PROBE = r'''
def _nbtui_variables(limit, budget):
    import json as _json, types as _types
    ip = get_ipython()
    ns = ip.user_ns
    hidden = set(getattr(ip, "user_ns_hidden", {}))
    out = []
    for name, value in list(ns.items()):
        if name.startswith("_") or name in hidden or name in ("In", "Out", "exit", "quit",
                                                              "get_ipython"):
            continue
        if isinstance(value, (_types.ModuleType, _types.FunctionType, type,
                              _types.BuiltinFunctionType)):
            continue
        kind = type(value).__module__ + "." + type(value).__qualname__
        kind = kind.replace("builtins.", "")
        parts = []
        try:
            shape = getattr(value, "shape", None)
            if isinstance(shape, tuple):
                parts.append("shape " + "x".join(str(n) for n in shape))
            dtype = getattr(value, "dtype", None)
            if dtype is not None and not callable(dtype):
                parts.append(f"dtype {dtype}")
            columns = getattr(value, "columns", None)
            if columns is not None and hasattr(columns, "__iter__"):
                cols = [str(c)[:40] for c in list(columns)[:12]]
                hidden_columns = len(columns) - len(cols)
                extra = f" (+{hidden_columns} more)" if hidden_columns > 0 else ""
                parts.append("columns " + ", ".join(cols) + extra)
            if not parts and hasattr(value, "__len__") and not isinstance(value, (str, bytes)):
                parts.append(f"len {len(value)}")
            if not parts or isinstance(value, (int, float, complex, bool, str, bytes)):
                text = repr(value[:101] if isinstance(value, (str, bytes)) else value)
                text = text.replace("\n", " ")
                parts.append(text[:100] + ("..." if len(text) > 100 else ""))
        except Exception as exc:
            parts.append(f"(summary failed: {type(exc).__name__})")
        summary = "; ".join(parts)
        entry = {"name": name[:100], "type": kind[:100], "summary": summary[:300]}
        budget -= len(_json.dumps(entry))
        if len(out) >= limit or (out and budget < 0):
            more = True
            break
        out.append(entry)
    else:
        more = False
    print("__nbtui_variables__" + _json.dumps({"variables": out, "more": more}))
try:
    _nbtui_variables(%d, %d)
finally:
    del _nbtui_variables
'''


class VariablesError(Exception):
    """Variables could not be listed; one sentence."""


async def list_kernel_variables(kernel: KernelSession, limit: int, max_chars: int,
                                author: str) -> tuple[list[dict], bool]:
    """Name, type and a short summary of each user variable in a Python kernel, at most
    `limit` of them and `max_chars` characters of them (names, types and summaries are cut
    short); and whether there are more.

    Raises:
        VariablesError: not a Python (IPython) kernel, or the kernel is busy for too long.
    """
    if (kernel.language or "python").lower() != "python":
        raise VariablesError(f"list_variables supports Python kernels; this one runs "
                             f"{kernel.language}. Use run_code to inspect variables instead.")
    probe = kernel.run_code(_PROBE % (int(limit), int(max_chars)), author, store_history=False)
    if not await probe.wait(60):
        raise VariablesError("The kernel is busy; call list_variables again when it is idle.")
    for output in probe.outputs:
        text = output.get("text", "") if output.get("output_type") == "stream" else ""
        for line in text.splitlines():
            if line.startswith(MARKER):
                listed = json.loads(line[len(MARKER):])
                return listed["variables"], listed["more"]
    raise VariablesError("This kernel does not look like IPython, so its variables cannot be "
                         "listed; use run_code to inspect them instead.")
