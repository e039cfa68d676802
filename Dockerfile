# The one image shared by every deployment: the MCP server (default command)
# and the Lambda handlers in server/ (selected with Lambda's ImageConfig.Command).
#
# BASE must be a Debian-like image with python3 (>= 3.11), python3 -m venv and
# useradd. The default is the official slim image; the container test builds
# over a debootstrapped Debian (python3 at /usr/bin/python3), so nothing here
# assumes /usr/local/bin/python. No arch-specific binaries: builds for arm64
# and amd64 alike.
ARG BASE=python:3.11-slim-bookworm

FROM ${BASE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python3 -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY compiler ./compiler
COPY server ./server
# Bytecode is compiled once here, hash-based and unchecked: the image is
# immutable, and pycs stay valid whatever mtimes COPY --from leaves behind.
RUN /opt/venv/bin/pip install --no-compile . \
    && /opt/venv/bin/python -m compileall -q -j 0 \
       --invalidation-mode unchecked-hash /opt/venv/lib

FROM ${BASE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH
# Owned by root, run by an unprivileged user: the code cannot be rewritten at run time.
COPY --from=builder /opt/venv /opt/venv
RUN useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin mcp
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/health' % os.environ.get('MCP_PORT', '8080'), timeout=4)"]
# CMD, not ENTRYPOINT: a Lambda function using this image replaces the whole
# command through ImageConfig.Command without having to reset an entrypoint.
CMD ["python", "-m", "server"]
