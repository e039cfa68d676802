"""Two builds of the same commit give the same image, bit for bit: the Dockerfile built twice from scratch (no
layer cache) as docs/container.md says has the same image ID (the config's SHA-256, naming every layer's content)
and the same manifest digest.

Both builds are in the OCI format: the buildah here (1.28, Debian 12) writes the random ID of its build container
into the Docker format's legacy `container` field even with --timestamp (later buildah leaves it empty then), so
two Docker-format builds differ in that one field of their config. Their files do not: the session's Docker-format
image has the very same layers."""

import pytest

from tests.container.conftest import build_app_image


@pytest.mark.timeout(1800)  # the session's image and two more, each built from scratch
def test_two_builds_of_the_same_commit_have_the_same_digest(buildah, debian_base, app_image):
    first = build_app_image(buildah, debian_base, image_format="oci")
    try:
        second = build_app_image(buildah, debian_base, image_format="oci")
        try:
            assert buildah.image_digests(second) == buildah.image_digests(first)
            assert buildah.layers(first) == buildah.layers(app_image)
        finally:
            buildah.remove_image(second)
    finally:
        buildah.remove_image(first)
