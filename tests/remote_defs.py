"""A dataclass holding arrays and a DataFrame, saved through remote storage (test_remote.py).

Its own module, imported only where numpy and pandas are installed."""

from __future__ import annotations

import numpy as np
import pandas as pd
from muutils.json_serialize import SerializableDataclass, serializable_dataclass


@serializable_dataclass
class Experiment(SerializableDataclass):
    name: str
    weights: np.ndarray
    steps: np.ndarray
    table: pd.DataFrame
