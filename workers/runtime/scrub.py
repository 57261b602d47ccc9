"""What must never leave the fleet in free text (Sentry events, breadcrumbs): the secrets' shapes.

Each pattern is a bounded or possessive run, so a hostile string (a provider's answer quoted in an
error) is scrubbed in linear time. Keys are cut to their last four characters, the hint the fleet shows
everywhere; everything else is replaced whole. Over-scrubbing (a `cache_key=…` that was harmless) is the
accepted cost.
"""

from __future__ import annotations

import re

# a URL's user info: postgresql://user:PASSWORD@host, redis://:PASSWORD@host (the user name stays)
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]{0,20}://[^:/@\s]{0,256}):[^@\s]{0,512}@")
# Slack incoming webhooks: the path is the credential
_SLACK_WEBHOOK = re.compile(r"(?P<head>hooks\.slack\.com/(?:services|workflows|triggers)/)[^\s\"'<>]++")
# a PEM private key (a GCS service account's "private_key"), raw or JSON-escaped, to its END line or the text's end
_PEM_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z ]{0,20}PRIVATE KEY-----(?:[A-Za-z0-9+/=\s\\]++(?:-----END [A-Z ]{0,20}PRIVATE KEY-----)?)?")
# name=value and "name": "value" whose name says secret: psycopg's conninfo (password=…, sslpassword=…),
# aws_secret_access_key=…, "private_key": "…", client_secret, api_key, *_key, *_secret, token
_NAMED_SECRET = re.compile(
    r"(?i)(?P<head>\b[\w.-]{0,40}?(?:password|passwd|pwd|secret|token|(?:access|api|private|admin|signing|"
    r"encryption)[_-]?key|_key|conninfo|dsn)[\"']?\s{0,8}[:=]\s{0,8})"
    r"(?P<value>\"(?:[^\"\\]|\\.)*+\"|'(?:[^'\\]|\\.)*+'|[^\s,;&}\]\"']++)")
_BEARER = re.compile(r"(?i)\b(?P<head>bearer\s{1,8})[A-Za-z0-9._~+/=-]++")
# AWS access key ids (long-term AKIA, temporary ASIA)
_AWS_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
# provider keys, with or without sk-: OpenAI/Anthropic sk-…, xAI xai-…, Groq gsk_…, Google AIza…, Slack xox?-…
_PROVIDER_KEY = re.compile(
    r"\b(?:sk-|xai-|gsk_|AIza|xox[abposre]-|ghp_|github_pat_)[A-Za-z0-9_-]{12,}+")


def _last_four(match: re.Match[str]) -> str:
    return f"[key …{match.group(0)[-4:]}]"


def _named(match: re.Match[str]) -> str:
    value = match.group("value")
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{match.group('head')}{quote}***{quote}"


def scrub_text(text: str) -> str:
    """`text` without passwords, keys, tokens, webhook paths or private keys."""
    text = _PEM_PRIVATE_KEY.sub("[private key]", text)
    text = _URL_PASSWORD.sub(r"\g<head>:***@", text)
    text = _SLACK_WEBHOOK.sub(r"\g<head>***", text)
    text = _NAMED_SECRET.sub(_named, text)
    text = _BEARER.sub(r"\g<head>***", text)
    text = _AWS_ACCESS_KEY_ID.sub("[aws access key id]", text)
    return _PROVIDER_KEY.sub(_last_four, text)


# keys of a dict (an event's extra, contexts, a request's headers, frame variables if any) whose value is
# dropped whole, whatever it looks like
_SECRET_NAME = re.compile(
    r"(?i)^(?:conninfo|dsn|password|passwd|pwd|secret|token|authorization|cookie|x-api-key|api[_-]?key|"
    r".{0,60}[_-](?:secret|key|password|token|dsn|url|conninfo))$")


def secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.match(name))
