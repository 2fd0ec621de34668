"""Record the real pandas MIME bundles of tests/data/outputs (run with the venv's python)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd


def bundle(frame: pd.DataFrame) -> dict:
    """What a notebook stores for a DataFrame result: its text and HTML reprs."""
    return {"text/plain": repr(frame), "text/html": frame._repr_html_()}


def main() -> None:
    """Write one dataframe_<name>.json per sample frame next to this script."""
    rng = np.random.default_rng(7)
    numeric = pd.DataFrame({"units": [31, 27, 33, 29], "price": [412.6, 398.125, 405.9, 1420.3],
                            "share": [0.25, 0.5, -0.125, 1e-05]},
                           index=["east", "north", "south", "west"])
    mixed = pd.DataFrame({"name": ["Ada Lovelace", "Grace Hopper", None, "Alan Turing"],
                          "score": [91.5, np.nan, 78.25, 88.0],
                          "city": ["London", np.nan, "Paris", "Wilmslow"],
                          "n": [1, 2, 3, 4]})
    sales = pd.DataFrame({"region": ["east", "east", "west", "west", "east", "west"],
                          "product": ["a", "b", "a", "b", "a", "a"],
                          "units": [3, 5, 2, 8, 4, 6],
                          "price": [1.5, 2.25, 1.75, 2.0, 1.5, 1.0]})
    multi = sales.groupby(["region", "product"]).agg({"units": ["sum", "mean"],
                                                      "price": ["max", "min"]})
    wide = pd.DataFrame(rng.integers(0, 1000, size=(5, 30)),
                        columns=[f"col_{i}" for i in range(30)])
    long = pd.DataFrame({"x": np.arange(200), "y": np.arange(200) * 1.5,
                         "label": [f"row {i}" for i in range(200)]})
    with pd.option_context("display.max_rows", None):
        long_bundle = bundle(long)
    samples = {"numeric": bundle(numeric), "mixed": bundle(mixed), "multiindex": bundle(multi),
               "wide": bundle(wide), "long200": long_bundle}
    for name, data in samples.items():
        path = Path(__file__).parent / f"dataframe_{name}.json"
        path.write_text(json.dumps({"pandas": pd.__version__, "data": data}, indent=1))


if __name__ == "__main__":
    main()
