"""One sample of each secret shape the scrubber must catch (issue 16 item 4): (name, text, what must not leave)."""

from __future__ import annotations

GCS_KEY = ('{"type": "service_account", "project_id": "p", "private_key_id": "0a1b2c", "private_key": '
           '"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiGSERVICEACCOUNT\\n-----END PRIVATE KEY-----\\n", '
           '"client_email": "fleet@p.iam.gserviceaccount.com"}')

SAMPLES: list[tuple[str, str, list[str]]] = [
    ("psycopg conninfo", "connection failed: host=db port=5432 user=halton_fleet password=hunter2conninfo "
     "dbname=halton", ["hunter2conninfo"]),
    ("quoted password", "password='s3cr3t with space' host=db", ["s3cr3t with space"]),
    ("postgresql URL", "cannot reach postgresql://fleet:pgPASS/WORD@db:5432/halton", ["pgPASS/WORD"]),
    ("redis URL", "broker redis://:redisPASSWORD@broker:6379/0 refused", ["redisPASSWORD"]),
    ("Slack webhook", "post to https://hooks.slack.com/services/T0ABCDEF/B0GHIJKL/SLACKSECRETPATH123 failed",
     ["SLACKSECRETPATH123", "B0GHIJKL"]),
    ("Slack token", "auth xoxb-123456789012-SLACKBOTTOKEN1 invalid", ["SLACKBOTTOKEN"]),
    ("AWS access key id", "S3 refused AKIAIOSFODNN7EXAMPLE", ["AKIAIOSFODNN7EXAMPLE"]),
    ("AWS secret", "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY region=us-east-1",
     ["wJalrXUtnFEMI"]),
    ("AWS secret, JSON", '{"AccessKeyId": "x", "SecretAccessKey": "abcSECRETdef/ghi+jkl"}', ["abcSECRETdef"]),
    ("GCS service account", GCS_KEY, ["MIIEvQIBADANBgkqhkiGSERVICEACCOUNT"]),
    ("OpenAI key", "401 for sk-proj-OPENAISECRET0123456789abcd", ["OPENAISECRET0123456789"]),
    ("Anthropic admin key", "401 for sk-ant-admin01-ANTHROPICSECRET0123456789", ["ANTHROPICSECRET"]),
    ("xAI key", "401 for xai-XAISECRETKEY0123456789abcdefgh", ["XAISECRETKEY0123456789abcd"]),
    ("Google API key", "key=AIzaSyGOOGLESECRETKEY0123456789abcdefg", ["GOOGLESECRETKEY"]),
    ("bearer token", "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.JWTSECRETPART", ["JWTSECRETPART"]),
    ("webhook signing secret", "signing_secret=whsec_SIGNINGSECRET42", ["SIGNINGSECRET42"]),
]
