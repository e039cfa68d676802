"""Compile deployment.yaml into linted CloudFormation for a remote ElevenLabs MCP server on AWS."""
