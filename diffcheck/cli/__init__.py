"""Command line stage: click commands over the library (`main` is the `diffcheck`
command). May import every stage; nothing imports it.
"""

from .main import main

__all__ = ["main"]
