"""Conditions: the small JSON language that decides whether an event rule fires.

A ruleset is either one condition::

    {"attr": "status.value", "value": "active"}

or a logic group whose value is a list of conditions and further groups, to any depth::

    {"or": [{"attr": "tags.slug", "value": "exempt", "op": "contains"}, {"and": [...]}]}

``ConditionSet(ruleset)`` checks the whole ruleset up front and raises ``ConditionError`` (a
``ValueError``) whose message says where the problem is, e.g. ``and[1].or[0]: missing key 'attr'``.
``ConditionSet(ruleset).eval(data)`` returns a bool, or raises ``InvalidCondition`` when the data
does not fit a condition (a missing key, a comparison between incompatible types).

It is NetBox's condition language with these defects fixed: ``AND``/``OR`` are accepted in any
case and at any level; malformed children, unknown keys and invalid regular expressions are
rejected at construction instead of crashing at dispatch; and walking a path into a scalar, or
matching a regex against a non-string, raises ``InvalidCondition`` rather than ``TypeError``.

Path resolution has no special cases: ``snapshots.prechange.status`` walks the ``snapshots`` key of
the data like any other. A null snapshot (``prechange`` on a create, ``postchange`` on a delete) is
treated as an empty object, so a path through it raises ``InvalidCondition`` and the rule does not
fire. Restrict such rules to the event types where that snapshot exists.

Regular expressions run on the ``regex`` package (``re``'s syntax), which stops a match after a
time limit: conditions run inside the request that saves an object, so a pattern such as
``(a|aa)+$`` must not let an object's data stall a write. A match that runs out of time raises
``RegexTimeout``, and the rule does not fire (negated or not).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any, Final

import regex

__all__ = [
    "OPERATORS",
    "REGEX_TIMEOUT",
    "Condition",
    "ConditionError",
    "ConditionSet",
    "InvalidCondition",
    "RegexTimeout",
]

# Seconds one regex match may take (``WEBHOOKS_CONDITION_REGEX_TIMEOUT`` in a project).
REGEX_TIMEOUT: Final = 0.05


class ConditionError(ValueError):
    """A ruleset or condition is malformed. Raised at construction."""


class InvalidCondition(Exception):  # NetBox's name, kept so the docs map one-to-one
    """A well-formed condition cannot be evaluated against the given data."""


class RegexTimeout(InvalidCondition):
    """A regex condition took longer than its time limit on the given data (a pattern with
    catastrophic backtracking, such as ``(a|aa)+$``): it counts as not matching."""


# Each function takes (value found in the data, value of the condition). ``regex`` is handled apart
# because its pattern is compiled once, at construction.
_COMPARISONS: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "eq": operator.eq,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "in": lambda found, value: found in value,
    "contains": operator.contains,  # contains(found, value) is `value in found`
}
OPERATORS: Final[tuple[str, ...]] = (*_COMPARISONS, "regex")

_NUMBER_OPS: Final = frozenset({"eq", "gt", "gte", "lt", "lte", "contains"})
# Keyed on the exact type of the condition's value: bool is not treated as an int.
_OPS_BY_VALUE_TYPE: Final[dict[type, frozenset[str]]] = {
    str: frozenset({"eq", "contains", "regex"}),
    bool: frozenset({"eq", "contains"}),
    int: _NUMBER_OPS,
    float: _NUMBER_OPS,
    list: frozenset({"eq", "in", "contains"}),
    type(None): frozenset({"eq"}),
}

_LOGIC_TYPES: Final = ("and", "or")
_CONDITION_KEYS: Final = ("attr", "value", "op", "negate")
_REQUIRED_KEYS: Final = ("attr", "value")
# Deeper rulesets are rejected so that parsing and evaluation never hit the recursion limit.
_MAX_DEPTH: Final = 32


def _type_name(obj: object) -> str:
    return type(obj).__name__


def _check_attr(attr: object) -> tuple[str, ...]:
    if not isinstance(attr, str) or not attr:
        shown = "an empty string" if attr == "" else _type_name(attr)
        raise ConditionError(f"attr must be a non-empty string, not {shown}.")
    keys = tuple(attr.split("."))
    if not all(keys):
        raise ConditionError(f"attr must be a dotted path without empty segments: {attr!r}.")
    return keys


def _check_op(op: object, value: object) -> str:
    if not isinstance(op, str) or op not in OPERATORS:
        raise ConditionError(f"Unknown operator: {op}. Must be one of: {', '.join(OPERATORS)}")
    allowed = _OPS_BY_VALUE_TYPE.get(type(value))
    if allowed is None:
        raise ConditionError(f"Unsupported value type: {_type_name(value)}")
    if op not in allowed:
        raise ConditionError(f"Invalid type for {op} operation: {_type_name(value)}")
    return op


def _compile(pattern: str) -> regex.Pattern[str]:
    try:
        return regex.compile(pattern)
    except (regex.error, RecursionError, OverflowError, ValueError) as exc:
        raise ConditionError(f"Invalid regular expression {pattern!r}: {exc}") from None


class Condition:
    """One test: the value found at ``attr`` in the data, compared with ``value`` by ``op``."""

    __slots__ = ("_keys", "_pattern", "attr", "negate", "op", "value")

    def __init__(self, attr: str, value: Any, op: str = "eq", negate: bool = False) -> None:
        self._keys = _check_attr(attr)
        self.attr = attr
        self.op = _check_op(op, value)
        self.value = value
        if not isinstance(negate, bool):
            raise ConditionError(f"negate must be true or false, not {_type_name(negate)}.")
        self.negate = negate
        self._pattern = _compile(value) if op == "regex" else None

    def __repr__(self) -> str:
        return (
            f"Condition(attr={self.attr!r}, value={self.value!r}, op={self.op!r}, "
            f"negate={self.negate!r})"
        )

    def eval(self, data: Mapping[str, Any], regex_timeout: float = REGEX_TIMEOUT) -> bool:
        """Whether ``data`` satisfies this condition (inverted by ``negate``). A regex match
        that takes longer than ``regex_timeout`` seconds raises :class:`RegexTimeout`."""
        found = self._resolve(data)
        if self._pattern is not None:
            if not isinstance(found, str):
                raise self._bad_type(f"expected a string, got {_type_name(found)}")
            try:
                result = self._pattern.match(found, timeout=regex_timeout) is not None
            except TimeoutError:
                raise RegexTimeout(
                    f"The regex {self.value!r} at {self.attr!r} ran out of time "
                    f"({regex_timeout} s) on a value of {len(found):,} characters"
                ) from None
        else:
            try:
                result = bool(_COMPARISONS[self.op](found, self.value))
            except TypeError as exc:
                raise self._bad_type(str(exc)) from exc
        return not result if self.negate else result

    def _bad_type(self, detail: str) -> InvalidCondition:
        return InvalidCondition(
            f"Invalid data type at {self.attr!r} for {self.op!r} evaluation: {detail}"
        )

    def _resolve(self, data: object) -> Any:
        """Walk the dotted path. Through a list, the rest of the path applies to each element."""
        current: Any = data
        for index, key in enumerate(self._keys):
            if isinstance(current, list):
                current = [self._lookup(item or {}, key, index) for item in current]
            else:
                current = self._lookup(current or {}, key, index)
        return current

    def _lookup(self, obj: object, key: str, index: int) -> Any:
        if not isinstance(obj, Mapping):
            walked = ".".join(self._keys[:index])
            raise InvalidCondition(
                f"Invalid key path: {self.attr} ({walked!r} holds a {_type_name(obj)}, "
                f"which has no key {key!r})"
            )
        try:
            return obj[key]
        except KeyError:
            raise InvalidCondition(f"Invalid key path: {self.attr}") from None


class ConditionSet:
    """A validated ruleset: an ``and``/``or`` group of conditions and nested groups.

    A bare condition at the top level is a group of one, combined with ``and``.
    """

    logic: str
    children: tuple[Condition | ConditionSet, ...]

    def __init__(self, ruleset: Any) -> None:
        if not isinstance(ruleset, dict):
            raise ConditionError(f"Ruleset must be a dictionary, not {_type_name(ruleset)}.")
        node = _parse_node(ruleset, path="", depth=0)
        if isinstance(node, Condition):
            self.logic, self.children = "and", (node,)
        else:
            self.logic, self.children = node.logic, node.children

    @classmethod
    def of(cls, logic: str, children: tuple[Condition | ConditionSet, ...]) -> ConditionSet:
        """A set of already parsed conditions joined by ``logic`` (``and`` / ``or``)."""
        group = cls.__new__(cls)
        group.logic, group.children = logic, children
        return group

    def __repr__(self) -> str:
        children = ", ".join(map(repr, self.children))
        return f"ConditionSet(logic={self.logic!r}, children=[{children}])"

    def eval(self, data: Mapping[str, Any], regex_timeout: float = REGEX_TIMEOUT) -> bool:
        """``or``: any child holds; ``and``: all hold. Stops at the first child that decides.

        An empty ``and`` is true and an empty ``or`` is false.
        """
        results = (child.eval(data, regex_timeout) for child in self.children)
        return any(results) if self.logic == "or" else all(results)


def _error(path: str, message: str) -> ConditionError:
    return ConditionError(f"{path}: {message}" if path else message)


def _parse_node(node: object, path: str, depth: int) -> Condition | ConditionSet:
    if not isinstance(node, dict):
        raise _error(
            path, f"expected a condition or an and/or group (a dictionary), not {_type_name(node)}."
        )
    if not node:
        raise _error(path, "empty dictionary; expected a condition or an and/or group.")
    if len(node) == 1:
        ((key, children),) = node.items()
        if isinstance(key, str) and key.lower() in _LOGIC_TYPES:
            return _parse_group(key, children, path, depth)
        if key not in _CONDITION_KEYS:
            raise _error(
                path,
                f"invalid logic type or unknown key {key!r}: expected 'and' or 'or' "
                "(any case), or a condition with 'attr' and 'value'.",
            )
    return _parse_condition(node, path)


def _parse_group(key: str, children: object, path: str, depth: int) -> ConditionSet:
    here = f"{path}.{key}" if path else key
    if depth >= _MAX_DEPTH:
        raise _error(here, f"groups are nested more than {_MAX_DEPTH} levels deep.")
    if not isinstance(children, list):
        raise _error(here, f"value must be a list of conditions, not {_type_name(children)}.")
    parsed = tuple(
        _parse_node(child, f"{here}[{index}]", depth + 1) for index, child in enumerate(children)
    )
    return ConditionSet.of(key.lower(), parsed)


def _parse_condition(node: dict[Any, Any], path: str) -> Condition:
    unknown = [key for key in node if key not in _CONDITION_KEYS]
    if unknown:
        names = ", ".join(map(repr, unknown))
        raise _error(path, f"unknown key(s) {names}; a condition takes attr, value, op, negate.")
    for key in _REQUIRED_KEYS:
        if key not in node:
            raise _error(path, f"missing key {key!r}.")
    try:
        return Condition(
            node["attr"], node["value"], op=node.get("op", "eq"), negate=node.get("negate", False)
        )
    except ConditionError as exc:
        raise _error(path, str(exc)) from None
