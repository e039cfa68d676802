"""Lambda handlers of the `websocket` topology, inlined into the template (ZipFile) by the compiler.

Each module is self-contained (standard library and boto3 only) and at most 4,096 characters, Lambda's limit for
inline code; see docs/websocket.md.
"""
