"""One writing run per cache at a time: an exclusive advisory lock (fcntl.flock) on the cache folder itself
(no lock file: Zarr would warn about a stray file in the hierarchy).

A second run on the same cache waits for the first to finish, then plans again (and usually finds
everything cached). The lock is released by the kernel when its holder exits, killed or not, so a
crashed run never blocks the next one. flock works between processes of one machine and on local
file systems; on a network file system shared by several machines, run one writer at a time.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

@contextlib.contextmanager
def cache_write_lock(cache: str | Path, on_wait: Callable[[str], None] | None = None,
                     timeout: float | None = None) -> Iterator[None]:
    """Hold the cache's write lock for the duration of the block (creating the cache folder if needed).

    Raises TimeoutError if `timeout` seconds pass without getting it.
    """
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    fd = os.open(cache, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait:
                on_wait(f"{cache}: another run is writing this cache; waiting for it to finish")
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if deadline is not None and time.monotonic() > deadline:
                        raise TimeoutError(f"{cache}: still locked by another run after {timeout} s") from None
                    time.sleep(0.2)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
