"""Two builds of the same commit give the same image, bit for bit: the Dockerfile built again from scratch (no
layer cache) as docs/container.md says has the same image ID (the config's SHA-256, naming every layer's
content) and the same manifest digest as the session's image."""

import pytest

from tests.container.conftest import build_app_image


@pytest.mark.timeout(1800)  # the session's image and a second one, each built from scratch
def test_two_builds_of_the_same_commit_have_the_same_digest(buildah, debian_base, app_image):
    again = build_app_image(buildah, debian_base)
    try:
        assert buildah.image_digests(again) == buildah.image_digests(app_image)
    finally:
        buildah.remove_image(again)
