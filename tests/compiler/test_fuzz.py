"""Property: no input, however broken, makes the compiler raise anything but a positioned ConfigError."""

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.build import compile_config
from compiler.diagnostics import ConfigError
from compiler.loader import load_bytes
from compiler.validation import load_config

EXAMPLE = (Path(__file__).parents[2] / "deployment.yaml").read_bytes()
KEYS = ["apiVersion", "kind", "metadata", "spec", "name", "region", "topology", "task", "cpu", "memory", "alb",
        "schedule", "activeHours", "timezone", "days", "auth", "allowedCidrs", "image", "tag", "repository", "<<"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.sampled_from(["alb", "websocket", "us-east-1", "08:00-20:00", "UTC", "arm64", "256", "-",
                                     "mcpdeploy/v1alpha1", "Deployment", "ImageRepository", "*a", "&a x", "!!binary"]),
                    st.text(max_size=12))
TREES = st.recursive(SCALARS, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                     st.dictionaries(st.sampled_from(KEYS), kids, max_size=5)),
                     max_leaves=30)


def _must_not_crash(raw: bytes, tmp_path: Path) -> None:
    path = tmp_path / "deployment.yaml"
    path.write_bytes(raw)
    try:
        config = load_config(str(path), display_name="deployment.yaml")
    except ConfigError as error:
        assert error.diagnostics, "a ConfigError must carry at least one diagnostic"
        for diagnostic in error.diagnostics:
            assert diagnostic.line >= 1 and diagnostic.column >= 1
            assert "Traceback" not in diagnostic.message
        return
    compile_config(config)  # whatever validates must also compile


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(tmp_path, raw):
    _must_not_crash(raw, tmp_path)


@FUZZ
@given(st.data())
def test_mutated_example(tmp_path, data):
    raw = bytearray(EXAMPLE)
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(raw)))
        action = data.draw(st.sampled_from(["delete", "insert", "replace"]))
        chunk = data.draw(st.sampled_from([b":", b"-", b" ", b"\n", b"\t", b"{", b"[", b"'", b'"', b"&x", b"*x",
                                           b"---\n", b"0", b"zz", b"\xff", b"#"]))
        if action == "delete":
            del raw[at:at + data.draw(st.integers(1, 20))]
        elif action == "insert":
            raw[at:at] = chunk
        else:
            raw[at:at + len(chunk)] = chunk
    _must_not_crash(bytes(raw), tmp_path)


@FUZZ
@given(st.lists(TREES, min_size=1, max_size=3))
def test_random_documents(tmp_path, documents):
    from ruamel.yaml import YAML
    import io

    stream = io.StringIO()
    YAML(typ="safe", pure=True).dump_all(documents, stream)
    _must_not_crash(stream.getvalue().encode(), tmp_path)


def test_alias_bomb_is_refused_quickly():
    layers = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    layers += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    documents, problems = load_bytes("\n".join(layers).encode(), "bomb.yaml")  # reported, not raised
    assert any("document too large" in p.message for p in problems)


def test_recursive_alias_is_refused():
    documents, problems = load_bytes(b"a: &a\n  b: *a\n", "loop.yaml")
    assert [p.message for p in problems] == ["recursive alias: a value may not contain itself"]
