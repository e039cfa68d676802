import pytest

from tests.fakes.elevenlabs_api import FakeElevenLabs
from tests.localaws import MotoServer
from tests.system_tools import require


def pytest_configure(config):
    config.addinivalue_line("markers", "needs(*commands, root=None): the test runs system commands (or needs root, "
                            "saying why); without them it skips naming what is missing, or fails under CI=true "
                            "(tests/system_tools.py)")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    for marker in item.iter_markers("needs"):
        require(*marker.args, **marker.kwargs)


def pytest_addoption(parser):
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite golden files from the current output instead of comparing")


@pytest.fixture
def update_goldens(request) -> bool:
    return request.config.getoption("--update-goldens")


@pytest.fixture(scope="session")
def fake():
    """The ElevenLabs API stand-in (a real HTTP server), shared by the whole session; folders may override it."""
    with FakeElevenLabs(port=0) as fake:
        yield fake


@pytest.fixture(scope="session")
def moto():
    """One moto server for the session; a test that needs an empty one calls moto.reset()."""
    with MotoServer() as server:
        yield server
