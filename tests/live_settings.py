"""Settings of the live servers the tests start (tests.live.start_server): the project's own, with the fast
password hasher the test process uses (tests/conftest.py), so a password a test sets is one the server checks
in microseconds instead of PBKDF2's million rounds on every login.  PBKDF2 stays listed: a hash made by the
project's defaults (a fresh installation's demo users) is still checked."""

from shuyuan.settings import *  # noqa: F403

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
