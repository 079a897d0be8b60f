"""A text model field stored encrypted (see insurdesk.common.crypto for the format and keys)."""

from __future__ import annotations

from django import forms
from django.core import checks, validators
from django.core.exceptions import FieldError
from django.db import connection, models
from django.db.models.lookups import Exact, Lookup, Transform

from insurdesk.common.crypto import CryptoError, decrypt, encrypt, key_id_of

__all__ = ["EncryptedTextField"]


class _ExactNone(Exact):
    """`field=None` still means IS NULL; any other equality would compare random ciphertexts."""

    def get_prep_lookup(self):
        if self.rhs is not None:
            raise FieldError(_refusal(self.lhs.output_field, "exact"))
        return super().get_prep_lookup()


def _refusal(field: models.Field, lookup_name: str) -> str:
    owner = getattr(field, "model", None)
    where = f"{owner.__name__}.{field.name}" if owner is not None else repr(field.name)
    return (
        f"{where} is encrypted and cannot be searched with '{lookup_name}': every value is stored "
        "under a random nonce. Search a blind index column (insurdesk.common.crypto.blind_index) "
        "instead; only 'isnull' works on the field itself."
    )


def _refusing(base: type, field: models.Field, lookup_name: str) -> type:
    """Return a lookup or transform class that raises when a query builds it.

    Returning a class (rather than raising at once) keeps Django's system checks and the admin,
    which only ask whether a lookup exists, working.
    """
    message = _refusal(field, lookup_name)

    def __init__(self, *args, **kwargs):
        raise FieldError(message)

    return type(f"Refused{base.__name__}", (base,), {"lookup_name": lookup_name, "__init__": __init__})


class EncryptedTextField(models.BinaryField):
    """Text stored as an AES-GCM blob bound to its table and column; the Python value is str | None.

    max_length limits the plaintext in characters. Bytes assigned to the field are taken as an
    already encrypted blob and written unchanged, which key rotation and bulk copies rely on.
    """

    description = "Text, stored encrypted"
    empty_values = list(validators.EMPTY_VALUES)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("editable", True)
        super().__init__(*args, **kwargs)

    @property
    def aad(self) -> str:
        """Return the associated data binding a blob to this column: "<db_table>.<column>"."""
        model = getattr(self, "model", None)
        if model is None or model._meta.abstract:
            raise CryptoError(f"EncryptedTextField {self.name!r} is not attached to a concrete model")
        return f"{model._meta.db_table}.{self.column}"

    def check(self, **kwargs):
        return [*super().check(**kwargs), *self._check_not_searchable()]

    def _check_str_default_value(self):
        return []

    def _check_not_searchable(self):
        hint = "Add a separate blind index column (crypto.blind_index) and put the constraint on it."
        errors = []
        if self.primary_key or self._unique:
            errors.append(
                checks.Error(
                    "EncryptedTextField cannot be unique or a primary key: equal values never "
                    "have equal ciphertexts.",
                    hint=hint,
                    obj=self,
                    id="insurdesk_crypto.E001",
                )
            )
        if self.has_db_default():
            errors.append(
                checks.Error(
                    "EncryptedTextField cannot have db_default: the database cannot encrypt.",
                    hint="Use default= instead; it is encrypted per row.",
                    obj=self,
                    id="insurdesk_crypto.E002",
                )
            )
        if self.db_index:
            errors.append(
                checks.Warning(
                    "An index on an EncryptedTextField serves no lookup.",
                    hint=hint,
                    obj=self,
                    id="insurdesk_crypto.W001",
                )
            )
        return errors

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.editable:
            kwargs.pop("editable", None)
        else:
            kwargs["editable"] = False
        return name, path, args, kwargs

    def get_default(self):
        # BinaryField would turn the empty default into b"", which is not a valid blob.
        return models.Field.get_default(self)

    def to_python(self, value):
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bytes | bytearray | memoryview):
            return bytes(value)
        return str(value)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        if isinstance(value, memoryview | bytearray):
            value = bytes(value)
        return decrypt(value, aad=self.aad)

    bulk_none_as_is = True  # common.bulk: an empty value is stored as NULL without preparing it

    def get_prep_value(self, value):
        value = self.to_python(super().get_prep_value(value))
        if value is None:
            return None
        if isinstance(value, bytes):
            key_id_of(value)  # refuses plaintext bytes and anything else that is not a blob
            return value
        return encrypt(value, aad=self.aad)

    def value_to_string(self, obj):
        value = self.value_from_object(obj)
        if isinstance(value, bytes | bytearray | memoryview):
            raise CryptoError(f"{self.name} holds a raw encrypted blob; reload the row to serialise its text")
        return value

    def get_lookup(self, lookup_name):
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        if lookup_name == "exact":
            return _ExactNone
        return _refusing(Lookup, self, lookup_name)

    def get_transform(self, lookup_name):
        return _refusing(Transform, self, lookup_name)

    def formfield(self, **kwargs):
        defaults = {"form_class": forms.CharField, "widget": forms.TextInput, "max_length": self.max_length}
        if self.null and not connection.features.interprets_empty_strings_as_nulls:
            defaults["empty_value"] = None
        defaults.update(kwargs)
        return super().formfield(**defaults)
