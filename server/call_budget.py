"""What one tool call may spend: one deadline, the input bytes it may hold, and the audio its reply carries inline.

- Time: a tool call has MCP_UPSTREAM_BUDGET_SECONDS in all, below the front door's 29 s. Fetching its input URLs,
  every ElevenLabs attempt and retry, and the backoff between them all draw on that one deadline
  (`seconds_left`), so a call with slow inputs cannot outlive the front door or the drain.
- Memory: input audio (fetched URLs, decoded base64) is held until it is uploaded. One call may hold at most
  MCP_MAX_CALL_INPUT_BYTES; all calls together at most the server's input memory, sized from the task's memory
  (MCP_MEMORY_MIB, which the compiler passes). A call that would go over it gets a "busy, retry" tool error at
  once instead of taking the task past its memory and being killed with every other call in it.
- Reply size: MCP_MAX_INLINE_AUDIO_BYTES bounds the audio inline in one reply, all blocks together (text_to_voice
  returns three previews): behind the WebSocket API a reply must fit one 128 KB message, and three previews each
  under the limit did not. What does not fit goes to the output bucket like any larger audio (`take_inline`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from mcp.server.mcpserver.exceptions import ToolError

_deadline: ContextVar[float | None] = ContextVar("tool_call_deadline", default=None)
_inline_left: ContextVar[list[int] | None] = ContextVar("tool_call_inline_bytes_left", default=None)


@contextmanager
def tool_call(seconds: float, inline_audio_bytes: int) -> Iterator[None]:
    """Everything awaited inside (in this task) shares one deadline `seconds` from now, and one reply's allowance
    of inline audio."""
    deadline = _deadline.set(time.monotonic() + seconds)
    inline = _inline_left.set([inline_audio_bytes])
    try:
        yield
    finally:
        _deadline.reset(deadline)
        _inline_left.reset(inline)


def take_inline(size: int, limit: int) -> bool:
    """Whether `size` bytes of audio may go inline in this reply (then they are counted against it)."""
    left = _inline_left.get()
    if size > (limit if left is None else min(limit, left[0])):
        return False
    if left is not None:
        left[0] -= size
    return True


def seconds_left(limit: float) -> float:
    """`limit`, or what is left of the current tool call's deadline when that is sooner (never below 0)."""
    deadline = _deadline.get()
    if deadline is None:
        return limit
    return max(0.0, min(limit, deadline - time.monotonic()))


class ServerBusy(ToolError):
    """The server holds as much input audio as its memory allows; the client should retry shortly."""


class InputMemory:
    """The bytes of input audio all calls hold at once, at most `limit`. Single-threaded (one event loop)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.in_use = 0

    def take(self, size: int) -> None:
        if self.in_use + size > self.limit:
            raise ServerBusy(
                f"This server is busy: calls in progress hold as much audio as its memory allows ({self.limit} "
                "bytes, sized from MCP_MEMORY_MIB). Retry in a few seconds."
            )
        self.in_use += size

    def give_back(self, size: int) -> None:
        self.in_use -= size


class CallAccount:
    """One call's share of the input memory. Admission takes the most the call can hold at once (`reserved`:
    every URL at MCP_MAX_INPUT_BYTES and the base64 given, capped at MCP_MAX_CALL_INPUT_BYTES), so a call that is
    let in never runs out half-way, and ten calls arriving together do not all start downloading and all fail:
    those that do not fit are told to retry before anything is fetched. All is given back when the call ends."""

    def __init__(self, memory: InputMemory, limit: int, reserved: int):
        self.memory = memory
        self.limit = limit
        memory.take(min(reserved, limit))
        self.taken = min(reserved, limit)
        self.held = 0

    def reserve(self, size: int, field: str) -> None:
        if self.held + size > self.limit:
            raise ToolError(
                f"The inputs of one call are limited to {self.limit} bytes in all (MCP_MAX_CALL_INPUT_BYTES); "
                f"{field} goes past that. Give fewer or shorter recordings."
            )
        if self.held + size > self.taken:  # more than admitted (a base64 estimate fell short): take the rest
            self.memory.take(self.held + size - self.taken)
            self.taken = self.held + size
        self.held += size

    def close(self) -> None:
        self.memory.give_back(self.taken)
        self.taken = self.held = 0
