"""NetBox-style bulk operations on a list endpoint.

- ``POST`` a list of objects: create them (201, the list in request order);
- ``PUT`` / ``PATCH`` a list of objects that each carry ``id``: update them;
- ``DELETE`` a list of ``{"id": n}``: delete them (204).

Each operation is all or nothing: it runs in one ``transaction.atomic()`` block, and when an
item fails nothing is applied. The answer names the failed items by their ``index`` in the
request (and ``id`` for updates and deletes)::

    400 {"detail": "...", "errors": [{"index": 1, "name": ["This field is required."]}]}
    409 {"detail": "...", "errors": [{"index": 0, "id": 4, "detail": "Cannot delete: ..."}]}

Objects are saved (``Model.save()`` through the serializer) and deleted (``Model.delete()``) one
by one, never with ``QuerySet.update``, so model signals fire for each of them. The objects of
an update or delete are fetched with one ``in_bulk`` query, and the saved ones read back with
one more (Django splits ``in_bulk`` into batches of 999 ids on SQLite).

Generic: any project can build its API on ``BulkModelViewSet`` and ``BulkRouter``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Model
from django.http import Http404
from rest_framework import routers, serializers, status, viewsets
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.metadata import SimpleMetadata
from rest_framework.request import Request, clone_request
from rest_framework.response import Response

from webhooks_app.api.conflicts import CONFLICT_ERRORS, describe_conflict
from webhooks_app.models.validators import MAX_ID

__all__ = [
    "BULK_ACTIONS",
    "BulkFailed",
    "BulkMetadata",
    "BulkModelViewSet",
    "BulkRouter",
    "ItemError",
    "invalid_items",
]

M = TypeVar("M", bound=Model)

NOT_A_LIST = "Expected a non-empty list of objects."

# Methods of the list URL (besides GET list and POST create) and the actions they call.
BULK_ACTIONS = {"put": "bulk_update", "patch": "bulk_partial_update", "delete": "bulk_destroy"}


@dataclass(frozen=True)
class ItemError:
    """Why one item of a bulk request failed."""

    index: int
    id: int | None
    errors: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"index": self.index}
        if self.id is not None:
            entry["id"] = self.id
        entry.update(self.errors)
        return entry


class BulkFailed(Exception):
    """Aborts (and so rolls back) a bulk operation; carries the answer for the client."""

    def __init__(self, status_code: int, detail: str, errors: Sequence[ItemError]) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.errors = list(errors)

    def response(self) -> Response:
        body = {"detail": self.detail, "errors": [error.as_dict() for error in self.errors]}
        return Response(body, status=self.status_code)


def _indexes(errors: Sequence[ItemError]) -> str:
    return ", ".join(str(error.index) for error in errors)


def invalid_items(errors: Sequence[ItemError]) -> BulkFailed:
    return BulkFailed(
        status.HTTP_400_BAD_REQUEST,
        f"Invalid item(s) at index {_indexes(errors)}; no changes were made.",
        errors,
    )


@contextmanager
def _item_guard(index: int, object_id: int | None) -> Iterator[None]:
    """Turn a failure while writing one item into a ``BulkFailed`` naming that item."""
    try:
        yield
    except CONFLICT_ERRORS as exc:
        error = ItemError(index, object_id, {"detail": describe_conflict(exc)})
        raise BulkFailed(
            status.HTTP_409_CONFLICT,
            f"Item at index {index} conflicts with stored data; no changes were made.",
            [error],
        ) from exc
    except (DjangoValidationError, ValidationError) as exc:
        raise invalid_items(
            [ItemError(index, object_id, serializers.as_serializer_error(exc))]
        ) from exc


def _check_objects(data: Any) -> list[Mapping[str, Any]]:
    """The request body as a list of objects, or ``BulkFailed`` (400)."""
    if not isinstance(data, list) or not data:
        raise BulkFailed(status.HTTP_400_BAD_REQUEST, NOT_A_LIST, [])
    errors = [
        ItemError(index, None, {"detail": "Expected an object."})
        for index, item in enumerate(data)
        if not isinstance(item, Mapping)
    ]
    if errors:
        raise invalid_items(errors)
    return data


def _check_ids(items: Sequence[Mapping[str, Any]]) -> list[int]:
    """The ``id`` of each item, or ``BulkFailed`` (400) if one is missing, invalid or repeated."""
    errors: list[ItemError] = []
    ids: list[int] = []
    first_index: dict[int, int] = {}
    for index, item in enumerate(items):
        object_id = item.get("id")
        if (
            isinstance(object_id, bool)
            or not isinstance(object_id, int)
            or not 0 < object_id <= MAX_ID
        ):
            errors.append(ItemError(index, None, {"detail": 'Each object needs an integer "id".'}))
            continue
        if object_id in first_index:
            detail = f"Duplicate id; already given at index {first_index[object_id]}."
            errors.append(ItemError(index, object_id, {"detail": detail}))
            continue
        first_index[object_id] = index
        ids.append(object_id)
    if errors:
        raise invalid_items(errors)
    return ids


class BulkMetadata(SimpleMetadata):
    """OPTIONS metadata that knows PUT on a list URL is a bulk update.

    DRF describes PUT by fetching the one object being replaced, which a list URL does not name
    (an ``AssertionError``, so a 500). On a list URL only the POST form is described.
    """

    def determine_actions(self, request: Request, view: Any) -> dict[str, Any]:
        if (view.lookup_url_kwarg or view.lookup_field) in view.kwargs:
            return super().determine_actions(request, view)
        if "POST" not in view.allowed_methods:
            return {}
        view.request = clone_request(request, "POST")
        try:
            view.check_permissions(view.request)
        except (APIException, PermissionDenied, Http404):
            return {}
        finally:
            view.request = request
        return {"POST": self.get_serializer_info(view.get_serializer())}


class BulkModelViewSet(viewsets.ModelViewSet[M]):
    """A model viewset whose list endpoint also creates, updates and deletes in bulk.

    Route ``put``, ``patch`` and ``delete`` of the list URL to ``bulk_update``,
    ``bulk_partial_update`` and ``bulk_destroy`` (see ``BulkRouter``).
    """

    metadata_class = BulkMetadata  # type: ignore[assignment, unused-ignore]  # some stubs: an instance

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Create one object, or several by posting a list (all or nothing, in request order)."""
        data: Any = request.data  # typed as a dict, but a JSON body can be anything
        if isinstance(data, list):
            return self.bulk_create(request)
        if not isinstance(data, Mapping):
            detail = "Expected an object or a list of objects."
            return Response({"detail": detail}, status=status.HTTP_400_BAD_REQUEST)
        return super().create(request, *args, **kwargs)

    def bulk_create(self, request: Request) -> Response:
        try:
            items = _check_objects(request.data)
            data = _save_all(self, items, [None] * len(items), partial=False)
        except BulkFailed as failure:
            return failure.response()
        return Response(data, status=status.HTTP_201_CREATED)

    def bulk_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Replace several objects, each identified by its "id" (all or nothing)."""
        return _bulk_update(self, request, partial=False)

    def bulk_partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Change some fields of several objects, each identified by its "id" (all or nothing)."""
        return _bulk_update(self, request, partial=True)

    def bulk_destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Delete several objects given as [{"id": n}, ...] (all or nothing)."""
        try:
            items = _check_objects(request.data)
            instances = _fetch(self, _check_ids(items))
            with transaction.atomic():
                for index, instance in enumerate(instances):
                    with _item_guard(index, instance.pk):
                        self.perform_destroy(instance)
        except BulkFailed as failure:
            return failure.response()
        return Response(status=status.HTTP_204_NO_CONTENT)

    def perform_bulk_save(
        self,
        serializer: serializers.BaseSerializer[M],
        instance: M | None,
        validated_data: Any,
    ) -> M:
        """Save one validated item of a bulk create (``instance`` None) or update.

        Bulk saves call this instead of ``perform_create`` / ``perform_update``: override it to
        change how every item is saved (``serializer`` is shared by the items).
        """
        if instance is None:
            return serializer.create(validated_data)
        return serializer.update(instance, validated_data)


def _bulk_update(view: BulkModelViewSet[M], request: Request, *, partial: bool) -> Response:
    try:
        items = _check_objects(request.data)
        instances: list[M | None] = list(_fetch(view, _check_ids(items)))
        data = _save_all(view, items, instances, partial=partial)
    except BulkFailed as failure:
        return failure.response()
    return Response(data)


def _fetch(view: BulkModelViewSet[M], ids: list[int]) -> list[M]:
    """The objects with these ids, in the same order, fetched in one query."""
    found = view.get_queryset().in_bulk(ids)
    missing = [(index, pk) for index, pk in enumerate(ids) if pk not in found]
    if missing:
        errors = [ItemError(index, pk, {"detail": "Not found."}) for index, pk in missing]
        unknown = ", ".join(str(pk) for _, pk in missing)
        raise BulkFailed(
            status.HTTP_400_BAD_REQUEST,
            f"Unknown id(s): {unknown}; no changes were made.",
            errors,
        )
    return [found[pk] for pk in ids]


def _save_all(
    view: BulkModelViewSet[M],
    items: Sequence[Mapping[str, Any]],
    instances: Sequence[M | None],
    *,
    partial: bool,
) -> list[Any]:
    """Validate and save each item in one transaction; the saved objects' representations.

    Items are validated and saved in order, so a later item is checked against the earlier
    ones (two new sites with one slug fail as a validation error). After the first invalid
    item the rest are only validated, to report all invalid items at once.

    One serializer validates every item (building a serializer's fields costs more than
    validating an item), as DRF's ``ListSerializer.run_child_validation`` suggests: its
    ``instance`` is set to the item's object so unique checks exclude that object.
    """
    errors: list[ItemError] = []
    saved: list[int] = []
    serializer = view.get_serializer(partial=partial)
    with transaction.atomic():
        for index, (item, instance) in enumerate(zip(items, instances, strict=True)):
            object_id = None if instance is None else instance.pk
            fields = {key: value for key, value in item.items() if key != "id"}
            serializer.instance = instance
            serializer.initial_data = fields
            try:
                validated_data = serializer.run_validation(fields)
            except ValidationError as exc:
                errors.append(ItemError(index, object_id, serializers.as_serializer_error(exc)))
                continue
            if errors:
                continue
            with _item_guard(index, object_id):
                saved.append(view.perform_bulk_save(serializer, instance, validated_data).pk)
        if errors:
            raise invalid_items(errors)
    # Read back in one query (with the queryset's related objects), in request order.
    return [serializer.to_representation(obj) for obj in _fetch(view, saved)]


def _with_bulk_actions(
    route: routers.Route | routers.DynamicRoute,
) -> routers.Route | routers.DynamicRoute:
    if isinstance(route, routers.Route) and route.name == "{basename}-list":
        return route._replace(mapping={**route.mapping, **BULK_ACTIONS})
    return route


class BulkRouter(routers.DefaultRouter):
    """A DefaultRouter that also routes PUT, PATCH and DELETE of list URLs to bulk actions.

    A method is routed only when the viewset has the action, as for the standard ones.
    """

    routes = [_with_bulk_actions(route) for route in routers.DefaultRouter.routes]
