"""core.json_codec gives exactly what json.loads gives, for every body a server may send."""

from __future__ import annotations

import gc
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_sentry.core import json_codec
from airflow_provider_sentry.core.errors import decode_body

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=20,
)


@given(JSON)
def test_same_value_as_json(value: object) -> None:
    assert json_codec.loads(json.dumps(value).encode()) == value


@pytest.mark.parametrize("body", [b"NaN", b'{"a": Infinity}', b'"caf\xe9"', b"2" * 30])
def test_what_msgspec_refuses_still_decodes_like_json(body: bytes) -> None:
    expected = json.loads(body.decode("utf-8", errors="replace"))
    result = json_codec.loads(body)
    assert result == expected or (result != result and expected != expected)


def test_not_json_is_a_value_error_and_decode_body_returns_the_text() -> None:
    with pytest.raises(ValueError):
        json_codec.loads(b"<html>502 Bad Gateway</html>")
    assert decode_body(b"<html>502</html>", "text/html") == "<html>502</html>"


def test_the_collector_is_left_as_it_was() -> None:
    assert gc.isenabled()
    json_codec.loads(b"[1, 2]")
    assert gc.isenabled()
    gc.disable()
    try:
        json_codec.loads(b"[1, 2]")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_text_decodes_like_bytes() -> None:
    assert json_codec.loads('{"a": [1, "é"]}') == {"a": [1, "é"]} == json_codec.loads('{"a": [1, "é"]}'.encode())
    with pytest.raises(ValueError):
        json_codec.loads("<html>")
