"""A case-insensitive, read-only header mapping that both transports can fill."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping


class Headers(Mapping[str, str]):
    """HTTP headers looked up case-insensitively; keeps the first spelling of each name."""

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._data: dict[str, tuple[str, str]] = {}
        for name, value in pairs:
            key = name.lower()
            if key in self._data:  # repeated header: join as HTTP allows
                self._data[key] = (self._data[key][0], f"{self._data[key][1]}, {value}")
            else:
                self._data[key] = (name, value)

    def __getitem__(self, name: str) -> str:
        return self._data[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (original for original, _ in self._data.values())

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"
