"""When events leave: after the outermost commit, one dispatch per transaction or per scope.

Real transactions and savepoints (``transaction.atomic``), the real dispatch and a real Redis:
each dispatch of a few events is one job (``WEBHOOKS_BATCH_SIZE`` is 100), so the jobs in the
queue show how the events left.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from rq import Queue

from demo.inventory.models import Site, Tag
from tests.conftest import queued_deliveries
from webhooks_app.capture.context import capture_events
from webhooks_app.models import EventRule

pytestmark = pytest.mark.django_db(transaction=True)


class Dropped(Exception):
    pass


def jobs(queue: Queue) -> list[list[tuple[str, str]]]:
    """Each queued job as its deliveries' (event, object name)."""
    return [
        [(d["context"]["event"], d["context"]["data"]["name"]) for d in job]
        for job in queued_deliveries(queue)
    ]


def create(name: str) -> Site:
    return Site.objects.create(name=name, slug=name.lower().replace(" ", "-"))


def in_rolled_back_savepoint(*names: str) -> None:
    try:
        with transaction.atomic():
            for name in names:
                create(name)
            raise Dropped
    except Dropped:
        pass


def test_nothing_leaves_before_the_outermost_commit(queue: Queue, site_rule: EventRule) -> None:
    with transaction.atomic():
        create("Outer")
        with transaction.atomic():
            create("Inner")
        assert queue.count == 0  # the savepoint was released, the transaction is still open
    assert jobs(queue) == [[("created", "Outer"), ("created", "Inner")]]


def test_a_change_outside_a_transaction_leaves_at_once(queue: Queue, site_rule: EventRule) -> None:
    create("Alone")
    assert jobs(queue) == [[("created", "Alone")]]
    [context] = [d["context"] for d in queued_deliveries(queue)[0]]
    assert context["username"] is None and context["request_id"] is None
    assert "request" not in context


def test_a_rolled_back_transaction_sends_nothing(queue: Queue, site_rule: EventRule) -> None:
    with pytest.raises(Dropped), transaction.atomic():
        create("Ghost")
        raise Dropped
    assert queue.count == 0
    assert not Site.objects.exists()
    create("Next")  # nothing of the rolled-back transaction comes along
    assert jobs(queue) == [[("created", "Next")]]


def test_a_rolled_back_savepoint_drops_only_its_events(queue: Queue, site_rule: EventRule) -> None:
    with transaction.atomic():
        create("Kept")
        in_rolled_back_savepoint("Dropped", "Dropped too")
        create("After")
    assert jobs(queue) == [[("created", "Kept"), ("created", "After")]]


def test_nested_savepoints_keep_what_was_released_and_drop_what_was_rolled_back(
    queue: Queue, site_rule: EventRule
) -> None:
    with transaction.atomic():
        create("Outer")
        with transaction.atomic():
            create("Released")
            in_rolled_back_savepoint("Rolled back")
            create("Released too")
        create("Last")
    assert jobs(queue) == [
        [
            ("created", "Outer"),
            ("created", "Released"),
            ("created", "Released too"),
            ("created", "Last"),
        ]
    ]


def test_changes_in_a_released_savepoint_coalesce_with_the_outer_ones(
    queue: Queue, site_rule: EventRule
) -> None:
    with transaction.atomic():
        site = create("Draft")
        with transaction.atomic():
            site.name = "Final"
            site.save()
            site.tags.add(Tag.objects.create(name="T", slug="t"))
    [[delivery]] = queued_deliveries(queue)
    assert delivery["context"]["event"] == "created"
    assert delivery["context"]["data"]["name"] == "Final"
    assert [t["name"] for t in delivery["context"]["data"]["tags"]] == ["T"]


def test_in_a_scope_a_rolled_back_last_savepoint_drops_only_its_events(
    queue: Queue, site_rule: EventRule
) -> None:
    with capture_events(username="importer"):
        with transaction.atomic():
            create("Kept")
            in_rolled_back_savepoint("Dropped")
        assert queue.count == 0  # the scope is still open
    assert jobs(queue) == [[("created", "Kept")]]


def test_outside_a_scope_a_rolled_back_last_savepoint_holds_the_others_until_the_next_change(
    queue: Queue, site_rule: EventRule
) -> None:
    """The corner ``on_commit`` leaves: no callback of the transaction is known to be its last
    (see the docstring of ``webhooks_app.capture.context``). Nothing is lost or sent twice."""
    with transaction.atomic():
        create("Kept")
        in_rolled_back_savepoint("Dropped")
    assert queue.count == 0
    create("Next")
    assert jobs(queue) == [[("created", "Kept"), ("created", "Next")]]


def test_held_events_leave_when_a_scope_opens_not_with_the_scope(
    queue: Queue, site_rule: EventRule
) -> None:
    with transaction.atomic():
        create("Kept")
        in_rolled_back_savepoint("Dropped")
    with capture_events(username="importer"):
        assert jobs(queue) == [[("created", "Kept")]]
        create("Scoped")
    assert jobs(queue) == [[("created", "Kept")], [("created", "Scoped")]]


def test_a_scope_sends_the_events_of_all_its_transactions_together_at_its_end(
    queue: Queue, site_rule: EventRule
) -> None:
    with capture_events(username="importer", request_id="0c6f7d7e-0000-4000-8000-000000000001"):
        site = create("Imported")
        with transaction.atomic():
            site.tags.add(Tag.objects.create(name="T", slug="t"))
        with transaction.atomic():
            create("Second")
        assert queue.count == 0
    assert jobs(queue) == [[("created", "Imported"), ("created", "Second")]]
    contexts = [d["context"] for d in queued_deliveries(queue)[0]]
    assert {c["username"] for c in contexts} == {"importer"}
    assert {c["request_id"] for c in contexts} == {"0c6f7d7e-0000-4000-8000-000000000001"}
    assert [t["name"] for t in contexts[0]["data"]["tags"]] == ["T"]


def test_a_scope_that_raises_still_sends_what_was_committed(
    queue: Queue, site_rule: EventRule
) -> None:
    with pytest.raises(Dropped), capture_events():
        create("Committed")
        with transaction.atomic():
            create("Rolled back")
            raise Dropped
    assert jobs(queue) == [[("created", "Committed")]]


def test_a_transaction_still_open_when_its_scope_ends_sends_at_its_commit(
    queue: Queue, site_rule: EventRule
) -> None:
    with transaction.atomic():
        with capture_events(username="importer"):
            create("Late")
        assert queue.count == 0
    [[delivery]] = queued_deliveries(queue)
    assert delivery["context"]["username"] == "importer"  # who acted is known when recorded


def test_with_autocommit_turned_off_by_hand_a_change_leaves_when_recorded(
    queue: Queue, site_rule: EventRule
) -> None:
    """Django runs no commit hooks then: there is nothing to wait for."""
    transaction.set_autocommit(False)
    try:
        create("Manual")
        assert jobs(queue) == [[("created", "Manual")]]
        transaction.commit()
    finally:
        transaction.set_autocommit(True)


@pytest.mark.django_db(transaction=False)
def test_in_a_django_test_case_events_leave_when_the_on_commit_callbacks_run(
    queue: Queue, site_rule: EventRule, django_capture_on_commit_callbacks: Any
) -> None:
    """Django's ``TestCase`` never commits; its ``captureOnCommitCallbacks`` runs them."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        create("One")
        create("Two")
        assert queue.count == 0
    assert len(callbacks) == 2  # one per event
    assert jobs(queue) == [[("created", "One"), ("created", "Two")]]


def test_a_relation_changed_in_a_rolled_back_savepoint_keeps_its_stored_prechange(
    queue: Queue, site_rule: EventRule
) -> None:
    old, new, other = (Tag.objects.create(name=n, slug=n.lower()) for n in ("Old", "New", "Other"))
    site = create("Tagged")
    site.tags.set([old])
    queue.empty()
    with transaction.atomic():
        try:
            with transaction.atomic():
                site.tags.set([new])
                raise Dropped
        except Dropped:
            pass
        site.tags.set([other])
    [[delivery]] = queued_deliveries(queue)
    assert delivery["context"]["snapshots"]["prechange"]["tags"] == ["Old"]
    assert delivery["context"]["snapshots"]["postchange"]["tags"] == ["Other"]


def test_a_rolled_back_transaction_leaves_nothing_behind_for_the_next_one(
    queue: Queue, site_rule: EventRule
) -> None:
    old, new, other = (Tag.objects.create(name=n, slug=n.lower()) for n in ("Old", "New", "Other"))
    site = create("Tagged")
    site.tags.set([old])
    queue.empty()
    with pytest.raises(Dropped), transaction.atomic():
        site.tags.set([new])
        raise Dropped
    with transaction.atomic():
        Site.objects.get(pk=site.pk).tags.set([other])
    [[delivery]] = queued_deliveries(queue)
    assert delivery["context"]["snapshots"]["prechange"]["tags"] == ["Old"]
    assert delivery["context"]["snapshots"]["postchange"]["tags"] == ["Other"]
