"""zanj-pandas: pandas DataFrames and Series for zanj, stored as Arrow IPC members.

Installed, it is found through the `zanj` entry-point group; pandas and pyarrow are imported
only when a frame or series is actually saved or read.
"""

__version__ = "0.1.0"
