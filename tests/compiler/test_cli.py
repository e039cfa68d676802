"""The command line as users meet it: a real `python -m compiler` process per call."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
INVALID = ROOT / "tests" / "cases" / "invalid"


def compiler(*args, cwd=ROOT, cache=None):
    env = {**os.environ, "MCPDEPLOY_CACHE_DIR": str(cache)} if cache else None
    return subprocess.run([sys.executable, "-m", "compiler", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path):
    """A copy of the repo's deployment.yaml and generated/ to build in."""
    shutil.copy(ROOT / "deployment.yaml", tmp_path / "deployment.yaml")
    shutil.copytree(ROOT / "generated", tmp_path / "generated")
    return tmp_path


def test_repo_generated_folder_is_up_to_date(tmp_path):
    result = compiler("build", "--check", cache=tmp_path)  # an empty cache: compiled and linted, not remembered
    assert result.returncode == 0, result.stderr
    assert "is up to date" in result.stdout


def test_build_writes_then_reports_up_to_date(tmp_path):
    shutil.copy(ROOT / "deployment.yaml", tmp_path / "deployment.yaml")
    first = compiler("build", cwd=tmp_path, cache=tmp_path / "cache")
    assert first.returncode == 0, first.stderr
    written = sorted(line.split("/", 1)[1] for line in first.stdout.splitlines() if line.startswith("wrote "))
    assert written == sorted(p.name for p in (tmp_path / "generated").iterdir())
    assert snapshot(tmp_path / "generated") == snapshot(ROOT / "generated"), "output must be deterministic"
    second = compiler("build", cwd=tmp_path, cache=tmp_path / "cache")
    assert second.returncode == 0 and "generated/ is up to date" in second.stdout


def test_check_names_stale_and_missing_files(project):
    (project / "generated" / "voice-alb.json").write_text("{}\n")
    (project / "generated" / "voice-alb.parameters.json").unlink()
    result = compiler("build", "--check", cwd=project)
    assert result.returncode == 4
    assert "stale: generated/voice-alb.json" in result.stderr
    assert "stale: generated/voice-alb.parameters.json" in result.stderr
    assert (project / "generated" / "voice-alb.json").read_text() == "{}\n", "--check must write nothing"


EXCERPT = re.compile(r"^ +(\d+ )?\| ")  # the source line and caret under a diagnostic


@pytest.mark.parametrize("case", sorted(INVALID.glob("*.yaml")), ids=lambda p: p.stem)
def test_failed_build_leaves_generated_byte_identical(project, case):
    before = snapshot(project / "generated")
    shutil.copy(case, project / "deployment.yaml")
    result = compiler("build", cwd=project)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if not EXCERPT.match(line)][:-1] == [
        line.replace(case.name, "deployment.yaml", 1)
        for line in case.with_suffix(".expected").read_text().splitlines()]
    assert snapshot(project / "generated") == before


def test_each_error_shows_its_source_line_with_a_caret_under_the_column(tmp_path):
    text = (INVALID / "misspelled-keys.yaml").read_text().replace("memroy: 512,", "\tmemroy: 512,")
    (tmp_path / "deployment.yaml").write_text(text + "  logs: {retentionDays: 8}\n")
    result = compiler("validate", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    first = next(i for i, line in enumerate(lines) if "unknown key 'memroy'" in line)
    row, column = map(int, lines[first].split(":")[1:3])
    source = text.splitlines()[row - 1]
    assert "\t" in source[:column - 1]
    assert lines[first + 1] == f" {row} | {source}"
    assert lines[first + 2] == f" {' ' * len(str(row))} | " + "".join(
        "\t" if char == "\t" else " " for char in source[:column - 1]) + "^", "the caret under the column, tabs kept"
    assert any("retentionDays: CloudWatch Logs does not keep logs for 8 days" in line for line in lines), \
        "a schema error must not hide the cross-field checks"
    assert "\033[" not in result.stderr, "no colour when stderr is not a terminal"


def in_a_terminal(*args, cwd=ROOT, env=None) -> str:
    """`python -m compiler ARGS` with a pseudo-terminal as stdout and stderr; what it printed."""
    import pty

    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "compiler", *args], cwd=cwd, stdout=follower,
                               stderr=follower, env={**os.environ, "TERM": "xterm", **(env or {})})
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=120)
    os.close(leader)
    return output.decode()


def test_colour_on_a_terminal_unless_no_color(tmp_path):
    shutil.copy(INVALID / "misspelled-keys.yaml", tmp_path / "deployment.yaml")
    coloured = in_a_terminal("validate", cwd=tmp_path, env={"NO_COLOR": ""})
    assert "\033[1mdeployment.yaml:4:27:\033[0m" in coloured and "\033[1;31m^\033[0m" in coloured
    plain = in_a_terminal("validate", cwd=tmp_path, env={"NO_COLOR": "1"})
    assert "\033[" not in plain and "deployment.yaml:4:27: spec.keepImage: unknown key" in plain


def test_build_closes_with_a_summary_line(tmp_path):
    shutil.copy(ROOT / "deployment.yaml", tmp_path / "deployment.yaml")
    first = compiler("build", cwd=tmp_path, cache=tmp_path / "cache")
    files = len(list((tmp_path / "generated").iterdir()))
    assert re.fullmatch(rf"4 stacks, 0 warnings: {files} files written in \d+\.\d\d s", first.stdout.splitlines()[-1])
    again = compiler("build", cwd=tmp_path, cache=tmp_path / "cache")  # the build record's path
    assert re.fullmatch(r"generated/ is up to date: 4 stacks, 0 warnings \(\d+\.\d\d s\)", again.stdout.strip())


def test_removed_deployment_removes_its_files_but_nothing_else(project):
    (project / "generated" / "notes.txt").write_text("mine")
    text = (project / "deployment.yaml").read_text()
    (project / "deployment.yaml").write_text(text.split("\n---\n")[0] + "\n")
    result = compiler("build", cwd=project)
    assert result.returncode == 0, result.stderr
    names = {p.name for p in (project / "generated").iterdir()}
    assert "voice-alb.json" not in names and "notes.txt" in names and "elevenlabs-mcp.json" in names
    assert "removed generated/voice-alb.json" in result.stdout.splitlines()
    assert not [line for line in result.stdout.splitlines() if line.startswith("wrote ") and "voice-" in line]
    # the repository stack changes too: its lifecycle rules keep the tags the file's deployments use
    assert re.fullmatch(r"1 stack, 0 warnings: 2 files written, 9 removed in \d+\.\d\d s",
                        result.stdout.splitlines()[-1])


def test_usage_errors_exit_2():
    assert compiler("frobnicate").returncode == 2
    bogus = compiler("build", "--bogus")
    assert bogus.returncode == 2
    assert bogus.stderr.startswith("usage: python -m compiler build ") and "unrecognized arguments: --bogus" in \
        bogus.stderr


def test_help_and_version_name_the_command_they_were_run_as():
    script = Path(sys.executable).with_name("mcpdeploy")
    assert subprocess.run([script, "--help"], capture_output=True, text=True).stdout.startswith("usage: mcpdeploy ")
    assert compiler("--help").stdout.startswith("usage: python -m compiler ")
    assert "6  no deployment, stack or token of that name" in compiler("--help").stdout
    version = compiler("--version")
    assert version.returncode == 0 and re.fullmatch(r"mcpdeploy \d+\.\d+\.\d+\n", version.stdout)


def test_an_unknown_deployment_name_exits_6():
    result = compiler("cost", "nosuch")
    assert result.returncode == 6
    assert result.stderr == "error: no deployment named 'nosuch' in deployment.yaml (deployments: voice-alb, " \
        "voice-nat, voice-ws)\n"


def test_aws_without_a_region_exits_7_saying_how_to_set_one(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-m", "compiler", "tokens", "list", "voice-alb"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 7
    assert result.stderr == "error: no AWS region: pass --region, or set AWS_REGION (or a region in ~/.aws/config)\n"


def test_validate_reports_warnings_but_succeeds(tmp_path):
    text = (ROOT / "deployment.yaml").read_text().replace('tag: "0.1.0"', "tag: latest")
    (tmp_path / "deployment.yaml").write_text(text)
    result = compiler("validate", cwd=tmp_path)
    assert result.returncode == 0
    assert "deployment.yaml:" in result.stderr and "warning: tag 'latest' moves" in result.stderr


def test_unwritable_output_is_an_io_error_not_a_traceback(tmp_path):
    shutil.copy(ROOT / "deployment.yaml", tmp_path / "deployment.yaml")
    (tmp_path / "generated").write_text("a file where a folder should be")
    result = compiler("build", cwd=tmp_path, cache=tmp_path / "cache")
    assert result.returncode == 5 and "Traceback" not in result.stderr


def test_missing_compiler_extra_is_a_clear_usage_error(tmp_path):
    shutil.copy(ROOT / "deployment.yaml", tmp_path / "deployment.yaml")
    hide = "import sys; sys.modules['troposphere'] = None; from compiler.cli import main; raise SystemExit(main())"
    env = {**os.environ, "MCPDEPLOY_CACHE_DIR": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, "-c", hide, "build"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "mcpdeploy[compiler]" in result.stderr


def test_console_script_runs_the_same_command_line(tmp_path):
    """`mcpdeploy` (pyproject's console script) is `python -m compiler`: same output and exit codes."""
    script = Path(sys.executable).with_name("mcpdeploy")
    assert script.exists(), "pip install -e . installs the mcpdeploy script beside python"
    valid = subprocess.run([script, "validate"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert valid.returncode == 0 and valid.stdout == compiler("validate").stdout, valid.stderr
    missing = subprocess.run([script, "build", "-f", "missing.yaml", "--out", str(tmp_path / "out")], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "missing.yaml:1:1: cannot read file" in missing.stderr
    assert not (tmp_path / "out").exists()
