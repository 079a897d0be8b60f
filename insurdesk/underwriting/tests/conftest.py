from insurdesk.underwriting.tests.fixtures import _fast_passwords, nb, submitted  # noqa: F401
