"""G.711 mu-law and A-law encoding of 16-bit PCM (the ITU/Sun reference algorithm;
checked sample by sample against the standard library's former `audioop`)."""

from __future__ import annotations

import struct


def ulaw_byte(sample: int) -> int:
    value, mask = (-(sample >> 2), 0x7F) if sample < 0 else (sample >> 2, 0xFF)
    value = min(value, 8159) + 0x21  # 14-bit magnitude, clipped, plus the mu-law bias
    segment = max(0, value.bit_length() - 6)
    if segment >= 8:
        return 0x7F ^ mask
    return ((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask


def alaw_byte(sample: int) -> int:
    value, mask = (-(sample >> 3) - 1, 0x55) if sample < 0 else (sample >> 3, 0xD5)  # 13-bit magnitude
    segment = max(0, value.bit_length() - 5)
    if segment >= 8:
        return 0x7F ^ mask
    mantissa = (value >> (segment if segment >= 2 else 1)) & 0x0F
    return ((segment << 4) | mantissa) ^ mask


def encode(pcm: bytes, codec: str) -> bytes:
    """`pcm` (16-bit little-endian) as one byte per sample; `codec` is "ulaw" or "alaw"."""
    to_byte = ulaw_byte if codec == "ulaw" else alaw_byte
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm)
    return bytes(to_byte(sample) for sample in samples)
