"""Record the widget comm messages in this folder from a real kernel.

Run from the project root: `.venv/bin/python tests/data/widgets/record.py` (ipykernel,
ipywidgets and tqdm from the test extras). Each JSON file holds the code that ran and the IOPub
messages whose parent was its execute request, trimmed to the fields nbtui reads
(header.msg_type, parent_header.msg_id, content); `tests/test_widgets.py` replays them.
"""

import asyncio
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "kernel"))
from record import record_cases  # noqa: E402 - the kernel recordings' loop, beside this folder

CASES = {
    # What tqdm shows in a notebook: HTML(prefix), FloatProgress, HTML(suffix) in an HBox.
    "tqdm_auto": (
        "import time\n"
        "from tqdm.auto import tqdm\n"
        "for i in tqdm(range(30), desc='train'):\n"
        "    time.sleep(0.01)"
    ),
    # leave=False closes the bar's HBox when the loop ends: the bar disappears.
    "tqdm_leave_false": (
        "import time\n"
        "from tqdm.auto import tqdm\n"
        "for i in tqdm(range(3), leave=False):\n"
        "    time.sleep(0.01)"
    ),
    # An exception inside the loop: tqdm paints the bar 'danger' and it stays where it stopped.
    "tqdm_error": (
        "from tqdm.auto import tqdm\n"
        "for i in tqdm(range(10)):\n"
        "    if i == 4:\n"
        "        raise ValueError('stop')"
    ),
    # Other widgets, and a progress bar without tqdm, updated after it was shown.
    "controls": (
        "import ipywidgets as w\n"
        "bar = w.IntProgress(value=3, min=0, max=10, description='Loading:')\n"
        "display(bar)\n"
        "bar.value = 7\n"
        "display(w.IntSlider(value=5, description='n'))\n"
        "display(w.Checkbox(value=True, description='Fast'))\n"
        "display(w.Dropdown(options=['red', 'green'], value='green', description='Colour'))\n"
        "display(w.Button(description='Go'))\n"
        "display(w.VBox([w.Label('first'), w.HTML('<b>second</b> &amp; more')]))"
    ),
}


async def record() -> None:
    import ipykernel
    import ipywidgets
    import tqdm

    await record_cases(CASES, HERE, f"ipykernel {ipykernel.__version__}, ipywidgets "
                                    f"{ipywidgets.__version__}, tqdm {tqdm.__version__}")


if __name__ == "__main__":
    asyncio.run(record())
