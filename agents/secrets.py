"""What a secret looks like in text, how it is taken out, and where a URL hides one.

Servers and proxies sometimes repeat a request's ``Authorization`` header in their error bodies, and
an error text travels far: into a dialog's failure reason, the store, ``dialogs.jsonl``, every export,
the report, the log and the console. :func:`redact` takes out of a text the keys it is told about
(the exact values a backend holds) and anything shaped like a credential:

- ``Bearer <token>`` and ``Basic <base64>`` (an echoed Authorization header);
- ``sk-...`` keys (OpenAI, Anthropic and the many servers that copy their form);
- ``name: value`` / ``name=value`` pairs whose name is a secret's (``api_key``, ``api-key``,
  ``x-api-key``, ``authorization``, ``token``, ``access_token``, ``secret``, ``password``), quoted
  or not, as in an echoed header dump, a JSON body or a query string;
- the ``user:password@`` part of a URL.

Each is replaced by ``[REDACTED]``, keeping the name so the text still says what was there.
:func:`url_credentials` says whether a server URL carries credentials (a ``user:password@`` part or a
key in its query), without repeating them.

Pure standard library, so the errors module and the config can use it without importing a backend.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit

__all__ = ["REDACTED", "SECRET_NAMES", "is_secret_name", "redact", "url_credentials"]

REDACTED = "[REDACTED]"

# Names a secret goes by (exactly, or as a suffix after "_" or "-": "openai_api_key", "x-api-key").
SECRET_NAMES = ("api_key", "apikey", "key", "token", "access_token", "auth_token", "secret", "password",
                "authorization", "auth", "sig", "signature", "passwd", "pwd", "credential", "credentials")

# A name: value pair with a secret's name (JSON, header dump, query string, Python repr). The value
# may be "Bearer x" / "Basic x" as a whole.
_PAIR = re.compile(
    r"""(?ix)
    (?P<name>\b[\w-]*?(?:api[_-]?key|access[_-]?token|auth[_-]?token|token|secret|password|passwd
        |authorization|credentials?)\b)
    (?P<sep>["']?\s*[:=]\s*["']?)
    (?P<value>(?:(?:bearer|basic|token)\s+)?(?:\[REDACTED\]|[^\s"'&,;}\]\\]+))
    """)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}")
_SK = re.compile(r"\bsk-[A-Za-z0-9_-]{6,}")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@:]*:[^/\s@]*@")
# What a value of a non-secret name looks like ("max_tokens: 64"): not a credential.
_HARMLESS = re.compile(r"^(?:\[REDACTED\]|\d+|true|false|null|none)$", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    """Whether ``name`` (a setting, header or query parameter) names a secret."""
    k = name.lower().replace("-", "_")
    return any(k == s or k.endswith("_" + s) for s in SECRET_NAMES)


def _pair(m: re.Match[str]) -> str:
    value = m.group("value")
    if _HARMLESS.match(value):
        return m.group(0)
    return f"{m.group('name')}{m.group('sep')}{REDACTED}"


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with ``secrets`` (exact values) and anything shaped like a credential replaced by
    ``[REDACTED]`` (see the module docstring)."""
    if not text:
        return text
    for s in secrets:
        # Very short values would blank ordinary words; a real key is never that short.
        if s and len(s) >= 6 and s in text:
            text = text.replace(s, REDACTED)
    text = _USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
    text = _PAIR.sub(_pair, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _SK.sub(REDACTED, text)


def url_credentials(url: str) -> str | None:
    """What credentials ``url`` carries (``"a user:password@ part"``, ``"a query parameter 'api-key'"``),
    or None; never the values themselves."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.username is not None or parts.password is not None:
        return "a user:password@ part"
    names = [k for k, _ in parse_qsl(parts.query, keep_blank_values=True) if is_secret_name(k)]
    if names:
        return f"a query parameter {names[0]!r}"
    return None
