"""Conversational AI: agents, conversations, knowledge base, phone numbers, outbound calls."""

from __future__ import annotations

import json

from . import catalog
from .errors import ApiError
from .messages import Request, Response
from .routing import require_text, route
from .state import FakeState, new_id


def sdk_checked(value, type_name: str, field: str):
    """`value` as the official SDK's request model `type_name` accepts it (strictly, as JSON), else a 422 naming
    the first problem: the fake refuses request bodies the real API's published models refuse."""
    from elevenlabs import types as sdk_types  # imported on the first such request: the fake starts fast
    from pydantic import TypeAdapter, ValidationError

    model = list[getattr(sdk_types, type_name[5:-1])] if type_name.startswith("list[") else getattr(sdk_types,
                                                                                                    type_name)
    try:
        TypeAdapter(model).validate_json(json.dumps(value), strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in (field, *first["loc"]))
        raise ApiError(422, "invalid_parameter", f"{where}: {first['msg']}") from None
    return value


def _page(request: Request, items: list[dict], key: str) -> Response:
    """A cursor page as the convai list endpoints return it (the cursor is an offset here)."""
    page_size = max(1, min(request.int_param("page_size", 30), 100))
    cursor = request.param("cursor") or "0"
    start = int(cursor) if cursor.isdigit() else 0
    has_more = start + page_size < len(items)
    next_cursor = str(start + page_size) if has_more else None
    return Response.json({key: items[start : start + page_size], "has_more": has_more, "next_cursor": next_cursor})


@route("GET", "/v1/convai/agents")
def list_agents(request: Request, state: FakeState) -> Response:
    search = (request.param("search") or "").lower()
    agents = [_agent_summary(a) for a in state.agents() if search in a["name"].lower()]
    return _page(request, agents, "agents")


def _agent_summary(agent: dict) -> dict:
    tts = agent["conversation_config"].get("tts") or {}
    return {
        "agent_id": agent["agent_id"],
        "name": agent["name"],
        "voice_id": tts.get("voice_id") or "",
        "tags": agent["tags"],
        "created_at_unix_secs": agent["metadata"]["created_at_unix_secs"],
        "updated_at_unix_secs": agent["metadata"]["updated_at_unix_secs"],
        "access_info": {
            "is_creator": True,
            "creator_name": "Fake",
            "creator_email": "fake@example.com",
            "role": "admin",
        },
    }


@route("POST", "/v1/convai/agents/create")
def create_agent(request: Request, state: FakeState) -> Response:
    payload = request.json()
    config = payload.get("conversation_config")
    if not isinstance(config, dict):
        raise ApiError(422, "invalid_parameter", "Field 'conversation_config' is required and must be an object.")
    sdk_checked(config, "ConversationalConfig", "conversation_config")
    if payload.get("platform_settings") is not None:
        sdk_checked(payload["platform_settings"], "AgentPlatformSettingsRequestModel", "platform_settings")
    name = payload.get("name") or "Unnamed agent"
    agent_id = state.add_agent(name, config, payload.get("tags") or [])
    return Response.json({"agent_id": agent_id})


@route("GET", "/v1/convai/agents/{agent_id}")
def get_agent(request: Request, state: FakeState, agent_id: str) -> Response:
    return Response.json(state.agent(agent_id))


@route("PATCH", "/v1/convai/agents/{agent_id}")
def update_agent(request: Request, state: FakeState, agent_id: str) -> Response:
    payload = request.json()
    if payload.get("conversation_config") is not None:
        sdk_checked(payload["conversation_config"], "ConversationalConfig", "conversation_config")
    changes = {key: payload.get(key) for key in ("name", "conversation_config", "platform_settings", "tags")}
    return Response.json(state.update_agent(agent_id, changes))


@route("POST", "/v1/convai/agents/{agent_id}/simulate-conversation")
def simulate_conversation(request: Request, state: FakeState, agent_id: str) -> Response:
    payload = request.json()
    if not isinstance(payload.get("simulation_specification"), dict):
        raise ApiError(422, "invalid_parameter", "Field 'simulation_specification' is required.")
    sdk_checked(payload["simulation_specification"], "ConversationSimulationSpecification", "simulation_specification")
    if payload.get("extra_evaluation_criteria") is not None:
        sdk_checked(payload["extra_evaluation_criteria"], "list[PromptEvaluationCriteria]", "extra_evaluation_criteria")
    state.agent(agent_id)
    analysis = {"call_successful": "success", "transcript_summary": "A simulated caller asked for opening hours."}
    return Response.json({"simulated_conversation": catalog.transcript(), "analysis": analysis})


@route("GET", "/v1/convai/conversations")
def list_conversations(request: Request, state: FakeState) -> Response:
    agent_id = request.param("agent_id")
    summaries = [catalog.conversation_summary(c) for c in state.conversations() if agent_id in (None, c["agent_id"])]
    return _page(request, summaries, "conversations")


@route("GET", "/v1/convai/conversations/{conversation_id}")
def get_conversation(request: Request, state: FakeState, conversation_id: str) -> Response:
    return Response.json(state.conversation(conversation_id))


@route("GET", "/v1/convai/phone-numbers")
def list_phone_numbers(request: Request, state: FakeState) -> Response:
    return Response.json(catalog.phone_numbers())


@route("POST", "/v1/convai/twilio/outbound-call", "/v1/convai/sip-trunk/outbound-call")
def outbound_call(request: Request, state: FakeState) -> Response:
    payload = request.json()
    for name in ("agent_id", "agent_phone_number_id", "to_number"):
        require_text(payload, name)
    state.agent(payload["agent_id"])
    call_id_key = "callSid" if "/twilio/" in request.path else "sip_call_id"
    return Response.json(
        {"success": True, "message": "Call initiated", "conversation_id": new_id("conv_"), call_id_key: new_id("call_")}
    )


@route("POST", "/v1/convai/knowledge-base/url")
def add_document_from_url(request: Request, state: FakeState) -> Response:
    payload = request.json()
    url = require_text(payload, "url")
    return Response.json(state.add_document(payload.get("name") or url, "url"))


@route("POST", "/v1/convai/knowledge-base/text")
def add_document_from_text(request: Request, state: FakeState) -> Response:
    payload = request.json()
    require_text(payload, "text")
    return Response.json(state.add_document(payload.get("name") or "Text document", "text"))


@route("POST", "/v1/convai/knowledge-base/file")
def add_document_from_file(request: Request, state: FakeState) -> Response:
    form = request.form()
    upload = form.uploads("file")[0]
    return Response.json(state.add_document(form.text("name") or upload.filename, "file"))
