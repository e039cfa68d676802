"""Tools about the account and what it can use: models and subscription."""

from __future__ import annotations

from mcp.server.mcpserver import Context

from server.tools.common import READ_ONLY, as_json, elevenlabs, pick


async def list_models(ctx: Context) -> str:
    """List the ElevenLabs models (ids for model_id) with what they can do and their languages. Free."""
    models = await elevenlabs(ctx).get_json("/v1/models")
    return as_json(
        [
            {
                **pick(m, "model_id", "name", "can_do_text_to_speech", "can_do_voice_conversion"),
                "languages": [lang.get("language_id") for lang in m.get("languages") or []],
            }
            for m in models
        ]
    )


async def check_subscription(ctx: Context) -> str:
    """The account's plan, credits used and left, and when they reset. Free."""
    subscription = await elevenlabs(ctx).get_json("/v1/user/subscription")
    fields = ("tier", "status", "character_count", "character_limit", "next_character_count_reset_unix")
    return as_json(pick(subscription, *fields, "voice_slots_used", "voice_limit", "can_use_instant_voice_cloning"))


TOOLS = [
    (list_models, READ_ONLY),
    (check_subscription, READ_ONLY),
]
