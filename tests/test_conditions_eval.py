"""Evaluation of conditions and rulesets against data. Pure Python: no database."""

from __future__ import annotations

import re
from typing import Any

import pytest

from webhooks_app.conditions import Condition, ConditionSet, InvalidCondition, RegexTimeout

DEVICE: dict[str, Any] = {
    "name": "edge-router-1",
    "status": {"value": "active", "label": "Active"},
    "vlan": 120,
    "weight": 2.5,
    "enabled": True,
    "primary_ip4": None,
    "tags": [{"slug": "core", "name": "Core"}, {"slug": "lab", "name": "Lab"}],
    "owners": ["alice", "bob"],
    "site": {"region": {"slug": "eu-west"}},
    "snapshots": {
        "prechange": {"status": "planned"},
        "postchange": {"status": "active"},
    },
}
TRUE = {"attr": "status.value", "value": "active"}
FALSE = {"attr": "status.value", "value": "offline"}
BROKEN = {"attr": "no.such.key", "value": 1}


def check(ruleset: dict[str, Any], data: dict[str, Any] = DEVICE) -> bool:
    return ConditionSet(ruleset).eval(data)


def invalid(ruleset: dict[str, Any], message: str, data: dict[str, Any] = DEVICE) -> None:
    with pytest.raises(InvalidCondition, match=re.escape(message)):
        check(ruleset, data)


# --- every operator, matching and not matching --------------------------------------------------


@pytest.mark.parametrize(
    ("attr", "op", "matching", "not_matching"),
    [
        ("status.value", "eq", "active", "offline"),
        ("vlan", "eq", 120, 121),
        ("weight", "eq", 2.5, 2.0),
        ("enabled", "eq", True, False),
        ("primary_ip4", "eq", None, "10.0.0.1"),
        ("owners", "eq", ["alice", "bob"], ["bob", "alice"]),
        ("vlan", "gt", 100, 120),
        ("vlan", "gte", 120, 121),
        ("vlan", "lt", 121, 120),
        ("vlan", "lte", 120, 119),
        ("weight", "gt", 2.0, 2.5),
        ("weight", "lte", 2.5, 2.4),
        ("status.value", "in", ["planned", "active"], ["planned", "staging"]),
        ("vlan", "in", [100, 120], [100]),
        ("name", "contains", "router", "switch"),
        ("owners", "contains", "alice", "carol"),
        ("tags.slug", "contains", "lab", "edge"),
        ("name", "regex", r"edge-\w+-\d$", r"core-"),
    ],
)
def test_operator_matches_and_does_not_match(attr, op, matching, not_matching):
    assert check({"attr": attr, "value": matching, "op": op}) is True
    assert check({"attr": attr, "value": not_matching, "op": op}) is False


def test_contains_with_number_and_boolean_values_tests_list_membership():
    data = {"vids": [10, 20], "flags": [True], "ratios": [0.5]}
    assert check({"attr": "vids", "value": 20, "op": "contains"}, data)
    assert check({"attr": "flags", "value": True, "op": "contains"}, data)
    assert check({"attr": "ratios", "value": 0.5, "op": "contains"}, data)
    assert not check({"attr": "vids", "value": 30, "op": "contains"}, data)


def test_contains_with_a_list_value_tests_membership_of_that_list():
    data = {"pairs": [[1, 2], [3, 4]]}
    assert check({"attr": "pairs", "value": [3, 4], "op": "contains"}, data)
    assert not check({"attr": "pairs", "value": [4, 3], "op": "contains"}, data)


def test_regex_is_anchored_at_the_start_but_not_at_the_end():
    assert check({"attr": "name", "value": "edge", "op": "regex"})
    assert not check({"attr": "name", "value": "router", "op": "regex"})


def test_regex_against_a_non_string_raises_invalid_condition():
    invalid({"attr": "vlan", "value": r"\d+", "op": "regex"}, "expected a string, got int")
    invalid({"attr": "tags.slug", "value": "core", "op": "regex"}, "got list")
    invalid({"attr": "primary_ip4", "value": ".*", "op": "regex"}, "got NoneType")


def test_eval_returns_a_real_boolean():
    assert check({"attr": "name", "value": "edge", "op": "regex"}) is True
    assert check({"attr": "owners", "value": "bob", "op": "contains"}) is True


# --- data whose type does not fit the operator --------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "data"),
    [
        ({"attr": "x", "value": 3, "op": "gt"}, {"x": "abc"}),
        ({"attr": "x", "value": 3, "op": "lte"}, {"x": None}),
        ({"attr": "x", "value": 3, "op": "gte"}, {"x": [1]}),
        ({"attr": "x", "value": "a", "op": "contains"}, {"x": None}),
        ({"attr": "x", "value": 1, "op": "contains"}, {"x": 5}),
        ({"attr": "x", "value": 1, "op": "contains"}, {"x": "123"}),
        ({"attr": "x", "value": ["a"], "op": "contains"}, {"x": {"a": 1}}),
    ],
)
def test_type_error_during_evaluation_becomes_invalid_condition(condition, data):
    with pytest.raises(
        InvalidCondition, match=f"^Invalid data type at 'x' for '{condition['op']}'"
    ):
        check(condition, data)


# --- path resolution ----------------------------------------------------------------------------


def test_dotted_path_walks_nested_objects():
    assert check({"attr": "site.region.slug", "value": "eu-west"})


def test_path_through_a_list_maps_over_its_elements():
    assert check({"attr": "tags.slug", "value": ["core", "lab"]})
    assert check({"attr": "tags.name", "value": "Core", "op": "contains"})


def test_path_through_an_empty_list_gives_an_empty_list():
    data: dict[str, Any] = {"tags": []}
    assert check({"attr": "tags.slug", "value": []}, data)
    assert not check({"attr": "tags.slug", "value": "core", "op": "contains"}, data)


def test_list_element_without_the_key_raises_invalid_condition():
    invalid({"attr": "tags.slug", "value": []}, "Invalid key path: tags.slug", {"tags": [{}]})


def test_null_list_element_is_treated_as_empty_object():
    data = {"tags": [{"slug": "a"}, None]}
    invalid({"attr": "tags.slug", "value": []}, "Invalid key path: tags.slug", data)


def test_missing_key_raises_invalid_condition_naming_the_path():
    with pytest.raises(InvalidCondition, match=r"^Invalid key path: no\.such\.key$"):
        check(BROKEN)


def test_walking_through_null_raises_invalid_condition():
    invalid({"attr": "primary_ip4.address", "value": "x"}, "Invalid key path: primary_ip4.address")


def test_walking_into_a_scalar_raises_invalid_condition_not_type_error():
    data = {"status": "active"}
    invalid(
        {"attr": "status.value", "value": "active"},
        "Invalid key path: status.value ('status' holds a str, which has no key 'value')",
        data,
    )
    invalid({"attr": "vlan.id", "value": 1}, "'vlan' holds a int")
    invalid({"attr": "owners.name", "value": "x"}, "'owners' holds a str")


def test_there_is_no_numeric_list_indexing():
    invalid({"attr": "owners.0", "value": "alice"}, "Invalid key path: owners.0")


# --- snapshots ----------------------------------------------------------------------------------


def test_snapshot_paths_read_the_snapshots_key_of_the_data():
    assert check({"attr": "snapshots.prechange.status", "value": "planned"})
    assert check({"attr": "snapshots.postchange.status", "value": "active"})
    changed = {
        "and": [
            {"attr": "snapshots.prechange.status", "value": "active", "negate": True},
            {"attr": "snapshots.postchange.status", "value": "active"},
        ]
    }
    assert check(changed)


def test_path_through_a_null_snapshot_raises_invalid_condition():
    created = {**DEVICE, "snapshots": {"prechange": None, "postchange": {"status": "active"}}}
    rule = {"attr": "snapshots.prechange.status", "value": "planned"}
    invalid(rule, "Invalid key path: snapshots.prechange.status", created)


# --- negation -----------------------------------------------------------------------------------


def test_negate_inverts_the_result():
    assert check({**TRUE, "negate": True}) is False
    assert check({**FALSE, "negate": True}) is True
    assert check({"attr": "primary_ip4", "value": None, "negate": True}) is False


def test_negate_does_not_hide_an_invalid_condition():
    invalid({**BROKEN, "negate": True}, "Invalid key path: no.such.key")
    invalid({"attr": "name", "value": 1, "op": "gt", "negate": True}, "Invalid data type")


# --- groups -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("children", "all_", "any_"),
    [([TRUE, TRUE], True, True), ([TRUE, FALSE], False, True), ([FALSE, FALSE], False, False)],
)
def test_and_needs_every_child_and_or_needs_one(children, all_, any_):
    assert check({"and": children}) is all_
    assert check({"or": children}) is any_


def test_empty_and_is_true_and_empty_or_is_false():
    assert check({"and": []}) is True
    assert check({"or": []}) is False


def test_upper_case_groups_evaluate_like_lower_case_ones():
    assert check({"AND": [TRUE, {"Or": [FALSE, TRUE]}]}) is True
    assert check({"OR": [FALSE, {"AND": [TRUE, FALSE]}]}) is False


def test_or_stops_at_the_first_true_child():
    assert check({"or": [TRUE, BROKEN]}) is True


def test_and_stops_at_the_first_false_child():
    assert check({"and": [FALSE, BROKEN]}) is False


def test_an_invalid_child_that_is_reached_raises():
    invalid({"or": [FALSE, BROKEN]}, "Invalid key path: no.such.key")
    invalid({"and": [TRUE, BROKEN]}, "Invalid key path: no.such.key")


def test_groups_nest_to_depth_four():
    def nested(innermost: dict[str, Any]) -> dict[str, Any]:
        return {"and": [TRUE, {"or": [FALSE, {"and": [TRUE, {"or": [FALSE, innermost]}]}]}]}

    assert check(nested(TRUE)) is True
    assert check(nested(FALSE)) is False


def test_short_circuit_applies_inside_nested_groups():
    assert check({"and": [{"or": [TRUE, BROKEN]}, {"and": [FALSE, BROKEN]}, BROKEN]}) is False


def test_a_condition_can_be_evaluated_on_its_own():
    assert Condition("vlan", 100, "gt").eval(DEVICE) is True
    assert Condition("vlan", 100, "gt", negate=True).eval(DEVICE) is False


# --- the documented examples --------------------------------------------------------------------

NOT_PLANNED_OR_STAGING = {
    "attr": "status.value",
    "value": ["planned", "staging"],
    "op": "in",
    "negate": True,
}
ACTIVE_WITH_IP_OR_EXEMPT = {
    "or": [
        {
            "and": [
                {"attr": "status.value", "value": "active"},
                {"attr": "primary_ip4", "value": None, "negate": True},
            ]
        },
        {"attr": "tags.slug", "value": "exempt", "op": "contains"},
    ]
}


@pytest.mark.parametrize(("status", "expected"), [("active", True), ("planned", False)])
def test_documented_example_status_not_in_list(status, expected):
    data = {"status": {"value": status}}
    assert check(NOT_PLANNED_OR_STAGING, data) is expected


@pytest.mark.parametrize(
    ("status", "ip", "tags", "expected"),
    [
        ("active", "10.0.0.1/24", [], True),
        ("active", None, [], False),
        ("planned", "10.0.0.1/24", [{"slug": "core"}], False),
        ("planned", None, [{"slug": "core"}, {"slug": "exempt"}], True),
    ],
)
def test_documented_example_nested_groups(status, ip, tags, expected):
    data = {"status": {"value": status}, "primary_ip4": ip, "tags": tags}
    assert check(ACTIVE_WITH_IP_OR_EXEMPT, data) is expected


# A regex condition runs inside the request that saves an object: its time is bounded.
EVIL = {"attr": "name", "value": "(a|aa)+$", "op": "regex"}


@pytest.mark.parametrize("negate", [False, True])
def test_a_regex_that_runs_out_of_time_raises_regex_timeout_whatever_the_negation(negate):
    condition = ConditionSet({**EVIL, "negate": negate})
    with pytest.raises(RegexTimeout, match=r"ran out of time \(0.01 s\) on a value of 41"):
        condition.eval({"name": "a" * 40 + "b"}, regex_timeout=0.01)


def test_a_regex_on_ordinary_data_is_not_affected_by_the_time_limit():
    condition = ConditionSet(EVIL)
    assert condition.eval({"name": "aaaa"}, regex_timeout=0.01) is True
    assert condition.eval({"name": "aab"}, regex_timeout=0.01) is False
