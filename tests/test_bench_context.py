"""bench/context.py, the seed workflow's context cost, runs end to end and finds everything
the agent needs (the byte counts are the benchmark's business, not a test's)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_context_benchmark_short_run_is_complete():
    """The short run through `nbtui attach` finds the numbers, the error and the plot."""
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "context.py"), "--short"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "MISSING" not in done.stdout and done.stdout.rstrip().endswith("complete")
