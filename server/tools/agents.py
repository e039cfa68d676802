"""Tools about conversational AI agents and their conversations: list and read them, create an agent, give it
a knowledge base, and test it with a simulated caller."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from server.tools.common import (
    CHANGES_OR_SENDS,
    CREATES,
    READ_ONLY,
    SPENDS_CREDITS,
    ElevenLabsId,
    as_json,
    elevenlabs,
    pick,
    services,
)

DEFAULT_VOICE_ID = "JBFqnCBsd6RMkjVDRZzb"  # "George", as in the official server

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


Unit = Annotated[float, Field(ge=0, le=1)]


async def create_agent(
    ctx: Context,
    name: Annotated[str, Field(min_length=1, max_length=200, description="Name of the agent.")],
    first_message: Annotated[str, Field(description="What the agent says first, e.g. 'Hi, how can I help?'")],
    system_prompt: Annotated[str, Field(min_length=1, description="The agent's instructions.")],
    voice_id: ElevenLabsId = DEFAULT_VOICE_ID,
    language: Annotated[str, Field(pattern=r"^[a-z]{2}(-[A-Za-z]{2,4})?$", description="ISO 639-1 code.")] = "en",
    llm: Annotated[str, Field(description="The LLM behind the agent.")] = "gemini-2.0-flash-001",
    temperature: Unit = 0.5,
    max_tokens: Annotated[int | None, Field(ge=1, description="Largest reply; omit for the default.")] = None,
    asr_quality: Annotated[Literal["high"], Field(description="The API accepts only high today.")] = "high",
    model_id: Annotated[str, Field(description="ElevenLabs voice model of the agent.")] = "eleven_turbo_v2",
    optimize_streaming_latency: Annotated[int, Field(ge=0, le=4)] = 3,
    stability: Unit = 0.5,
    similarity_boost: Unit = 0.8,
    turn_timeout: Annotated[int, Field(ge=1, le=30, description="Seconds the agent waits for the user.")] = 7,
    max_duration_seconds: Annotated[int, Field(ge=10, le=7200, description="Longest conversation.")] = 300,
    record_voice: bool = True,
    retention_days: Annotated[int, Field(ge=-1, le=730, description="Days conversations are kept.")] = 730,
) -> str:
    """Create a conversational AI agent with a voice, a first message and a system prompt; returns its agent_id.

    Adds an agent to the account; creating it is free, its conversations cost credits.
    Free to create; only call it when the user asks for it.
    """
    prompt = {"prompt": system_prompt, "llm": llm, "temperature": temperature, "knowledge_base": [],
              "tools": [{"type": "system", "name": "end_call", "description": "",
                                                     "params": {"system_tool_type": "end_call"}}]}
    if max_tokens:
        prompt["max_tokens"] = max_tokens
    config = {
        "agent": {"language": language, "prompt": prompt, **({"first_message": first_message} if first_message else {})},
        "asr": {"quality": asr_quality, "provider": "elevenlabs", "user_input_audio_format": "pcm_16000"},
        "tts": {"voice_id": voice_id, "model_id": model_id, "agent_output_audio_format": "pcm_16000",
                "optimize_streaming_latency": optimize_streaming_latency, "stability": stability,
                "similarity_boost": similarity_boost},
        "turn": {"turn_timeout": turn_timeout},
        "conversation": {"max_duration_seconds": max_duration_seconds},
    }
    platform = {"privacy": {"record_voice": record_voice, "retention_days": retention_days}}
    created = await elevenlabs(ctx).post_json(
        "/v1/convai/agents/create", body={"name": name, "conversation_config": config, "platform_settings": platform}
    )
    return as_json({"agent_id": created.get("agent_id"), "name": name, "voice_id": voice_id, "language": language,
                    "llm": llm})


async def add_knowledge_base_to_agent(
    ctx: Context,
    agent_id: ElevenLabsId,
    knowledge_base_name: Annotated[str, Field(min_length=1, max_length=200, description="Name of the document.")],
    url: Annotated[str | None, Field(pattern=r"^https://", description="A public https:// page ElevenLabs "
                                     "fetches and indexes.")] = None,
    text: Annotated[str | None, Field(min_length=1, description="The document's text.")] = None,
    file_base64: Annotated[str | None, Field(description="A document (epub, pdf, docx, txt, html) as base64 or a "
                                             "data: URL.")] = None,
    file_name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_ .-]{1,100}$", description="Name of that file, with its "
                                    "extension.")] = "document.txt",
) -> str:
    """Add a document to the workspace's knowledge base and attach it to an agent (give url, text or file_base64).

    CHANGES the agent's configuration (its knowledge base list). Free; only call it when the user asks for it.
    """
    given = [value for value in (url, text, file_base64) if value is not None]
    if len(given) != 1:
        raise ToolError("Give exactly one of url, text or file_base64.")
    api = elevenlabs(ctx)
    agent_path = f"/v1/convai/agents/{quote(agent_id, safe='')}"
    agent = await api.get_json(agent_path)  # before adding: an unknown agent leaves no stray document
    if url is not None:
        document, kind = await api.post_json("/v1/convai/knowledge-base/url",
                                             body={"url": url, "name": knowledge_base_name}), "url"
    elif text is not None:
        document, kind = await api.post_json("/v1/convai/knowledge-base/text",
                                             body={"text": text, "name": knowledge_base_name}), "text"
    else:
        with services(ctx).inputs.for_call((), [file_base64]) as call:
            upload = call.decode(file_base64, field="file_base64")
            document, kind = await api.post_multipart(
                "/v1/convai/knowledge-base/file", data={"name": knowledge_base_name},
                files=[("file", (file_name, upload.data, upload.content_type))],
            ), "file"
    config = agent.get("conversation_config") or {}
    prompt = (config.setdefault("agent", {}) or {}).setdefault("prompt", {})
    prompt["knowledge_base"] = [*(prompt.get("knowledge_base") or []),
                                {"type": kind, "name": knowledge_base_name, "id": document.get("id")}]
    await api.patch_json(agent_path, body={"conversation_config": config})
    return f"Knowledge base document {document.get('id')} ({kind}) created and added to agent {agent_id}."


class EvaluationCriterion(BaseModel):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Key, e.g. issue_resolved.")]
    name: Annotated[str, Field(min_length=1, description="Label, e.g. Issue Resolved.")]
    conversation_goal_prompt: Annotated[str, Field(min_length=1, description="What must be true.")]
    use_knowledge_base: bool = False


async def simulate_conversation(
    ctx: Context,
    agent_id: ElevenLabsId,
    simulated_user_prompt: Annotated[str, Field(min_length=1, description="How the simulated user behaves, e.g. "
                                                "'a frustrated customer who cannot find the cancel button'.")],
    first_message: Annotated[str | None, Field(description="The simulated user's opening message.")] = None,
    extra_evaluation_criteria: list[EvaluationCriterion] | None = None,
    max_turns: Annotated[int, Field(ge=1, le=50)] = 10,
) -> str:
    """Test an agent with a simulated user (text only, no call): returns the transcript and its analysis.

    Long simulations may take longer than this server's time budget; keep max_turns small.
    COSTS ElevenLabs credits: only call it when the user asks for it.
    """
    user = {"prompt": {"prompt": simulated_user_prompt}, **({"first_message": first_message} if first_message else {})}
    criteria = [c.model_dump() for c in extra_evaluation_criteria or []]
    result = await elevenlabs(ctx).post_json(
        f"/v1/convai/agents/{quote(agent_id, safe='')}/simulate-conversation",
        body={"simulation_specification": {"simulated_user_config": user},
              "extra_evaluation_criteria": criteria or None, "new_turns_limit": max_turns},
    )
    lines = [f"{turn.get('role', '?')}: {turn.get('message') or ''}"
             for turn in result.get("simulated_conversation") or [] if turn.get("message")]
    analysis = result.get("analysis") or {}
    summary = {**pick(analysis, "call_successful", "transcript_summary"),
               "criteria": {key: pick(value or {}, "result", "rationale")
                            for key, value in (analysis.get("evaluation_criteria_results") or {}).items()}}
    return "Transcript:\n" + "\n".join(lines) + f"\n\nAnalysis: {as_json(summary)}"


TOOLS = [
    (list_agents, READ_ONLY),
    (get_agent, READ_ONLY),
    (list_conversations, READ_ONLY),
    (get_conversation, READ_ONLY),
    (create_agent, CREATES),
    (add_knowledge_base_to_agent, CHANGES_OR_SENDS),
    (simulate_conversation, SPENDS_CREDITS),
]
