"""Local stand-ins for remote services, used by the tests and benchmarks.

The names below load on first use (PEP 562), so that `python -m tests.fakes.elevenlabs_api` (docs/server.md) runs
the module once, as __main__, instead of finding it imported already by this package (runpy's RuntimeWarning).
"""

__all__ = ["FAKE_API_KEY", "FakeElevenLabs"]


def __getattr__(name: str):
    if name in __all__:
        from . import elevenlabs_api

        return getattr(elevenlabs_api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
