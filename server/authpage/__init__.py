"""The auth page: a user pastes an ElevenLabs API key and gets a personal token (auth mode `tokens`).

- core.py: the logic without I/O (validation, attempts limiter, sign-up code, the JSON the page reads), shared
  with the WebSocket deployment's auth Lambda; standard library only.
- page.html: the one self-contained page (inline CSS and JS, no external assets). It fetches config.json
  relative to its own URL and POSTs to its apiUrl.
- routes.py: the server's routes (GET /auth, /auth/, /auth/config.json; POST /auth/token), registered only when
  MCP_AUTH_PAGE is true, so nothing here is imported otherwise.

Permissions: the server's task role needs dynamodb:PutItem on the tokens table (besides GetItem for lookups);
the page issues rows with the condition attribute_not_exists(hash), so it never overwrites one.
"""
