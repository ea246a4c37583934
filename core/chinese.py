"""The process-wide OpenCC traditional → simplified converter, shared by the search index's analysis and the
import's match rule (one converter, loaded once per process on first use: its dictionaries take time and
memory)."""

import threading

_lock = threading.Lock()
_t2s = None


def get_t2s():
    """The OpenCC ``t2s`` converter (created on first use)."""
    global _t2s
    converter = _t2s
    if converter is None:
        with _lock:
            if _t2s is None:
                import opencc

                _t2s = opencc.OpenCC("t2s")
            converter = _t2s
    return converter
