"""Layer 1, the contract: the vocabulary the core and every plugin share.

The hook markers and signatures, the handler records, the JSON tree's markers and object
paths, the read budget, class resolution and safe text. No I/O and no walk lives here; every
other layer builds on this one, and `zanj_core.plugin` publishes the parts plugins use.
"""
