"""Construction of conditions and rulesets: what is accepted, and what is rejected with which message.

Evaluation is tested in test_conditions_eval.py. Both modules are pure Python: no database.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webhooks_app.conditions import (
    OPERATORS,
    Condition,
    ConditionError,
    ConditionSet,
    InvalidCondition,
)

ACTIVE = {"attr": "status.value", "value": "active"}


def rejects(ruleset: Any, message: str) -> None:
    """Assert that building ``ruleset`` fails with ``message`` (a literal, not a regex)."""
    with pytest.raises(ValueError, match=re.escape(message)):
        ConditionSet(ruleset)


# --- the exception classes ----------------------------------------------------------------------


def test_construction_errors_are_value_errors_and_evaluation_errors_are_not():
    assert issubclass(ConditionError, ValueError)
    assert not issubclass(InvalidCondition, ValueError)


# --- the shape of a ruleset ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ruleset", "name"), [([ACTIVE], "list"), ("x", "str"), (None, "NoneType")]
)
def test_ruleset_that_is_not_a_dictionary_is_rejected_naming_its_type(ruleset, name):
    rejects(ruleset, f"Ruleset must be a dictionary, not {name}.")


def test_empty_ruleset_is_rejected():
    rejects({}, "empty dictionary")


def test_bare_condition_is_a_one_element_and_group():
    conditions = ConditionSet(ACTIVE)
    assert conditions.logic == "and"
    assert len(conditions.children) == 1
    assert isinstance(conditions.children[0], Condition)


@pytest.mark.parametrize("key", ["and", "AND", "And", "or", "OR", "oR"])
def test_logic_key_is_accepted_in_any_case_at_top_level(key):
    assert ConditionSet({key: [ACTIVE]}).logic == key.lower()


def test_upper_case_logic_key_is_accepted_when_nested():
    conditions = ConditionSet({"and": [{"OR": [ACTIVE, {"And": [ACTIVE]}]}]})
    inner = conditions.children[0]
    assert isinstance(inner, ConditionSet)
    assert inner.logic == "or"
    assert isinstance(inner.children[1], ConditionSet)
    assert inner.children[1].logic == "and"


def test_groups_nest_to_any_reasonable_depth():
    ruleset: dict[str, Any] = ACTIVE
    for level in range(10):
        ruleset = {("and", "or")[level % 2]: [ruleset, ACTIVE]}
    node: Condition | ConditionSet = ConditionSet(ruleset)
    for _ in range(10):
        assert isinstance(node, ConditionSet)
        node = node.children[0]
    assert isinstance(node, Condition)


def test_absurdly_deep_nesting_is_a_value_error_not_a_recursion_error():
    ruleset: dict[str, Any] = ACTIVE
    for _ in range(5000):
        ruleset = {"and": [ruleset]}
    rejects(ruleset, "nested more than")


@pytest.mark.parametrize(
    ("ruleset", "message"),
    [
        ({"and": ACTIVE}, "and: value must be a list of conditions, not dict."),
        ({"OR": "x"}, "OR: value must be a list of conditions, not str."),
        ({"and": [ACTIVE, {"or": None}]}, "and[1].or: value must be a list of conditions, not"),
    ],
)
def test_group_whose_value_is_not_a_list_is_rejected_naming_the_path(ruleset, message):
    rejects(ruleset, message)


@pytest.mark.parametrize(
    ("child", "name"), [("status", "str"), (["x"], "list"), (None, "NoneType"), (3, "int")]
)
def test_child_that_is_not_a_dictionary_is_rejected_naming_the_path(child, name):
    rejects({"or": [ACTIVE, child]}, "or[1]: expected a condition or an and/or group")
    rejects({"or": [ACTIVE, child]}, f"not {name}.")


def test_empty_child_is_rejected_naming_the_path():
    rejects({"and": [ACTIVE, {"or": [{}]}]}, "and[1].or[0]: empty dictionary")


def test_single_key_that_is_neither_logic_nor_condition_key_is_rejected():
    rejects({"xor": [ACTIVE]}, "invalid logic type or unknown key 'xor'")
    rejects({"and": [{"not": [ACTIVE]}]}, "and[0]: invalid logic type or unknown key 'not'")


def test_condition_with_only_attr_reports_the_missing_value():
    rejects({"attr": "status"}, "missing key 'value'.")


def test_missing_attr_in_a_nested_condition_is_reported_with_its_path():
    ruleset = {"and": [ACTIVE, {"or": [{"value": "x", "op": "eq"}]}]}
    rejects(ruleset, "and[1].or[0]: missing key 'attr'.")


def test_missing_value_is_reported():
    rejects({"attr": "status", "op": "eq"}, "missing key 'value'.")


def test_unknown_condition_key_is_reported_with_its_path():
    rejects({"or": [ACTIVE, {"attr": "a", "valeu": 1}]}, "or[1]: unknown key(s) 'valeu'")


def test_logic_key_mixed_with_condition_keys_is_an_unknown_key():
    rejects({"and": [ACTIVE], "attr": "a", "value": 1}, "unknown key(s) 'and'")


@pytest.mark.parametrize(
    ("attr", "message"),
    [
        (1, "attr must be a non-empty string, not int."),
        (None, "attr must be a non-empty string, not NoneType."),
        ("", "attr must be a non-empty string, not an empty string."),
        ("a..b", "attr must be a dotted path without empty segments: 'a..b'."),
        (".a", "attr must be a dotted path without empty segments: '.a'."),
    ],
)
def test_bad_attr_is_rejected(attr, message):
    rejects({"and": [{"attr": attr, "value": 1}]}, f"and[0]: {message}")


@pytest.mark.parametrize("negate", ["true", 1, None])
def test_negate_that_is_not_a_boolean_is_rejected(negate):
    rejects({"attr": "a", "value": 1, "negate": negate}, "negate must be true or false")


@pytest.mark.parametrize("op", ["ne", "EQ", "", 3, None])
def test_unknown_operator_is_rejected_listing_the_operators(op):
    rejects(
        {"attr": "a", "value": 1, "op": op},
        f"Unknown operator: {op}. Must be one of: eq, gt, gte, lt, lte, in, contains, regex",
    )


def test_op_defaults_to_eq_and_negate_to_false():
    condition = ConditionSet(ACTIVE).children[0]
    assert isinstance(condition, Condition)
    assert (condition.op, condition.negate) == ("eq", False)


# --- the operator / value-type matrix -----------------------------------------------------------

ACCEPTED = {
    "str": {"eq", "contains", "regex"},
    "bool": {"eq", "contains"},
    "int": {"eq", "gt", "gte", "lt", "lte", "contains"},
    "float": {"eq", "gt", "gte", "lt", "lte", "contains"},
    "list": {"eq", "in", "contains"},
    "NoneType": {"eq"},
}
SAMPLES = {"str": "a", "bool": True, "int": 1, "float": 1.5, "list": ["a"], "NoneType": None}
CELLS = [(name, op) for name in ACCEPTED for op in OPERATORS]


def test_matrix_covers_every_operator():
    assert set(OPERATORS) == {"eq", "gt", "gte", "lt", "lte", "in", "contains", "regex"}


@pytest.mark.parametrize(("type_name", "op"), [c for c in CELLS if c[1] in ACCEPTED[c[0]]])
def test_operator_is_accepted_for_value_type(type_name, op):
    condition = Condition("a", SAMPLES[type_name], op)
    assert condition.op == op


@pytest.mark.parametrize(("type_name", "op"), [c for c in CELLS if c[1] not in ACCEPTED[c[0]]])
def test_operator_is_rejected_for_value_type(type_name, op):
    with pytest.raises(ConditionError, match=f"^Invalid type for {op} operation: {type_name}$"):
        Condition("a", SAMPLES[type_name], op)


@pytest.mark.parametrize(
    ("value", "name"), [({"a": 1}, "dict"), ((1, 2), "tuple"), ({1}, "set"), (b"x", "bytes")]
)
def test_value_of_unsupported_type_is_rejected(value, name):
    with pytest.raises(ConditionError, match=f"^Unsupported value type: {name}$"):
        Condition("a", value)


def test_type_error_in_a_nested_condition_names_the_path():
    rejects({"or": [{"attr": "a", "value": True, "op": "gt"}]}, "or[0]: Invalid type for gt")


# --- regular expressions ------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["(", "[a-", "*a", "a{99999999999}", "(" * 2000 + ")" * 2000])
def test_invalid_regex_is_rejected_at_construction(pattern):
    with pytest.raises(ConditionError, match="Invalid regular expression"):
        ConditionSet({"attr": "name", "value": pattern, "op": "regex"})


def test_invalid_regex_message_names_the_pattern_the_error_and_the_path():
    with pytest.raises(ConditionError) as caught:
        ConditionSet({"and": [ACTIVE, {"attr": "name", "value": "ab(c", "op": "regex"}]})
    message = str(caught.value)
    assert message.startswith("and[1]: Invalid regular expression 'ab(c': ")
    assert "missing )" in message


# --- repr ---------------------------------------------------------------------------------------


def test_condition_repr_shows_its_arguments():
    condition = Condition("status.value", ["a"], "in", negate=True)
    assert repr(condition) == ("Condition(attr='status.value', value=['a'], op='in', negate=True)")


def test_condition_set_repr_shows_logic_and_children():
    conditions = ConditionSet({"OR": [ACTIVE, {"and": []}]})
    assert repr(conditions) == (
        "ConditionSet(logic='or', children=[Condition(attr='status.value', value='active', "
        "op='eq', negate=False), ConditionSet(logic='and', children=[])])"
    )


# --- properties over random input ---------------------------------------------------------------

KEYS = st.sampled_from(["and", "OR", "Or", "attr", "value", "op", "negate", "status", "x"])
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4)
PATHS = st.sampled_from(["status", "status.value", "tags.slug", "x.y.z", "snapshots.prechange.x"])


def json_like(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
        max_leaves=12,
    )


CONDITIONS = st.fixed_dictionaries(
    {"attr": PATHS | SCALARS, "value": json_like(KEYS)},
    optional={"op": st.sampled_from([*OPERATORS, "ne"]), "negate": st.booleans() | SCALARS},
)
RULESETS = st.recursive(
    CONDITIONS | json_like(KEYS),
    lambda inner: st.dictionaries(
        st.sampled_from(["and", "OR", "Or", "not"]), st.lists(inner, max_size=3) | inner, min_size=1
    ),
    max_leaves=10,
)
DATA = json_like(st.sampled_from(["status", "value", "tags", "slug", "x", "y", "z", "snapshots"]))


@settings(max_examples=200, deadline=None, database=None)
@given(ruleset=RULESETS, data=DATA)
def test_random_input_raises_only_value_error_then_only_invalid_condition(ruleset, data):
    try:
        conditions = ConditionSet(ruleset)
    except ValueError:
        return
    try:
        result = conditions.eval(data)
    except InvalidCondition:
        return
    assert type(result) is bool


@settings(max_examples=200, deadline=None, database=None)
@given(
    attr=PATHS,
    value_and_op=st.sampled_from([(SAMPLES[t], op) for t, op in CELLS if op in ACCEPTED[t]]),
    data=DATA,
)
def test_negate_inverts_every_result_that_can_be_evaluated(attr, value_and_op, data):
    value, op = value_and_op
    plain, negated = Condition(attr, value, op), Condition(attr, value, op, negate=True)
    try:
        expected = not plain.eval(data)
    except InvalidCondition:
        with pytest.raises(InvalidCondition):
            negated.eval(data)
        return
    assert negated.eval(data) is expected
