"""Issue 11, case 11: the emulator CLI turns a bad seed file or a port in use into one line on stderr."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "airflow_provider_sentry.testing", "serve", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2
    assert result.stdout == ""  # never announced as listening
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


SEEDS = {
    "not json": ('{"issues": [', "invalid JSON at line 1, column 13"),
    "not an object": ("[1, 2]", "expected a JSON object, got list"),
    "issues not a list": ('{"issues": {"title": "x"}}', "'issues' must be a list"),
    "unknown issue key": (
        '{"issues": [{"titel": "x"}]}',
        "issues[0]: issue got an unexpected keyword argument 'titel'",
    ),
    "unknown project": ('{"issues": [{"project": "nope"}]}', "issues[0]: unknown project 'nope'"),
    "bad status": ('{"issues": [{}, {"status": "open"}]}', "issues[1]: status must be unresolved, resolved or ignored"),
    "release without version": ('{"releases": [{"projects": ["backend"]}]}', "releases[0]: missing key 'version'"),
    "project without slug": ('{"projects": [{"name": "x"}]}', "projects or repos: missing key 'slug'"),
}


@pytest.mark.parametrize("case", sorted(SEEDS))
def test_a_bad_seed_file_is_one_line(tmp_path: Path, case: str) -> None:
    text, expected = SEEDS[case]
    seed = tmp_path / "seed.json"
    seed.write_text(text)
    line = one_line_error(serve("--port", "0", "--seed", str(seed)))
    assert line.startswith(f"error: seed file {seed}")
    assert expected in line


def test_a_missing_seed_file_is_one_line(tmp_path: Path) -> None:
    line = one_line_error(serve("--port", "0", "--seed", str(tmp_path / "nope.json")))
    assert line == f"error: seed file {tmp_path / 'nope.json'}: not found"


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_a_port_in_use_is_one_line(busy_port: int) -> None:
    line = one_line_error(serve("--port", str(busy_port)))
    assert line == f"error: port {busy_port} on 127.0.0.1 is already in use; pick another --port (0 = any free port)"


def test_a_good_seed_still_serves(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"issues": [{"title": "KeyError: 'x'"}]}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_sentry.testing", "serve", "--port", "0", "--seed", str(seed)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("Sentry emulator listening on http://127.0.0.1:")
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
