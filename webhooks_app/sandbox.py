"""The Jinja2 sandbox webhook templates run in, bounded in what a template can build.

Jinja2's ``SandboxedEnvironment`` keeps templates away from Python's internals, but not from
the machine's memory: ``{{ 'a' * 10**9 }}`` builds a gigabyte, and Jinja2 folds constant
expressions while it compiles, so saving such a template would build it in the web process.
This environment closes that, only through the hooks Jinja2 documents for sandboxes:

- The optimizer is off (``optimized=False``), and the operators that can build big values
  (``*``, ``**``, ``+``, ``%``) are intercepted (``intercepted_binops`` / ``call_binop``): Jinja2
  never folds an intercepted operator at compile time, and at render time each is checked
  before it runs.
- Calls (``call``) and filters refuse a size argument above the limit before they run (``'a' |
  center(10**9)``, ``'{:>999999999}'.format(x)``) and a string or list result above it after.
- Every ``{{ }}`` value is checked before it is written (``finalize``), and output is counted as
  it is produced (:func:`render_bounded`), so a loop cannot write more than the limit either.

Sizes count what a value expands to when written: a list that holds the same big list many times
counts it many times. Not covered: the ``~`` operator and list literals are not hookable, so a
template can still join a few values that are each under the limit (at most a few times the
limit, bounded by the template's own length).

Every refusal is a ``SecurityError`` naming what was too big. The limit is
``WEBHOOKS_TEMPLATE_MAX_SIZE`` (characters or items). Pure: no Django models, no I/O.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from jinja2 import Template
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = ["DEFAULT_MAX_SIZE", "BoundedSandbox", "SizeLimitError", "render_bounded"]

DEFAULT_MAX_SIZE = 10_000_000
# Widths in format strings: "%0999999999d", "{:>999999999}".
_FORMAT_WIDTH = re.compile(r"\d{4,}")


class SizeLimitError(SecurityError):
    """A template tried to build a value or an output bigger than the limit."""


_CONTAINERS = (list, tuple, dict, set, frozenset)


def _size(value: Any, limit: int) -> int | None:
    """How many characters and items ``value`` expands to when written out, counting a list
    held twice twice (``[x] * 3`` writes ``x`` three times), or None for a scalar. Counting
    stops a little past ``limit``."""
    if isinstance(value, str | bytes):
        return len(value)
    if not isinstance(value, _CONTAINERS):
        return None
    return _expanded(value, limit, {})


def _expanded(value: Any, limit: int, memo: dict[int, int]) -> int:
    known = memo.get(id(value))
    if known is not None:
        return known
    children = [*value.keys(), *value.values()] if isinstance(value, dict) else value
    total = len(children)
    for child in children:
        if total > limit:
            break
        if isinstance(child, str | bytes):
            total += len(child)
        elif isinstance(child, _CONTAINERS):
            total += _expanded(child, limit, memo)
    memo[id(value)] = total
    return total


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """An immutable sandbox whose templates cannot build a value over ``max_size``."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, *, max_size: int = DEFAULT_MAX_SIZE, **options: Any) -> None:
        options.setdefault("optimized", False)
        finalize = options.pop("finalize", None)

        def bounded_finalize(value: Any) -> Any:  # every {{ }} value, before it is written
            self.check_result(value, "A value written out")
            return value if finalize is None else finalize(value)

        super().__init__(finalize=bounded_finalize, **options)
        self.max_size = max_size
        self.filters = {name: self._bounded(func) for name, func in self.filters.items()}

    def add_filters(self, filters: Mapping[str, Callable[..., Any]]) -> None:
        """Add filters (an operator's ``WEBHOOKS_JINJA2_FILTERS``, ``header_safe``), bounded too."""
        self.filters.update({name: self._bounded(func) for name, func in filters.items()})

    # -- checks -----------------------------------------------------------------------------

    def refuse(self, what: str) -> SizeLimitError:
        return SizeLimitError(f"{what} is over the template size limit ({self.max_size:,}).")

    def check_result(self, value: Any, what: str) -> Any:
        size = _size(value, self.max_size)
        if size is not None and size > self.max_size:
            raise self.refuse(f"{what} would build {size:,} characters or items, which")
        return value

    def check_arguments(self, args: Iterable[Any], what: str) -> None:
        """Size arguments over the limit, and arguments that together expand past it (a
        ``replace`` or ``join`` can multiply them: checked by :meth:`check_product`)."""
        sizes = []
        for arg in args:
            if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > self.max_size:
                raise self.refuse(f"{what}: the argument {arg:,}")
            size = _size(arg, self.max_size)
            if size is not None:
                if size > self.max_size:
                    raise self.refuse(f"{what}: an argument of {size:,} characters or items")
                sizes.append(size)
        self.check_product(sizes, what)

    def check_product(self, sizes: list[int], what: str) -> None:
        """The first value and the others combined (``'aaa'|replace('a', long)``,
        ``items|join(long)``): their product bounds what the call can build."""
        if len(sizes) >= 2 and sizes[0] * max(sizes[1:]) > self.max_size:
            raise self.refuse(f"{what}: {sizes[0]:,} x {max(sizes[1:]):,} characters or items")

    def check_format(self, text: str, what: str) -> None:
        for digits in _FORMAT_WIDTH.findall(text):
            if int(digits) > self.max_size:
                raise self.refuse(f"{what}: the width {int(digits):,}")

    # -- hooks Jinja2 documents for sandboxes --------------------------------------------------

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            self._check_repeat(left, right)
        elif operator == "**":
            self._check_power(left, right)
        elif operator == "+":
            sizes = (_size(left, self.max_size), _size(right, self.max_size))
            if None not in sizes and sum(s for s in sizes if s is not None) > self.max_size:
                raise self.refuse(f"Joining values of {sizes[0]:,} and {sizes[1]:,} items")
        elif operator == "%" and isinstance(left, str):
            self.check_format(left, "A % format")
        return self.check_result(self.binop_table[operator](left, right), f"The {operator!r}")

    def _check_repeat(self, left: Any, right: Any) -> None:
        for seq, times in ((left, right), (right, left)):
            size = _size(seq, self.max_size)
            if size is not None and isinstance(times, int) and size * times > self.max_size:
                raise self.refuse(f"Repeating {size:,} items {times:,} times")

    def _check_power(self, left: Any, right: Any) -> None:
        if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
            digits = right * math.log10(abs(left))
            if digits > self.max_size:
                raise self.refuse(f"{left} ** {right} (about {digits:,.0f} digits)")

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        what = f"Calling {getattr(__obj, '__name__', type(__obj).__name__)}"
        owner_and_args = [*args, *kwargs.values()]
        bound_to = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
        if isinstance(bound_to, str | list | tuple | dict):
            owner_and_args.insert(0, bound_to)  # "x".replace(a, b), sep.join(items)
        __self.check_arguments(owner_and_args, what)
        # The sandbox hands out str.format wrapped; the wrapper keeps the method as __wrapped__.
        owner = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
        if isinstance(owner, str) and getattr(__obj, "__name__", "") in {"format", "format_map"}:
            __self.check_format(owner, what)
        result = super().call(__context, __obj, *args, **kwargs)
        return __self.check_result(result, what)

    def _bounded(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """``func`` (a filter) with its size arguments and its result checked."""

        @functools.wraps(func)
        def bounded(*args: Any, **kwargs: Any) -> Any:
            name = f"The filter {func.__name__}"
            self.check_arguments([*args, *kwargs.values()], name)
            if args and isinstance(args[0], str) and func.__name__ == "do_format":
                self.check_format(args[0], name)
            return self.check_result(func(*args, **kwargs), name)

        return bounded


def render_bounded(template: Template, context: Mapping[str, Any], max_size: int) -> str:
    """Render ``template``, stopping as soon as its output passes ``max_size`` characters."""
    parts: list[str] = []
    total = 0
    for part in template.generate(**context):
        total += len(part)
        if total > max_size:
            raise SizeLimitError(
                f"The rendered output is over the template size limit ({max_size:,})."
            )
        parts.append(part)
    return "".join(parts)
