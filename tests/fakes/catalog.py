"""Fixed data the fake serves, shaped like the real API's JSON (SDK 2.78 models)."""

from __future__ import annotations

CREATED_AT = 1_735_689_600  # 2025-01-01T00:00:00Z: fixed, so responses are reproducible
DEFAULT_SETTINGS = {"stability": 0.5, "similarity_boost": 0.75, "style": 0.0, "use_speaker_boost": True, "speed": 1.0}
TTS_MODELS = ["eleven_multilingual_v2", "eleven_turbo_v2_5", "eleven_flash_v2_5", "eleven_v3"]


def voice(voice_id: str, name: str, category: str, labels: dict[str, str], description: str = "") -> dict:
    """A `Voice` as GET /v1/voices/{id} returns it."""
    return {
        "voice_id": voice_id,
        "name": name,
        "category": category,
        "labels": labels,
        "description": description or None,
        "preview_url": None,
        "available_for_tiers": [],
        "settings": dict(DEFAULT_SETTINGS),
        "high_quality_base_model_ids": list(TTS_MODELS),
        "samples": None,
        "is_owner": category != "premade",
        "is_legacy": False,
        "created_at_unix": CREATED_AT,
    }


def premade_voices() -> list[dict]:
    def labels(accent: str, age: str, gender: str, use_case: str) -> dict[str, str]:
        return {"accent": accent, "age": age, "gender": gender, "use_case": use_case}

    return [
        voice("21m00Tcm4TlvDq8ikWAM", "Rachel", "premade", labels("american", "young", "female", "narration"), "Calm"),
        voice(
            "JBFqnCBsd6RMkjVDRZzb", "George", "premade", labels("british", "middle_aged", "male", "narration"), "Warm"
        ),
        voice("9BWtsMINqrJLrRacOk9x", "Aria", "premade", labels("american", "middle_aged", "female", "social_media")),
        voice(
            "nPczCjzI2devNBz1zQrb", "Brian", "premade", labels("american", "middle_aged", "male", "narration"), "Deep"
        ),
    ]


def library_voices() -> list[dict]:
    """Voices of the shared library (GET /v1/shared-voices)."""

    def shared(voice_id: str, name: str, accent: str, gender: str, age: str, use_case: str, language: str) -> dict:
        return {
            "public_owner_id": f"owner_{voice_id}",
            "voice_id": voice_id,
            "date_unix": CREATED_AT,
            "name": name,
            "accent": accent,
            "gender": gender,
            "age": age,
            "descriptive": "confident",
            "use_case": use_case,
            "category": "professional",
            "language": language,
            "description": f"{name}: a {accent} {gender} voice for {use_case}.",
            "preview_url": None,
            "usage_character_count_1_y": 120_000,
            "usage_character_count_7_d": 4_000,
            "play_api_usage_character_count_1_y": 90_000,
            "cloned_by_count": 42,
            "free_users_allowed": True,
            "live_moderation_enabled": False,
            "featured": use_case == "narrative_story",
        }

    return [
        shared("lib0000000000000000001", "Archer", "british", "male", "young", "conversational", "en"),
        shared("lib0000000000000000002", "Lucia", "castilian", "female", "middle_aged", "narrative_story", "es"),
        shared("lib0000000000000000003", "Hans", "standard", "male", "old", "informative_educational", "de"),
    ]


def models() -> list[dict]:
    english = {"language_id": "en", "name": "English"}
    spanish = {"language_id": "es", "name": "Spanish"}

    def model(model_id: str, name: str, max_chars: int, tts: bool = True, sts: bool = False) -> dict:
        return {
            "model_id": model_id,
            "name": name,
            "can_be_finetuned": False,
            "can_do_text_to_speech": tts,
            "can_do_voice_conversion": sts,
            "can_use_style": True,
            "can_use_speaker_boost": True,
            "serves_pro_voices": False,
            "token_cost_factor": 1.0,
            "description": f"{name} (served by the fake ElevenLabs API)",
            "requires_alpha_access": False,
            "max_characters_request_free_user": max_chars // 4,
            "max_characters_request_subscribed_user": max_chars,
            "maximum_text_length_per_request": max_chars,
            "languages": [english, spanish],
            "concurrency_group": "standard",
        }

    return [
        model("eleven_multilingual_v2", "Eleven Multilingual v2", 10_000),
        model("eleven_turbo_v2_5", "Eleven Turbo v2.5", 40_000),
        model("eleven_flash_v2_5", "Eleven Flash v2.5", 40_000),
        model("eleven_v3", "Eleven v3", 5_000),
        model("eleven_multilingual_sts_v2", "Eleven Multilingual v2 (speech to speech)", 10_000, tts=False, sts=True),
    ]


def subscription() -> dict:
    """A `Subscription` (GET /v1/user/subscription); `User.subscription` uses the same fields."""
    return {
        "tier": "creator",
        "character_count": 12_345,
        "character_limit": 100_000,
        "max_credit_limit_extension": 0,
        "can_extend_character_limit": True,
        "allowed_to_extend_character_limit": True,
        "next_character_count_reset_unix": CREATED_AT + 30 * 86_400,
        "voice_slots_used": 1,
        "professional_voice_slots_used": 0,
        "professional_voice_slots_used_in_workspace": 0,
        "voice_limit": 30,
        "voice_add_edit_counter": 1,
        "professional_voice_limit": 1,
        "can_extend_voice_limit": False,
        "can_use_instant_voice_cloning": True,
        "can_use_professional_voice_cloning": True,
        "current_overage": {"amount": "0.00", "currency": "usd"},
        "currency": "usd",
        "status": "active",
        "billing_period": "monthly_period",
        "character_refresh_period": "monthly_period",
        "open_invoices": [],
        "has_open_invoices": False,
    }


def user() -> dict:
    return {
        "user_id": "user_fake_0001",
        "workspace_id": "workspace_fake_0001",
        "subscription": subscription(),
        "is_new_user": False,
        "xi_api_key_preview": "sk_f...key",
        "can_use_delayed_payment_methods": False,
        "is_onboarding_completed": True,
        "is_onboarding_checklist_completed": True,
        "first_name": "Fake",
        "created_at": CREATED_AT,
        "seat_type": "workspace_admin",
    }


def phone_numbers() -> list[dict]:
    return [
        {
            "provider": "twilio",
            "phone_number": "+15550100001",
            "label": "Support line",
            "supports_inbound": True,
            "supports_outbound": True,
            "phone_number_id": "phnum_fake_0001",
            "assigned_agent": {"agent_id": "agent_fake_0001", "agent_name": "Support agent"},
        }
    ]


def transcript() -> list[dict]:
    return [
        {"role": "agent", "message": "Hello! How can I help you today?", "time_in_call_secs": 0},
        {"role": "user", "message": "What are your opening hours?", "time_in_call_secs": 3},
        {"role": "agent", "message": "We are open from nine to five, Monday to Friday.", "time_in_call_secs": 5},
    ]


def conversation(conversation_id: str, agent_id: str, start: int) -> dict:
    """A `GetConversationResponseModel` (GET /v1/convai/conversations/{id})."""
    return {
        "agent_id": agent_id,
        "conversation_id": conversation_id,
        "status": "done",
        "transcript": transcript(),
        "metadata": {"start_time_unix_secs": start, "call_duration_secs": 12},
        "analysis": {"call_successful": "success", "transcript_summary": "The caller asked for opening hours."},
        "has_audio": True,
        "has_user_audio": True,
        "has_response_audio": True,
        "has_auxiliary_audio": False,
    }


def conversation_summary(detail: dict) -> dict:
    """The list-page form of a conversation (GET /v1/convai/conversations)."""
    return {
        "agent_id": detail["agent_id"],
        "agent_name": "Support agent",
        "conversation_id": detail["conversation_id"],
        "start_time_unix_secs": detail["metadata"]["start_time_unix_secs"],
        "call_duration_secs": detail["metadata"]["call_duration_secs"],
        "message_count": len(detail["transcript"]),
        "status": detail["status"],
        "call_successful": detail["analysis"]["call_successful"],
    }


def conversations() -> list[dict]:
    return [
        conversation("conv_fake_0001", "agent_fake_0001", CREATED_AT + 3_600),
        conversation("conv_fake_0002", "agent_fake_0001", CREATED_AT + 7_200),
    ]


def agent_config(prompt: str, first_message: str, voice_id: str) -> dict:
    """A minimal `ConversationalConfig`."""
    return {
        "agent": {"first_message": first_message, "language": "en", "prompt": {"prompt": prompt, "knowledge_base": []}},
        "tts": {"voice_id": voice_id, "model_id": "eleven_flash_v2"},
    }


def composition_plan(prompt: str, length_ms: int) -> dict:
    """A `MusicPrompt` of two sections that add up to `length_ms`."""
    half = length_ms // 2
    return {
        "positive_global_styles": ["cinematic", prompt[:40]],
        "negative_global_styles": ["lo-fi"],
        "sections": [
            _section("Intro", half, ["soft strings"]),
            _section("Theme", length_ms - half, ["full orchestra"]),
        ],
    }


def _section(name: str, duration_ms: int, styles: list[str]) -> dict:
    return {
        "section_name": name,
        "positive_local_styles": styles,
        "negative_local_styles": [],
        "duration_ms": duration_ms,
        "lines": [],
    }
