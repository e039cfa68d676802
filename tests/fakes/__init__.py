"""Local stand-ins for remote services, used by the tests and benchmarks."""

from .elevenlabs_api import FAKE_API_KEY, FakeElevenLabs

__all__ = ["FAKE_API_KEY", "FakeElevenLabs"]
