"""zanj-polars: polars DataFrames, Series and LazyFrames for zanj, stored as Arrow IPC members.

Installed, it is found through the `zanj` entry-point group; polars and pyarrow are imported
only when a frame is actually saved or read.
"""

__version__ = "0.1.0"
