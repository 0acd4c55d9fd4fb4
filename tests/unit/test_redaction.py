"""What a check says never holds a fragment of the secrets it read."""

from __future__ import annotations

import pytest

from golive.redaction import Redactor, describe_target


@pytest.mark.parametrize(
    ("secret", "message", "expected"),
    [
        (  # libpq quotes the token it could not decode
            "postgresql://u:hunter2%zzPCT@127.0.0.1:5432/db",
            'invalid percent-encoded token: "hunter2%zzPCT"',
            'invalid percent-encoded token: "***"',
        ),
        (  # an unencoded "/" cut the URL: redis-py quotes the password's first half as a port
            "redis://:hunter2R1/zz@127.0.0.1:6379/0",
            "Port could not be cast to integer value as 'hunter2R1'",
            "Port could not be cast to integer value as '***'",
        ),
        (  # the whole string: named by its target instead
            "postgresql://u:hunter2@127.0.0.1:5432/db?sslmode=require",
            "missing = after postgresql://u:hunter2@127.0.0.1:5432/db?sslmode=require",
            "missing = after postgresql://127.0.0.1:5432/db",
        ),
        (  # percent-decoded and -encoded forms, and a mangled fragment of the password
            "amqp://app:s3cr%40t-hunter2@127.0.0.1:5672/",
            "refused s3cr@t-hunter2 (s3cr%2540t-hunter2), then 'hunter2x'",
            "refused *** (***), then '***'",
        ),
        (  # libpq key=value, a quoted password with a space
            "host=127.0.0.1 port=5432 dbname=db password='hunter2 x1'",
            "connection is bad: near 'hunter2 x1' and hunter2",
            "connection is bad: near '***' and ***",
        ),
        (  # a token as the userinfo of an https URL
            "https://ghp_hunter2token@127.0.0.1:9443/health",
            "GET https://ghp_hunter2token@127.0.0.1:9443/health: ghp_hunter2token refused",
            "GET https://127.0.0.1:9443/health: *** refused",
        ),
    ],
)
def test_every_form_and_fragment_of_a_secret_is_removed(
    secret: str, message: str, expected: str
) -> None:
    assert Redactor.of([secret])(message) == expected


def test_a_user_name_and_ordinary_words_are_kept() -> None:
    redact = Redactor.of(["postgresql://golive:hunter2@127.0.0.1:5432/db"])
    message = 'password authentication failed for user "golive" at 127.0.0.1:5432'
    assert redact(message) == message


def test_a_short_password_is_removed_only_as_a_whole_word() -> None:
    redact = Redactor.of(["redis://:ab1@127.0.0.1:6379"])
    assert redact("token ab1 refused by tab1e") == "token *** refused by tab1e"


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("postgresql://u:hunter2%zzPCT@127.0.0.1:5432/db", "postgresql://127.0.0.1:5432/db"),
        ("POSTGRESQL://u:p@db/app?password=x", "postgresql://db/app"),
        ("redis://:hunter2R1/zz@127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("host=127.0.0.1 port=5432 dbname=db password=hunter2", "127.0.0.1:5432/db"),
        ("not a url hunter2", ""),
    ],
)
def test_a_target_is_described_without_credentials(text: str, target: str) -> None:
    assert describe_target(text) == target


def test_a_secret_printed_in_another_case_is_still_masked() -> None:
    """A command check that printed its DSN upper-cased showed the password in the scorecard."""
    redact = Redactor.of(["postgresql://app:s3cr3tPassw0rd@127.0.0.1:1/db"])
    shown = redact("sh exited with 3: POSTGRESQL://APP:S3CR3TPASSW0RD@127.0.0.1:1/DB and s3cr3tp")
    assert "S3CR3T" not in shown.upper(), shown
    assert shown.startswith("sh exited with 3: postgresql://127.0.0.1:1/db and ***"), shown
