# The one image shared by every deployment: the MCP server (default command)
# and the Lambda handlers in server/ (selected with Lambda's ImageConfig.Command).
#
# BASE must be a Debian-like image with python3 (3.11: server/requirements.lock
# is resolved for it), python3 -m venv and useradd. The default is the official
# slim image, pinned by the digest of its multi-architecture index (arm64 and
# amd64 alike; docs/container.md says how to bump it); the container test builds
# over a debootstrapped Debian (python3 at /usr/bin/python3), so nothing here
# assumes /usr/local/bin/python.
#
# Reproducible: the same commit built with the same SOURCE_DATE_EPOCH (the
# commit's time) and buildah's --timestamp gives the same image digest
# (docs/container.md; tests/container/test_reproducible.py checks it).
ARG BASE=python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b

FROM ${BASE} AS builder
# No bytecode written on import while building (pip and setuptools would leave
# pycs holding the build's clock); compileall below writes all of it.
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONHASHSEED=0
WORKDIR /src
RUN python3 -m venv /opt/venv
# Dependencies first, exactly as locked: every file checked against its hash,
# wheels only (no sdist compiled here). A layer of its own, cached until the
# lock changes.
COPY server/requirements.lock ./
RUN /opt/venv/bin/pip install --no-compile --require-hashes --only-binary :all: -r requirements.lock
COPY pyproject.toml README.md ./
COPY compiler ./compiler
COPY server ./server
# The project itself: no index, no dependency resolution, built with the locked
# setuptools. Modes are normalized (a checkout's umask must not change the
# image). Bytecode is compiled once here, hash-based and unchecked (the image is
# immutable, and pycs stay valid whatever mtimes COPY --from leaves behind),
# all of them again (-f: the pycs `python3 -m venv` left for pip are
# timestamped), one file after another with a fixed hash seed so the bytes are
# the same on every build.
RUN chmod -R u=rwX,go=rX /src \
    && /opt/venv/bin/pip install --no-compile --no-deps --no-index --no-build-isolation . \
    && /opt/venv/bin/python -m compileall -q -f -j 1 \
       --invalidation-mode unchecked-hash /opt/venv/lib

FROM ${BASE}
# useradd dates the account's password change (/etc/shadow) from it, not from
# the clock.
ARG SOURCE_DATE_EPOCH
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH
# Owned by root, run by an unprivileged user: the code cannot be rewritten at run time.
COPY --from=builder /opt/venv /opt/venv
RUN useradd --uid 10001 --user-group --no-create-home --no-log-init --shell /usr/sbin/nologin mcp
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/health' % os.environ.get('MCP_PORT', '8080'), timeout=4)"]
# CMD, not ENTRYPOINT: a Lambda function using this image replaces the whole
# command through ImageConfig.Command without having to reset an entrypoint.
CMD ["python", "-m", "server"]
