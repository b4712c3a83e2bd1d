"""The `vigil` command (main.py) and its verbs."""
