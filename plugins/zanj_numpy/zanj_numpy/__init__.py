"""zanj-numpy: numpy arrays and scalars for zanj.

Installed, it is found through the `zanj` entry-point group; nothing needs importing. numpy
itself is imported only when an array or numpy scalar is actually saved or read.
"""

__version__ = "0.1.0"
