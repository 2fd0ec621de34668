"""A timer whose delay has already passed must fire, not freeze the app: Textual 8.2.8's Timer
spins the event loop forever on a negative delay (Timer._run's skip loop never ends), and its
toasts make one when a notification expires while its toast is being built, which froze the
key fuzz under load (issue 8). Run in a subprocess, since a frozen loop cannot time out."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent("""
    import asyncio, sys
    sys.path[:0] = [{tui!r}, {root!r}]
    from pathlib import Path
    from tui_helpers import running_app, write_notebook

    async def main():
        path = write_notebook(Path({path!r}), [("code", "x = 1")])
        async with running_app(path) as (app, pilot):
            fired = asyncio.Event()
            app.set_timer(-0.01, fired.set)
            await asyncio.wait_for(fired.wait(), 10)

    asyncio.run(main())
""")


def test_a_timer_set_in_the_past_fires_instead_of_freezing_the_app(tmp_path):
    """NotebookApp: set_timer(-0.01) fires within seconds and the app closes normally."""
    root = Path(__file__).parents[2]
    script = SCRIPT.format(tui=str(root / "tests" / "tui"), root=str(root),
                           path=str(tmp_path / "t.ipynb"))
    try:
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("the app froze: a timer with a past delay spins Textual's event loop")
    assert proc.returncode == 0, proc.stderr[-2000:]
