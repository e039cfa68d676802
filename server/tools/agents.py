"""Tools about conversational AI agents and their conversations (read only)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from mcp.server.mcpserver import Context
from pydantic import Field

from server.tools.common import READ_ONLY, ElevenLabsId, as_json, elevenlabs, pick

PageSize = Annotated[int, Field(ge=1, le=100)]
Cursor = Annotated[str | None, Field(description="next_cursor of the previous page.")]


async def list_agents(
    ctx: Context,
    search: Annotated[str | None, Field(description="Part of an agent's name.")] = None,
    page_size: PageSize = 30,
    cursor: Cursor = None,
) -> str:
    """List the account's conversational AI agents. Free."""
    page = await elevenlabs(ctx).get_json(
        "/v1/convai/agents", params={"search": search, "page_size": page_size, "cursor": cursor}
    )
    agents = [pick(a, "agent_id", "name", "created_at_unix_secs") for a in page.get("agents", [])]
    return as_json({"agents": agents, "next_cursor": page.get("next_cursor"), "has_more": page.get("has_more")})


async def get_agent(ctx: Context, agent_id: ElevenLabsId) -> str:
    """Details of one conversational AI agent: name, voice, first message, prompt. Free."""
    agent = await elevenlabs(ctx).get_json(f"/v1/convai/agents/{quote(agent_id, safe='')}")
    config = agent.get("conversation_config") or {}
    brain = config.get("agent") or {}
    return as_json(
        {
            **pick(agent, "agent_id", "name"),
            "voice_id": (config.get("tts") or {}).get("voice_id"),
            "first_message": brain.get("first_message"),
            "language": brain.get("language"),
            "prompt": (brain.get("prompt") or {}).get("prompt"),
            "created_at_unix_secs": (agent.get("metadata") or {}).get("created_at_unix_secs"),
        }
    )


async def list_conversations(
    ctx: Context,
    agent_id: ElevenLabsId | None = None,
    call_start_after_unix: int | None = None,
    call_start_before_unix: int | None = None,
    page_size: PageSize = 30,
    cursor: Cursor = None,
) -> str:
    """List conversations held by agents, newest first, optionally for one agent or time range. Free."""
    page = await elevenlabs(ctx).get_json(
        "/v1/convai/conversations",
        params={
            "agent_id": agent_id,
            "call_start_after_unix": call_start_after_unix,
            "call_start_before_unix": call_start_before_unix,
            "page_size": page_size,
            "cursor": cursor,
        },
    )
    fields = ("conversation_id", "agent_id", "agent_name", "status", "start_time_unix_secs", "call_duration_secs")
    conversations = [pick(c, *fields, "message_count", "call_successful") for c in page.get("conversations", [])]
    return as_json(
        {"conversations": conversations, "next_cursor": page.get("next_cursor"), "has_more": page.get("has_more")}
    )


async def get_conversation(ctx: Context, conversation_id: ElevenLabsId) -> str:
    """One conversation with its full transcript and analysis. Free."""
    conversation = await elevenlabs(ctx).get_json(f"/v1/convai/conversations/{quote(conversation_id, safe='')}")
    transcript = "\n".join(
        f"[{turn.get('time_in_call_secs', '?')}s] {turn.get('role')}: {turn.get('message') or ''}"
        for turn in conversation.get("transcript") or []
    )
    details = {
        **pick(conversation, "conversation_id", "agent_id", "status"),
        "metadata": pick(conversation.get("metadata") or {}, "start_time_unix_secs", "call_duration_secs"),
        "analysis": pick(conversation.get("analysis") or {}, "call_successful", "transcript_summary"),
    }
    return f"{as_json(details)}\n\nTranscript:\n{transcript}"


TOOLS = [
    (list_agents, READ_ONLY),
    (get_agent, READ_ONLY),
    (list_conversations, READ_ONLY),
    (get_conversation, READ_ONLY),
]
