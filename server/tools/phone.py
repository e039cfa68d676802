"""Tools about the account's phone numbers and the calls its agents place from them."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from server.tools.common import CHANGES_OR_SENDS, READ_ONLY, ElevenLabsId, as_json, elevenlabs, pick

# The API's outbound-call endpoint for each provider a phone number can have.
OUTBOUND_CALL_PATHS = {"twilio": "/v1/convai/twilio/outbound-call", "sip_trunk": "/v1/convai/sip-trunk/outbound-call"}


async def list_phone_numbers(ctx: Context) -> str:
    """List the account's phone numbers: number, id, provider, label and the agent assigned to each. Free."""
    numbers = await elevenlabs(ctx).get_json("/v1/convai/phone-numbers")
    return as_json([
        {**pick(n, "phone_number", "phone_number_id", "provider", "label", "supports_outbound"),
         "assigned_agent": pick(n.get("assigned_agent") or {}, "agent_id", "agent_name") or None}
        for n in numbers
    ])


async def make_outbound_call(
    ctx: Context,
    agent_id: ElevenLabsId,
    agent_phone_number_id: Annotated[ElevenLabsId, Field(description="The number to call from (list_phone_numbers).")],
    to_number: Annotated[str, Field(pattern=r"^\+[1-9][0-9]{6,14}$", description="Number to call, E.164: +15551234567.")],
) -> str:
    """Have an agent phone someone now, from one of the account's numbers (Twilio or SIP trunk).

    RINGS A REAL PHONE: only call it when the user asks for this call, to this number.
    Not retried: if it fails, check list_conversations before trying again.
    COSTS ElevenLabs credits (per minute of call) and the phone provider's fees.
    """
    api = elevenlabs(ctx)
    numbers = await api.get_json("/v1/convai/phone-numbers")
    number = next((n for n in numbers if n.get("phone_number_id") == agent_phone_number_id), None)
    if number is None:
        raise ToolError(f"No phone number {agent_phone_number_id!r} in this account; see list_phone_numbers.")
    path = OUTBOUND_CALL_PATHS.get(str(number.get("provider")).lower())
    if path is None:
        raise ToolError(f"Phone number {agent_phone_number_id} has provider {number.get('provider')!r}, which "
                        "cannot place outbound calls (twilio or sip_trunk can).")
    call = await api.post_json(path, body={"agent_id": agent_id, "agent_phone_number_id": agent_phone_number_id,
                                           "to_number": to_number}, retry=False)
    return f"Call to {to_number} started by agent {agent_id}: " + as_json(
        pick(call, "success", "message", "conversation_id", "callSid", "sip_call_id"))


TOOLS = [
    (list_phone_numbers, READ_ONLY),
    (make_outbound_call, CHANGES_OR_SENDS),
]
