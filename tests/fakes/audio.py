"""Real audio for the fake: a 440 Hz sine tone as MP3 (LAME), WAV, raw PCM or G.711 (ulaw/alaw).

Durations are rounded up to half seconds. The PCM is a cached half-second unit repeated
(440 Hz fits a whole number of cycles into half a second, so it loops without a click);
MP3 is that PCM encoded in one go (about 0.3 s per encoded minute), cached per length.
"""

from __future__ import annotations

import functools
import io
import math
import struct
import wave

import lameenc

from . import g711
from .errors import ApiError

DEFAULT_OUTPUT_FORMAT = "mp3_44100_128"
UNIT_SECONDS = 0.5
MAX_SECONDS = 600.0
_TONE_HZ = 440.0
_AMPLITUDE = 8000
_CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
    "ulaw": "audio/basic",
    "alaw": "audio/x-alaw-basic",
}
_MP3_RATES = {22050, 24000, 44100}
_MP3_BITRATES = {32, 48, 64, 96, 128, 192}
_PCM_RATES = {8000, 16000, 22050, 24000, 32000, 44100, 48000}


def parse_output_format(output_format: str | None) -> tuple[str, int, int]:
    """`mp3_44100_128` -> ("mp3", 44100, 128); other codecs have no bitrate (0). Opus is not made."""
    text = output_format or DEFAULT_OUTPUT_FORMAT
    codec, _, rest = text.partition("_")
    numbers = [int(n) if n.isdigit() else -1 for n in rest.split("_")]
    if codec == "mp3" and len(numbers) == 2 and numbers[0] in _MP3_RATES and numbers[1] in _MP3_BITRATES:
        return codec, numbers[0], numbers[1]
    if codec in ("pcm", "wav") and len(numbers) == 1 and numbers[0] in _PCM_RATES:
        return codec, numbers[0], 0
    if codec in ("ulaw", "alaw") and numbers == [8000]:
        return codec, 8000, 0
    raise ApiError(422, "invalid_output_format", f"output_format {text!r} is not produced by the fake ElevenLabs API")


def content_type(output_format: str | None) -> str:
    return _CONTENT_TYPES[parse_output_format(output_format)[0]]


def tone(seconds: float, output_format: str | None = None) -> bytes:
    """A sine tone of about `seconds` (rounded up to half seconds) in `output_format`."""
    codec, rate, bitrate = parse_output_format(output_format)
    units = max(1, math.ceil(min(seconds, MAX_SECONDS) / UNIT_SECONDS))
    if codec == "mp3":
        return _mp3(rate, bitrate, units)
    if codec in ("ulaw", "alaw"):
        return _g711_unit(codec) * units
    pcm = _pcm_unit(rate) * units
    return _wav(pcm, rate) if codec == "wav" else pcm


@functools.lru_cache(maxsize=None)
def _pcm_unit(rate: int) -> bytes:
    """Half a second of 16-bit little-endian mono PCM."""
    count = int(rate * UNIT_SECONDS)
    step = 2 * math.pi * _TONE_HZ / rate
    samples = (int(_AMPLITUDE * math.sin(step * i)) for i in range(count))
    return struct.pack(f"<{count}h", *samples)


@functools.lru_cache(maxsize=64)
def _mp3(rate: int, bitrate: int, units: int) -> bytes:
    encoder = lameenc.Encoder()
    encoder.set_in_sample_rate(rate)
    encoder.set_channels(1)
    encoder.set_bit_rate(bitrate)
    encoder.set_quality(7)  # fast; quality is irrelevant for a test tone
    return bytes(encoder.encode(_pcm_unit(rate) * units) + encoder.flush())


@functools.lru_cache(maxsize=None)
def _g711_unit(codec: str) -> bytes:
    return g711.encode(_pcm_unit(8000), codec)


def _wav(pcm: bytes, rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return buffer.getvalue()
