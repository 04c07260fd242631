"""Named components filled by a decorator: losses, games, rotations, feature extractors…

Registries, not if-chains: a component registers itself under a name, configs
refer to it by that name, and an unknown name is a one-line UserError listing the valid ones.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from fluidgan.errors import UserError

T = TypeVar("T")
_REQUIRED = object()  # get() without a default: an unknown name is an error


class Registry(Generic[T]):
    """Named components filled by a decorator; an unknown name lists the valid ones.

    >>> LOSSES = Registry("loss")
    >>> @LOSSES.register("hinge")
    ... def hinge(): ...

    Names are listed (``names()``, iteration, error messages) sorted, or in registration
    order with ``ordered=True`` where that order means something (baselines by spline
    order, metrics in report order). A value that is not a callable is registered with
    ``REGISTRY.register(name)(value)``. ``register`` refuses a name twice; item assignment
    and deletion replace on purpose, so a test can swap a component in and out with
    ``monkeypatch.setitem``.
    """

    def __init__(self, kind: str, ordered: bool = False):
        self.kind = kind
        self.ordered = ordered
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def add(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._items[name] = obj
            return obj

        return add

    def get(self, name: str, default: Any = _REQUIRED) -> T:
        """The component ``name``; a UserError listing the valid names when there is none,
        unless a ``default`` is given (then returned, as ``dict.get`` does)."""
        try:
            return self._items[name]
        except KeyError:
            if default is not _REQUIRED:
                return default
            raise UserError(
                f"unknown {self.kind} {name!r}; valid: {', '.join(self.names())}"
            ) from None

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __setitem__(self, name: str, obj: T) -> None:
        self._items[name] = obj

    def __delitem__(self, name: str) -> None:
        del self._items[name]

    def names(self) -> list[str]:
        return list(self._items) if self.ordered else sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[tuple[str, T]]:
        """``(name, component)`` pairs in the order of ``names()``."""
        return [(name, self._items[name]) for name in self.names()]

    def check_options(
        self, name: str, options: Mapping[str, Any], where: str, skip: int = 0
    ) -> None:
        """Raise UserError for an option ``name``'s factory does not take.

        ``skip`` positional parameters (e.g. the spec) are supplied by the caller, not the
        config, so they are not valid option names.
        """
        params = list(inspect.signature(self.get(name)).parameters.values())[skip:]
        if any(p.kind is p.VAR_KEYWORD for p in params):
            return
        valid = [p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)]
        for key in options:
            if key not in valid:
                raise UserError(
                    f"unknown option '{where}.{key}' for {self.kind} {name!r}; "
                    f"valid: {', '.join(valid) or '(none)'}"
                )
