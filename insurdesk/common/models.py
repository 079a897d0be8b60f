from insurdesk.common import lookups  # noqa: F401  (registers `__any_of` on every field)
