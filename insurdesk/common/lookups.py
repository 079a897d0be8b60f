"""`field__any_of=values`: the IN of a batch's look-ups, with one parameter on PostgreSQL.

A batch of the import looks its thousand rows' archives, policies and payments up by key. Django
writes `IN (%s, %s, …)` with a placeholder a value; Django's psycopg cursors bind on the client, and
psycopg parses such a statement anew each time (too long for its cache of parsed statements). With
Django compiling the placeholders, that was about 8 % of the PostgreSQL import's interpreter time
(py-spy, 100,000 rows). `= ANY(%s)` with the values as one array keeps the statement short and its
parse cached; a thousand primary keys were looked up in 1.9 ms of CPU instead of 7.4.

Everything else is Django's IN: values prepared by the field, None dropped, an empty list matching
nothing (EmptyResultSet), a subquery or expression as the right-hand side written as IN, and every
other database (SQLite) given IN itself. Registered on every field (insurdesk/common/models.py).
"""

from __future__ import annotations

from django.db.models import Field, ForeignObject
from django.db.models.lookups import In


class AnyOf(In):
    lookup_name = "any_of"

    def as_postgresql(self, compiler, connection):
        if not self.rhs_is_direct_value() or any(hasattr(v, "resolve_expression") for v in self.rhs):
            return self.as_sql(compiler, connection)
        values = [v for v in self.rhs if v is not None]
        if not values:
            return self.as_sql(compiler, connection)  # Django's IN: nothing matches an empty list
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        values = [field.get_db_prep_value(v, connection, prepared=True) for v in values]
        return f"{lhs} = ANY(%s)", (*lhs_params, values)


Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)  # `policy_id__any_of`: related fields keep lookups of their own
