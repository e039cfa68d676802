"""The long-lived objects tool calls share, built once from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from server.audio_inputs import AudioInputs
from server.audio_outputs import AudioOutputs
from server.call_budget import InputMemory
from server.config import Settings
from server.elevenlabs import ElevenLabsAPI


@dataclass
class Services:
    settings: Settings
    elevenlabs: ElevenLabsAPI
    inputs: AudioInputs
    outputs: AudioOutputs

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        return cls(
            settings=settings,
            elevenlabs=ElevenLabsAPI(settings.elevenlabs_base_url, settings.upstream_budget_seconds),
            inputs=AudioInputs(
                settings.max_input_bytes,
                settings.allow_insecure_input_urls,
                memory=InputMemory(settings.input_memory_bytes),
                max_call_bytes=settings.max_call_input_bytes,
            ),
            outputs=AudioOutputs(
                settings.max_inline_audio_bytes, settings.output_bucket, settings.output_url_expiry_seconds
            ),
        )

    async def aclose(self) -> None:
        await self.elevenlabs.aclose()
        await self.inputs.aclose()
        await self.outputs.aclose()
