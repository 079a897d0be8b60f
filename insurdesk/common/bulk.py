"""Insert many new rows of one model with less per-value work than QuerySet.bulk_create."""

import datetime
import sqlite3
from decimal import Decimal

from django.conf import settings
from django.db import connections, models, router, transaction
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import BinaryField
from django.db.models.base import ModelState
from django.db.models.fields import AutoFieldMixin
from django.utils import timezone
from simple_history.utils import get_change_reason_from_object, get_history_manager_for_model

from insurdesk.common.behind import active

_DEFAULTS: dict = {}
_FSM_STATES: dict = {}  # model -> attnames of its state fields, () when django-fsm keeps them elsewhere
_FSM_INITIAL = "_ConcurrentTransitionMixin__initial_states"


def build(model, **values):
    """Return an unsaved instance of `model` with these values (by attname) and defaults for the rest.

    For the bulk paths' thousands of rows: Model.__init__ resolves every keyword against the fields
    and descriptors (about 40 µs a row for the import's models), which costs more than inserting the
    row. This sets the attributes directly, as Model.from_db does for loaded rows; no post_init
    signal is sent (no model here listens to it) and no descriptor runs, so related objects must be
    given by their id (`product_id=…`). An unknown name is an error, as in Model.__init__.
    """
    defaults = _DEFAULTS.get(model)
    if defaults is None:
        fields = model._meta.concrete_fields
        dynamic = [(f.attname, f.default) for f in fields if f.has_default() and callable(f.default)]
        fixed = {f.attname: f.get_default() for f in fields if f.attname not in dict(dynamic)}
        defaults = _DEFAULTS[model] = (fixed, dynamic, frozenset(f.attname for f in fields))
    fixed, dynamic, names = defaults
    if not values.keys() <= names:
        unknown = ", ".join(sorted(values.keys() - names))
        raise TypeError(f"{model.__name__}: unexpected field(s) {unknown}")
    obj = model.__new__(model)
    obj._state = ModelState()
    d = obj.__dict__
    d.update(fixed)
    for attname, default in dynamic:
        if attname not in values:
            d[attname] = default()
    d.update(values)
    if hasattr(obj, "_update_initial_state"):
        # django-fsm's ConcurrentTransitionMixin records the states its __init__ saw; its own method
        # walks every field to find the state fields, so after the first instance they are remembered.
        states = _FSM_STATES.get(model)
        if states is None:
            obj._update_initial_state()
            recorded = obj.__dict__.get(_FSM_INITIAL)
            _FSM_STATES[model] = tuple(recorded) if isinstance(recorded, dict) else ()
        elif states:
            d[_FSM_INITIAL] = {attname: d[attname] for attname in states}
        else:
            obj._update_initial_state()
    return obj


def insert_many(objs: list, *, batch_size: int | None = None) -> list:
    """Insert unsaved instances of one model and set their primary keys, as bulk_create does.

    bulk_create sends every value through the SQL compiler (an expression check, a placeholder and a
    parameter list per value), which on the import's tens of thousands of plain rows costs more than
    the database does. Here each value is prepared as bulk_create would (pre_save with add=True where
    the field has its own, get_db_prep_save or a cheaper equivalent for plain built-in types: see
    `_plan`), the related-object check is the same, and rows go in
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
        # The check looks only at related objects held in the instance's cache: none, nothing to check.
        if obj._state.__dict__.get("fields_cache"):
            obj._prepare_related_fields_for_save(operation_name="bulk_create")
    plan = _plan(model, fields, connection)
    fill = {_NOW: timezone.now(), _TODAY: datetime.date.today()}
    # Column by column: the common case — every value of a column of a type stored as it is — is then
    # one set of types checked in C instead of a test per value.
    dicts = [obj.__dict__ for obj in objs]
    columns = []
    for attname, passing, convert, filler in plan:
        if filler is None:
            try:
                column = [d[attname] for d in dicts]
            except KeyError:  # a deferred or unset attribute: the instance supplies it
                column = [getattr(obj, attname) for obj in objs]
        elif filler is _NOW or filler is _TODAY:  # as the field's pre_save, once for all the rows
            value = fill[filler]
            for d in dicts:
                d[attname] = value
            column = [value] * len(objs)
        else:  # the field fills or transforms the value itself
            column = [filler.pre_save(obj, True) for obj in objs]
        if not set(map(type, column)) <= passing:
            column = [v if type(v) in passing else convert(v) for v in column]
            if any(v is _EXPRESSION for v in column):
                return model._default_manager.bulk_create(objs, batch_size=batch_size)
        columns.append(column)
    rows = list(zip(*columns, strict=True))
    keys = _insert_rows(connection, meta, pk, fields, rows, batch_size)
    for obj, key in zip(objs, keys, strict=True):
        obj.pk = key
        obj._state.adding = False
        obj._state.db = using
    return objs


def insert_values(model, attnames: list[str], rows: list[tuple]) -> list[int]:
    """Insert rows given as tuples of values already in the database's form; return their new keys.

    For a writer that prepares its values itself, cheaper than any instance (the audit chain: its
    entries' text is the text their hash was taken of). The same statements as insert_many; the
    primary key must be an auto field that the database assigns.
    """
    meta = model._meta
    by_attname = {f.attname: f for f in meta.concrete_fields}
    fields = [by_attname[a] for a in attnames]
    connection = connections[router.db_for_write(model)]
    if not rows:
        return []
    return _insert_rows(connection, meta, meta.pk, fields, rows, None)


def _insert_rows(connection, meta, pk, fields, rows: list[tuple], batch_size: int | None) -> list[int]:
    """Insert prepared rows (one value per field) in chunks; return the keys the database gave them."""
    if connection.vendor == "sqlite":
        behind = active(connection)
        if behind is not None:  # SQLite runs the insert in its helper thread (common.behind)
            return behind.insert(meta.db_table, pk.column, [f.column for f in fields], rows)
    qn = connection.ops.quote_name
    if connection.vendor == "postgresql" and not batch_size:
        return _copy_in(connection, meta, pk, fields, rows)
    head = f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "
    tail = " " + connection.ops.return_insert_columns([pk])[0]
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    one_qmark = "(" + ", ".join(["?"] * len(fields)) + ")"
    array_types = _array_types(fields, connection)
    size = len(rows) if array_types else max(1, _rows_per_statement(connection, fields, rows))
    if batch_size:
        size = min(size, batch_size)
    keys: list[int] = []
    with transaction.atomic(using=connection.alias, savepoint=False), connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            if array_types:
                unnest = ", ".join(f"(%s)::{t}[]" for t in array_types)
                cursor.execute(
                    f"{head}SELECT * FROM UNNEST({unnest}){tail}", [list(c) for c in zip(*chunk, strict=True)]
                )
            elif connection.vendor == "sqlite":
                # Written with SQLite's own ? placeholders and executed by the sqlite3 cursor under
                # Django's error translation: Django's wrapper rewrites every %s of a statement with a
                # regular expression, which for a chunk of 32,000 parameters costs about as much as the
                # insert.
                values = ", ".join([one_qmark] * len(chunk))
                with connection.wrap_database_errors:
                    sqlite3.Cursor.execute(
                        cursor.cursor, f"{head}VALUES {values}{tail}", [v for row in chunk for v in row]
                    )
            else:
                values = ", ".join([one] * len(chunk))
                cursor.execute(f"{head}VALUES {values}{tail}", [v for row in chunk for v in row])
            returned = cursor.fetchall()
            if len(returned) != len(chunk):
                raise RuntimeError(f"{meta.label}: {len(chunk)} rows inserted, {len(returned)} keys returned")
            keys.extend(key for (key,) in returned)
    return keys


_EXPRESSION = object()  # a converter's answer for a value that is an expression: bulk_create handles it
_PLANS: dict = {}
# Built-in field classes whose prepared value is the value itself for these exact Python types, on
# every backend (Field.get_db_prep_save → get_prep_value → to_python returns it unchanged). A subclass
# counts as its base only when it inherits all four preparing methods unchanged (`_prepared_like`:
# FSMField is a CharField here); one that overrides any (the encrypted fields) takes the full path.
_AS_IS = {
    models.CharField: (str,), models.TextField: (str,), models.SlugField: (str,),
    models.EmailField: (str,), models.URLField: (str,),
    models.IntegerField: (int,), models.BigIntegerField: (int,), models.SmallIntegerField: (int,),
    models.PositiveIntegerField: (int,), models.PositiveBigIntegerField: (int,),
    models.PositiveSmallIntegerField: (int,), models.AutoField: (int,), models.BigAutoField: (int,),
    models.BooleanField: (bool,), models.DecimalField: (Decimal,), models.BinaryField: (bytes,),
}  # fmt: skip


_NONE = type(None)
_NOW, _TODAY = "now", "today"  # fillers of auto_now / auto_now_add fields: one value per insert_many call


def _plan(model, fields, connection) -> list[tuple]:
    """Return, per field, (attname, types stored as they are, converter, filler).

    A value whose exact type is in the field's tuple is stored unchanged; any other goes through the
    converter, which does what the field's get_db_prep_save does — cheaply for the common plain types
    (the per-value cost bulk_create pays through its compiler; Django has no public hook that skips
    it), through get_db_prep_save itself for anything else. The filler is _NOW or _TODAY for an
    auto_now(_add) date field, the field itself when its own pre_save must run, else None.
    """
    key = (model, connection.alias, connection.vendor, tuple(f.attname for f in fields))
    plan = _PLANS.get(key)
    if plan is None:
        plan = []
        for f in fields:
            passing, convert = _converter(f, connection)
            plan.append((f.attname, frozenset(passing), convert, _filler(f)))
        _PLANS[key] = plan
    return plan


def _filler(f):
    if type(f).pre_save is models.Field.pre_save:
        return None
    if type(f).pre_save is models.DateTimeField.pre_save:
        return _NOW if (f.auto_now or f.auto_now_add) else None
    if type(f).pre_save is models.DateField.pre_save:
        return _TODAY if (f.auto_now or f.auto_now_add) else None
    return f


_PREP_METHODS = ("get_db_prep_save", "get_db_prep_value", "get_prep_value", "to_python")


def _prepared_like(cls):
    """Return the built-in field class whose preparation `cls` inherits unchanged (FSMField: CharField)."""
    for base in cls.__mro__:
        if base in _AS_IS or base in (models.DateField, models.DateTimeField):
            same = all(getattr(cls, m) is getattr(base, m) for m in _PREP_METHODS)
            return base if same else None
    return None


def _converter(f, connection) -> tuple[tuple, object]:
    target = f.target_field if f.is_relation else f
    if f.is_relation and type(f) is not models.ForeignKey and type(f) is not models.OneToOneField:
        target = None
    kind = _prepared_like(type(target)) if target is not None else None
    slow = f.get_db_prep_save

    def full(value):
        if hasattr(value, "resolve_expression"):
            return _EXPRESSION
        return slow(value, connection)

    if kind in _AS_IS:
        if _AS_IS[kind] == (str,):
            # to_python returns any str unchanged; a subclass (a TextChoices member) is stored as its text.
            return (_NONE, str), lambda value: str(value) if isinstance(value, str) else full(value)
        return (_NONE, *_AS_IS[kind]), full
    if kind is models.DateField:
        if connection.vendor == "postgresql":
            return (_NONE, datetime.date), full
        return (_NONE,), lambda value: str(value) if type(value) is datetime.date else full(value)
    if kind is models.DateTimeField:
        if connection.vendor == "postgresql":
            return (
                _NONE,
            ), lambda value: value if type(value) is datetime.datetime and value.tzinfo else full(value)
        # SQLite stores text: a batch's rows mostly share one timestamp, so the last one is kept.
        last = [(None, None)]  # one slot, replaced whole: safe when threads share the plan

        def datetime_text(value):
            seen, out = last[0]
            if value is seen:
                return out
            out = full(value)
            last[0] = (value, out)
            return out

        return (_NONE,), datetime_text
    if getattr(type(f), "bulk_none_as_is", False):
        return (_NONE,), full
    return (), full


def _copy_in(connection, meta, pk, fields, rows) -> list[int]:
    """PostgreSQL: take the keys from the table's sequence, then COPY the rows with them.

    COPY is PostgreSQL's bulk load; it cannot return the keys it assigns, so they are drawn first
    (nextval over the table's own sequence, as a plain INSERT would). psycopg formats COPY rows in C,
    where the UNNEST arrays' text elements are escaped one by one in Python.
    """
    qn = connection.ops.quote_name
    table = qn(meta.db_table)
    columns = ", ".join(qn(c) for c in [pk.column, *(f.column for f in fields)])
    with transaction.atomic(using=connection.alias, savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, pk.column, len(rows)],
        )
        keys = [key for (key,) in cursor.fetchall()]
        # The raw cursor's errors are psycopg's own: translated, as Django's cursor does, so that a
        # broken unique constraint is an IntegrityError to the callers that retry on one.
        statement = f"COPY {table} ({columns}) FROM STDIN"
        with connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
            for key, row in zip(keys, rows, strict=True):
                copy.write_row([key, *row])
    return keys


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

    The history rows carry what HistoryManager.bulk_history_create gives them (the instance's own
    _history_date, _history_user and change reason win over the defaults), built by `build` and
    inserted by insert_many. Rows without their own date share one now(): they are written in one
    transaction.
    """
    if not objs or not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return insert_many(objs)
    with transaction.atomic(using=router.db_for_write(type(objs[0])), savepoint=False):
        insert_many(objs)
        history = get_history_manager_for_model(type(objs[0])).model
        tracked = [f.attname for f in history.tracked_fields]
        user_attname = history._meta.get_field("history_user").attname
        relation = hasattr(history, "history_relation")
        now = timezone.now()
        rows = []
        for obj in objs:
            who = getattr(obj, "_history_user", None) if hasattr(obj, "_history_user") else None
            if not hasattr(obj, "_history_user"):
                who = user or history.get_default_history_user(obj)
            d = obj.__dict__  # getattr runs descriptors (django-fsm's state field makes an object a read)
            values = {name: d[name] if name in d else getattr(obj, name) for name in tracked}
            values.update(
                history_date=getattr(obj, "_history_date", now),
                history_change_reason=get_change_reason_from_object(obj) or None,
                history_type="+",
            )
            values[user_attname] = who.pk if who is not None else None
            if relation:
                values["history_relation_id"] = obj.pk
            rows.append(build(history, **values))
        insert_many(rows)
    return objs
