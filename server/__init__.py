"""A remote MCP server for the ElevenLabs API (streamable HTTP, stateless). See docs/server.md."""
