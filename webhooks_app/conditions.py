"""PLACEHOLDER: being written by a helper. Interface: Condition, ConditionSet, InvalidCondition."""

from __future__ import annotations

from typing import Any

__all__ = ["Condition", "ConditionSet", "InvalidCondition"]


class InvalidCondition(Exception):
    pass


class Condition:
    def __init__(self, attr: str, value: Any, op: str = "eq", negate: bool = False) -> None:
        self.attr, self.value, self.op, self.negate = attr, value, op, negate

    def eval(self, data: dict[str, Any]) -> bool:
        raise NotImplementedError


class ConditionSet:
    def __init__(self, ruleset: Any) -> None:
        if not isinstance(ruleset, dict):
            raise ValueError("Ruleset must be a dictionary")
        self.ruleset = ruleset

    def eval(self, data: dict[str, Any]) -> bool:
        return True
