"""What a broker URL must carry outside development (HALTON_ENV=production).

Anyone who can reach an open Redis can enqueue any task by name and read every result, so in production
the broker must ask for a password; over TLS (rediss://) the server's certificate must be checked, or a
man in the middle holds that password. Messages never repeat the URL: it may carry the password.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

# the spellings of "check the certificate" that Celery and kombu accept for ssl_cert_reqs
CERT_REQUIRED = frozenset({"required", "CERT_REQUIRED"})


def production_broker_problem(url: str) -> str | None:
    """One line naming what is missing from REDIS_URL for production, or None when nothing is."""
    parts = urlsplit(url)
    try:
        password = parts.password
    except ValueError:  # an unparsable port; the connection reports it better than we could
        password = None
    if not password:
        return ("REDIS_URL carries no password: outside development (HALTON_ENV=production) the broker must "
                "require one; set requirepass (or an ACL user) on Redis and use redis://:PASSWORD@HOST:6379/0")
    if parts.scheme == "rediss":
        given = parse_qs(parts.query).get("ssl_cert_reqs", [])
        if not given or not set(given) <= CERT_REQUIRED:
            shown = ", ".join(given) or "nothing"
            return (f"REDIS_URL has ssl_cert_reqs={shown}: outside development (HALTON_ENV=production) TLS "
                    "must check the broker's certificate; use ?ssl_cert_reqs=required (with ssl_ca_certs=PATH "
                    "for a private CA)")
    return None
