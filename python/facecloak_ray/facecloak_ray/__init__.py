"""facecloak on Ray: a dataset's photos protected and evaluated across a cluster.

The work is the ``facecloak`` binary's own: ``protect --manifest M --shard K/N --resume`` and
``eval --pairs`` per shard, ``eval --merge`` at the end (see the repository's README). Ray only
places one shard per CPU, retries a shard whose task failed (``--resume`` makes the retry go on
where it stopped) and shows progress.
"""

from .driver import run

__all__ = ["run"]
