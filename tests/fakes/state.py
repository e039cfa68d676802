"""What the fake remembers between requests: voices, voice previews, agents, documents, songs."""

from __future__ import annotations

import copy
import threading
import time
import uuid

from . import catalog
from .errors import ApiError


def new_id(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:20]


class FakeState:
    """Thread-safe store; every getter returns a deep copy, so handlers may edit what they get."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._voices = {v["voice_id"]: v for v in catalog.premade_voices()}
        self._previews: dict[str, str] = {}  # generated_voice_id -> voice description
        self._agents: dict[str, dict] = {}
        self._documents: dict[str, dict] = {}
        self._conversations = {c["conversation_id"]: c for c in catalog.conversations()}
        config = catalog.agent_config("You answer questions.", "Hello!", "21m00Tcm4TlvDq8ikWAM")
        self.add_agent("Support agent", config, agent_id="agent_fake_0001", created=catalog.CREATED_AT)

    # voices
    def voices(self) -> list[dict]:
        with self._lock:
            return copy.deepcopy(list(self._voices.values()))

    def voice(self, voice_id: str) -> dict:
        return self._get(
            self._voices, voice_id, "voice_not_found", f"A voice with voice_id {voice_id!r} was not found."
        )

    def add_voice(self, voice: dict) -> None:
        with self._lock:
            self._voices[voice["voice_id"]] = copy.deepcopy(voice)

    def add_preview(self, description: str) -> str:
        generated_voice_id = new_id()
        with self._lock:
            self._previews[generated_voice_id] = description
        return generated_voice_id

    def preview(self, generated_voice_id: str) -> str:
        message = f"No voice preview with generated_voice_id {generated_voice_id!r}."
        return self._get(self._previews, generated_voice_id, "generated_voice_not_found", message)

    # conversational AI
    def agents(self) -> list[dict]:
        with self._lock:
            return copy.deepcopy(list(self._agents.values()))

    def agent(self, agent_id: str) -> dict:
        return self._get(
            self._agents, agent_id, "agent_not_found", f"An agent with agent_id {agent_id!r} was not found."
        )

    def add_agent(
        self, name: str, config: dict, tags: list[str] | None = None, *, agent_id: str = "", created: int = 0
    ) -> str:
        agent_id = agent_id or new_id("agent_")
        now = created or int(time.time())
        agent = {
            "agent_id": agent_id,
            "name": name,
            "conversation_config": config,
            "metadata": {"created_at_unix_secs": now, "updated_at_unix_secs": now},
            "platform_settings": {},
            "tags": tags or [],
        }
        with self._lock:
            self._agents[agent_id] = agent
        return agent_id

    def update_agent(self, agent_id: str, changes: dict) -> dict:
        with self._lock:
            agent = self._agents.get(agent_id)
            if agent is None:
                raise ApiError(404, "agent_not_found", f"An agent with agent_id {agent_id!r} was not found.")
            _merge(agent, copy.deepcopy(changes))
            agent["metadata"]["updated_at_unix_secs"] = int(time.time())
            return copy.deepcopy(agent)

    def add_document(self, name: str, kind: str) -> dict:
        document = {"id": new_id("doc_"), "name": name, "type": kind}
        with self._lock:
            self._documents[document["id"]] = document
        return {"id": document["id"], "name": name}

    def conversations(self) -> list[dict]:
        with self._lock:
            return copy.deepcopy(list(self._conversations.values()))

    def conversation(self, conversation_id: str) -> dict:
        message = f"A conversation with conversation_id {conversation_id!r} was not found."
        return self._get(self._conversations, conversation_id, "conversation_not_found", message)

    def _get(self, table: dict, key: str, code: str, message: str):
        with self._lock:
            if key not in table:
                raise ApiError(404, code, message)
            return copy.deepcopy(table[key])


def _merge(target: dict, changes: dict) -> None:
    """Deep-merge `changes` into `target` (PATCH semantics: nested objects merge, the rest replaces)."""
    for key, value in changes.items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value
