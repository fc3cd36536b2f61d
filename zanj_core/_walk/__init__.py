"""Layer 3, the walks: objects to JSON and members (save), and back (load).

The plugin registry and its dispatch, the save walk (`SaveContext`), the load walk
(`LoadContext`), the lazy reader (`ZanjFile`) and `ZANJ`, which ties them to the container.
Plugins, the core's own among them, reach it only through `zanj_core.plugin`.
"""
