"""Layer 5, the tools: the `zanj` command line and `verify_file`, built on the public
reading API of the walks layer."""
