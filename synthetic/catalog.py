"""The fake company behind a synthetic workspace: cost centers, projects, devices, model roles.

Nothing here depends on the seed: a workspace's projects and devices are the same on every seed,
which is what lets an append find them again by slug and name.
Slugs and e-mails are prefixed with the workspace slug ('acme' -> 'acme-support-bot').
"""

from __future__ import annotations

from dataclasses import dataclass

COST_CENTERS: tuple[str, ...] = ("Engineering", "Customer Success", "Platform", "Research")


@dataclass(frozen=True)
class ModelRole:
    """A kind of model a project asks for; resolved to a current model of the price table."""

    provider: str
    preferred: tuple[str, ...]  # first one the price table lists wins; else the provider's first model
    tokens_per_second: float  # output speed, for latency
    reasoning_share: float  # share of its requests that spend reasoning tokens


ROLES: dict[str, ModelRole] = {
    "claude-top": ModelRole("anthropic", ("claude-opus-4-6", "claude-opus-4-5", "claude-opus-4-1"), 45, 0.3),
    "claude-mid": ModelRole("anthropic", ("claude-sonnet-4-6", "claude-sonnet-4-5", "claude-sonnet-4"), 70, 0.2),
    "claude-small": ModelRole("anthropic", ("claude-haiku-4-5", "claude-3-5-haiku"), 140, 0.0),
    "gpt-top": ModelRole("openai", ("gpt-5.4", "gpt-5.1", "gpt-5", "gpt-4.1"), 70, 1.0),
    "gpt-small": ModelRole("openai", ("gpt-5.4-mini", "gpt-5-mini", "gpt-4.1-mini", "gpt-4o-mini"), 120, 0.8),
    "gpt-nano": ModelRole("openai", ("gpt-5.4-nano", "gpt-5-nano", "gpt-4.1-nano"), 180, 0.6),
    "gemini-top": ModelRole("gemini", ("gemini-2.5-pro", "gemini-3-pro-preview"), 80, 1.0),
    "gemini-flash": ModelRole("gemini", ("gemini-2.5-flash", "gemini-2.0-flash"), 180, 0.5),
    "gemini-lite": ModelRole("gemini", ("gemini-2.5-flash-lite", "gemini-2.0-flash-lite"), 250, 0.0),
    "grok-top": ModelRole("xai", ("grok-4", "grok-4.7", "grok-3"), 50, 1.0),
    "grok-fast": ModelRole("xai", ("grok-4-1-fast-reasoning", "grok-4-fast-reasoning", "grok-3-mini"), 150, 0.5),
    # a superseded model, for the legacy_model plant (synthetic/catalog_plants.py)
    "claude-legacy": ModelRole("anthropic", ("claude-opus-4-1", "claude-opus-4", "claude-3-opus"), 40, 0.0),
}

# The summariser's model with the plant, and the one it would use without: the price table's
# cheaper sibling of it (falling back to the small Claude role).
OVERPOWERED_ROLE = "claude-mid"
RIGHT_SIZED_ROLE = "right-sized"
RIGHT_SIZED_FALLBACK = "claude-small"


@dataclass(frozen=True)
class DeviceSpec:
    name: str  # without the workspace prefix, e.g. 'alice-mbp'
    owner: str | None  # local part of an e-mail at '<slug>.example'
    laptop: bool  # laptops go offline and sync late; servers do not
    status: str = "ACTIVE"
    paired_days_before: int = 90  # paired this many days before the workspace's first day
    hashing: bool = True  # False: the daemon has prompt hashing off (prompt_hash null)


DEVICES: tuple[DeviceSpec, ...] = (
    DeviceSpec("alice-mbp", "alice", True, paired_days_before=240),
    DeviceSpec("bob-thinkpad", "bob", True, paired_days_before=200),
    DeviceSpec("carol-mbp", "carol", True, paired_days_before=180),
    DeviceSpec("dan-xps", "dan", True, paired_days_before=150),
    DeviceSpec("erin-mbp", "erin", True, paired_days_before=120),
    DeviceSpec("frank-mbp", "frank", True, paired_days_before=95),
    DeviceSpec("grace-framework", "grace", True, paired_days_before=80),
    DeviceSpec("heidi-mbp", "heidi", True, paired_days_before=64),
    DeviceSpec("ivan-thinkpad", "ivan", True, paired_days_before=45, hashing=False),
    DeviceSpec("judy-mbp", "judy", True, paired_days_before=33),
    # an old daemon that never updated its price table: the stale-rate rows come from here
    DeviceSpec("olivia-mbp", "olivia", True, status="DEGRADED", paired_days_before=300),
    DeviceSpec("mallory-mbp", "mallory", True, status="PAUSED", paired_days_before=60),
    DeviceSpec("summariser-worker-1", "platform", False, paired_days_before=210),
    DeviceSpec("summariser-worker-2", "platform", False, paired_days_before=210),
    DeviceSpec("support-api-1", "support-eng", False, paired_days_before=170),
    DeviceSpec("support-api-2", "support-eng", False, paired_days_before=110),
    DeviceSpec("search-api-1", "platform", False, paired_days_before=140),
    DeviceSpec("indexer-cron-1", "platform", False, paired_days_before=100),
    DeviceSpec("ci-runner-1", None, False, paired_days_before=70),
)

DEVICE_INDEX: dict[str, int] = {device.name: i for i, device in enumerate(DEVICES)}

STALE_RATE_DEVICE = "olivia-mbp"
LOOP_DEVICE = "dan-xps"
LAPTOPS: tuple[str, ...] = tuple(d.name for d in DEVICES if d.laptop and d.status != "PAUSED")


@dataclass(frozen=True)
class ProjectSpec:
    key: str  # slug without the workspace prefix
    name: str
    cost_center: str
    hourly_rate_dollars: int | None
    share: float  # of the workspace's daytime traffic; the nightly project has its own volume
    models: tuple[tuple[str, float], ...]  # (role, weight)
    devices: tuple[tuple[str, float], ...]  # (device name, weight)
    input_median: float  # prompt tokens, lognormal
    input_sigma: float
    output_median: float  # visible output tokens, lognormal
    output_sigma: float
    max_tokens: tuple[tuple[int | None, float], ...]  # None: the caller sent no cap
    cache_rate: float  # share of long-enough prompts that carry a cached prefix
    attribution: tuple[tuple[str, float], ...]
    priority_share: float = 0.0  # openai 'priority' tier
    flex_share: float = 0.0  # openai 'flex' tier


_LAPTOP_WEIGHTS = tuple((name, 1.0) for name in LAPTOPS)

PROJECTS: tuple[ProjectSpec, ...] = (
    ProjectSpec(
        key="batch-summariser",
        name="Batch summariser",
        cost_center="Customer Success",
        hourly_rate_dollars=None,
        share=0.18,
        models=((OVERPOWERED_ROLE, 0.92), ("gpt-small", 0.08)),
        devices=(("summariser-worker-1", 1.0), ("summariser-worker-2", 1.0)),
        input_median=5200,
        input_sigma=0.55,
        output_median=170,
        output_sigma=0.45,
        max_tokens=((512, 0.7), (1024, 0.3)),
        cache_rate=0.3,
        attribution=(("header", 0.9), ("default", 0.1)),
    ),
    ProjectSpec(
        key="support-bot",
        name="Support bot",
        cost_center="Customer Success",
        hourly_rate_dollars=95,
        share=0.26,
        models=(("gpt-small", 0.55), ("claude-small", 0.3), ("gemini-flash", 0.15)),
        devices=(("support-api-1", 1.2), ("support-api-2", 1.0)),
        input_median=2400,
        input_sigma=0.6,
        output_median=260,
        output_sigma=0.7,
        max_tokens=((1024, 0.5), (2048, 0.2), (None, 0.3)),
        cache_rate=0.75,
        attribution=(("header", 0.95), ("default", 0.05)),
        priority_share=0.04,
    ),
    ProjectSpec(
        key="code-review",
        name="Code review",
        cost_center="Engineering",
        hourly_rate_dollars=160,
        share=0.2,
        models=(("claude-mid", 0.45), ("claude-top", 0.1), ("gpt-top", 0.3), ("gemini-top", 0.15)),
        devices=(*_LAPTOP_WEIGHTS, ("ci-runner-1", 6.0)),
        input_median=14000,
        input_sigma=0.95,
        output_median=700,
        output_sigma=0.8,
        max_tokens=((4096, 0.3), (8192, 0.4), (16000, 0.2), (None, 0.1)),
        cache_rate=0.6,
        attribution=(("repo", 0.6), ("directory", 0.25), ("header", 0.1), ("default", 0.05)),
    ),
    ProjectSpec(
        key="search",
        name="Search",
        cost_center="Platform",
        hourly_rate_dollars=140,
        share=0.16,
        models=(("gemini-lite", 0.45), ("gemini-flash", 0.3), ("gpt-nano", 0.25)),
        devices=(("search-api-1", 1.0),),
        input_median=1300,
        input_sigma=0.5,
        output_median=110,
        output_sigma=0.6,
        max_tokens=((256, 0.4), (512, 0.4), (None, 0.2)),
        cache_rate=0.4,
        attribution=(("header", 1.0),),
        flex_share=0.05,
    ),
    ProjectSpec(
        key="research-agent",
        name="Research agent",
        cost_center="Research",
        hourly_rate_dollars=180,
        share=0.1,
        models=(("grok-top", 0.4), ("grok-fast", 0.35), ("gpt-top", 0.25)),
        devices=_LAPTOP_WEIGHTS,
        input_median=6000,
        input_sigma=0.9,
        output_median=900,
        output_sigma=0.8,
        max_tokens=((8192, 0.5), (None, 0.5)),
        cache_rate=0.5,
        attribution=(("repo", 0.5), ("directory", 0.3), ("default", 0.2)),
    ),
    ProjectSpec(
        key="dev-sandbox",
        name="Developer sandbox",
        cost_center="Engineering",
        hourly_rate_dollars=None,
        share=0.1,
        models=(
            ("claude-mid", 0.35),
            ("claude-small", 0.15),
            ("gpt-top", 0.2),
            ("gemini-flash", 0.15),
            ("grok-fast", 0.15),
        ),
        devices=_LAPTOP_WEIGHTS,
        input_median=3500,
        input_sigma=1.1,
        output_median=450,
        output_sigma=0.9,
        max_tokens=((4096, 0.5), (8192, 0.2), (None, 0.3)),
        cache_rate=0.5,
        attribution=(("directory", 0.5), ("repo", 0.3), ("default", 0.2)),
    ),
    # Runs every night from a cron host; with the nightly plant it uses the standard tier.
    ProjectSpec(
        key="doc-indexer",
        name="Document indexer",
        cost_center="Platform",
        hourly_rate_dollars=None,
        share=0.0,
        models=(("gpt-small", 0.6), ("gemini-flash", 0.4)),
        devices=(("indexer-cron-1", 1.0),),
        input_median=3800,
        input_sigma=0.4,
        output_median=350,
        output_sigma=0.35,
        max_tokens=((1024, 1.0),),
        cache_rate=0.0,
        attribution=(("header", 1.0),),
    ),
)



def _plant_project(key: str, name: str, cost_center: str, role: str, device: str) -> ProjectSpec:
    """A project fed only by one catalog plant's traffic (synthetic/catalog_plants.py): no organic share."""
    return ProjectSpec(key=key, name=name, cost_center=cost_center, hourly_rate_dollars=None, share=0.0,
                       models=((role, 1.0),), devices=((device, 1.0),), input_median=1000, input_sigma=0.1,
                       output_median=100, output_sigma=0.1, max_tokens=((1024, 1.0),), cache_rate=0.0,
                       attribution=(("header", 1.0),))


# Appended after the organic projects so their draws stay as they were.
PROJECTS += (
    _plant_project("report-writer", "Report writer", "Research", "claude-legacy", "frank-mbp"),
    _plant_project("ticket-triage", "Ticket triage", "Customer Success", "claude-small", "support-api-2"),
    _plant_project("classifier", "Intent classifier", "Customer Success", "gpt-top", "search-api-1"),
    _plant_project("ingest", "Ingest pipeline", "Platform", "claude-mid", "summariser-worker-1"),
    _plant_project("agent-sessions", "Agent sessions", "Engineering", "claude-small", "heidi-mbp"),
)

PROJECT_INDEX: dict[str, int] = {project.key: i for i, project in enumerate(PROJECTS)}

SUMMARISER = "batch-summariser"
SUPPORT_BOT = "support-bot"
CODE_REVIEW = "code-review"
NIGHTLY = "doc-indexer"
LOOP_PROJECT = "dev-sandbox"
NIGHTLY_SHARE = 0.08  # of requests_per_day, every night including weekends


def project_slug(workspace_slug: str, key: str) -> str:
    return f"{workspace_slug}-{key}"


def owner_email(workspace_slug: str, owner: str | None) -> str | None:
    return None if owner is None else f"{owner}@{workspace_slug}.example"


def workspace_name(workspace_slug: str) -> str:
    return workspace_slug.replace("-", " ").replace("_", " ").title()
