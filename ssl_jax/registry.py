"""Explicit name -> factory tables.

Every table that a config names an entry of (methods, backbones, datasets,
optimizers, view presets) is a ``Registry``; an unknown name fails with a
message listing the valid ones.
"""
from typing import Any, Dict, Iterator, Mapping


class ConfigError(ValueError):
  """A config key holds an invalid value; the message says which and why."""


class Registry(Mapping):
  """An immutable ``name -> entry`` table for one kind of component."""

  def __init__(self, kind: str, entries: Dict[str, Any]):
    self.kind = kind
    self._entries = dict(entries)

  def lookup(self, name: str, key: str = None) -> Any:
    """The entry called ``name``; ``key`` names the config key in errors."""
    if name not in self._entries:
      where = f"{key}=" if key else f"{self.kind} "
      raise ConfigError(f"unknown {where}{name!r}; valid {self.kind} names: "
                        f"{', '.join(sorted(self._entries))}")
    return self._entries[name]

  def __getitem__(self, name):
    return self.lookup(name)

  def __iter__(self) -> Iterator[str]:
    return iter(sorted(self._entries))

  def __len__(self):
    return len(self._entries)
