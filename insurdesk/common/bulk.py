"""Insert many new rows of one model with less per-value work than QuerySet.bulk_create."""

import sqlite3

from django.conf import settings
from django.db import connections, router, transaction
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import BinaryField
from django.db.models.fields import AutoFieldMixin
from django.utils import timezone
from simple_history.utils import get_change_reason_from_object, get_history_manager_for_model


def insert_many(objs: list, *, batch_size: int | None = None) -> list:
    """Insert unsaved instances of one model and set their primary keys, as bulk_create does.

    bulk_create sends every value through the SQL compiler (an expression check, a placeholder and a
    parameter list per value), which on the import's tens of thousands of plain rows costs more than
    the database does. Here each value goes through the same field methods bulk_create calls
    (pre_save with add=True, get_db_prep_save), the related-object check is the same, and rows go in
    as multi-row INSERT … RETURNING pk in chunks within the backend's parameter limit. Anything
    outside that plain case (a preset or non-auto primary key, model inheritance, a field the database
    fills or with its own placeholder, an expression as a value, a backend that returns no rows) is
    left to bulk_create. No signals, as with bulk_create.
    """
    if not objs:
        return objs
    model = type(objs[0])
    meta = model._meta
    using = router.db_for_write(model, instance=objs[0])
    connection = connections[using]
    pk = meta.pk
    fields = [f for f in meta.concrete_fields if f is not pk and not f.generated]
    if (
        meta.parents
        or not isinstance(pk, AutoFieldMixin)
        or not connection.features.can_return_rows_from_bulk_insert
        or any(f.db_returning or _own_placeholder(f, connection) for f in fields)
        or any(type(obj) is not model or obj.pk is not None for obj in objs)
    ):
        return model._default_manager.bulk_create(objs, batch_size=batch_size)
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="bulk_create")
    rows = []
    for obj in objs:
        row = []
        for f in fields:
            value = f.pre_save(obj, True)
            if hasattr(value, "resolve_expression"):
                return model._default_manager.bulk_create(objs, batch_size=batch_size)
            row.append(f.get_db_prep_save(value, connection))
        rows.append(row)
    qn = connection.ops.quote_name
    head = f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
    tail = " " + connection.ops.return_insert_columns([pk])[0]
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    array_types = _array_types(fields, connection)
    size = len(rows) if array_types else max(1, _rows_per_statement(connection, fields, objs))
    if batch_size:
        size = min(size, batch_size)
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            if array_types:
                unnest = ", ".join(f"(%s)::{t}[]" for t in array_types)
                cursor.execute(
                    f"{head}SELECT * FROM UNNEST({unnest}){tail}", [list(c) for c in zip(*chunk, strict=True)]
                )
            else:
                values = ", ".join([one] * len(chunk))
                cursor.execute(f"{head}VALUES {values}{tail}", [v for row in chunk for v in row])
            returned = cursor.fetchall()
            if len(returned) != len(chunk):
                raise RuntimeError(f"{meta.label}: {len(chunk)} rows inserted, {len(returned)} keys returned")
            for obj, (key,) in zip(objs[start : start + size], returned, strict=True):
                obj.pk = key
                obj._state.adding = False
                obj._state.db = using
    return objs


def _array_types(fields, connection) -> list[str] | None:
    """Return the column types for one array per column (PostgreSQL's UNNEST), or None for VALUES rows.

    psycopg parses a statement's placeholders on every call and caches only short statements, so a
    VALUES list of a thousand rows × thirty columns spends longer in that parse than in the database.
    One array parameter per column keeps the statement short; Django's own bulk_create does the same
    on PostgreSQL (with the same conditions), except for binary columns, which this accepts because
    their placeholder is a plain %s there.
    """
    if connection.vendor != "postgresql":
        return None
    types = []
    for f in fields:
        target = f.target_field if f.is_relation else f
        db_type = f.db_type(connection)
        if target.get_internal_type() not in connection.data_types or not db_type:
            return None
        types.append(db_type.split("(")[0])  # varchar, not varchar(50): no truncation in the array
    return types


def _rows_per_statement(connection, fields, objs) -> int:
    """Return how many rows one INSERT may carry.

    Django assumes SQLite's old compile-time default of 999 parameters (about 30 rows of a wide
    table, so a thousand statements for the import's batch); the library this process runs with
    reports its real limit (32,766 since SQLite 3.32).
    """
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        return min(len(objs), limit // len(fields))
    # PostgreSQL's protocol carries at most 65,535 parameters per statement (with server-side binding).
    limit = connection.features.max_query_params or 65_535
    return min(connection.ops.bulk_batch_size(fields, objs), limit // len(fields))


def _own_placeholder(field, connection) -> bool:
    """Tell whether a field needs a placeholder other than %s (BinaryField's is %s except on MySQL)."""
    if not hasattr(field, "get_placeholder"):
        return False
    plain_binary = type(field).get_placeholder is BinaryField.get_placeholder
    plain_ops = type(connection.ops).binary_placeholder_sql is BaseDatabaseOperations.binary_placeholder_sql
    return not (plain_binary and plain_ops)


def insert_many_with_history(objs: list, *, user=None) -> list:
    """Insert new instances and their "+" history rows, as simple_history's bulk_create_with_history.

    The history rows are built as HistoryManager.bulk_history_create builds them (the instance's own
    _history_user and change reason win over the defaults; each row stamped with its own now()), then
    inserted by insert_many.
    """
    if not objs or not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return insert_many(objs)
    with transaction.atomic(using=router.db_for_write(type(objs[0])), savepoint=False):
        insert_many(objs)
        history = get_history_manager_for_model(type(objs[0])).model
        tracked = [f.attname for f in history.tracked_fields]
        relation = hasattr(history, "history_relation")
        rows = []
        for obj in objs:
            row = history(
                history_date=getattr(obj, "_history_date", timezone.now()),
                history_user=getattr(obj, "_history_user", user or history.get_default_history_user(obj)),
                history_change_reason=get_change_reason_from_object(obj) or None,
                history_type="+",
                **{name: getattr(obj, name) for name in tracked},
            )
            if relation:
                row.history_relation_id = obj.pk
            rows.append(row)
        insert_many(rows)
    return objs
