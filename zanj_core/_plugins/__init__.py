"""Layer 4, the core's own plugins: Python builtins, long sequences in members, and muutils
serializable dataclasses.

They are found through the `zanj` entry-point group and import only the published plugin
API (`zanj_core.plugin`), exactly like any third-party plugin.
"""
