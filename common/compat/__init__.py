"""Adapters to third-party internals: one module per library, the only code that touches
names a library does not document (its private attributes, undocumented hooks, internal
classes).

Each module's docstring says what it uses, why no public API serves, and what to check
on an upgrade. Each declares:

- `REQUIRES`: every internal it relies on, as `Internal`s. tests/common/test_compat.py
  checks them against the installed libraries, so an upgrade that removes or renames one
  fails there, naming the library, its version and the name, instead of breaking quietly
  (a hook no longer called, a fast path no longer taken).
- `OWNS`: the names and modules nobody outside this package may use; the same test scans
  the project's packages for them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Internal:
    """One internal name an adapter relies on.

    `name` is a dotted path inside `module` ("ASGIHandler.read_body"). The callable there
    must take the parameters `params`; the class there (or a base of it) must assign each
    of `assigned` (`self.<attr> = …`, dotted for `self.a.b = …`) somewhere in its code.
    `used_by` names functions ("module:Class.method") whose code must still use the name
    (the last part of each `assigned`, else of `name`): for a hook we override or a value
    we read or write, the library's use of it is what makes it matter.
    """

    dist: str  # the distribution, whose installed version a failure names
    module: str
    name: str = ""  # "" for the module itself
    params: tuple[str, ...] = ()
    assigned: tuple[str, ...] = ()
    used_by: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.module}:{self.name}" if self.name else self.module


@dataclass(frozen=True)
class Owned:
    """What only the adapter may touch: attribute/method names and module prefixes."""

    names: frozenset[str] = frozenset()
    modules: tuple[str, ...] = ()
