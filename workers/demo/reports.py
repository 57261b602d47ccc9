"""The demo's PDFs: the top project's report (named after the project, e.g. acme-code-review-report.pdf)
and the executive summary, signed with a throwaway self-signed certificate, written to the demo's out_dir."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from core.db import Conn
from store.report_reads import ReportRequest, project_slug, top_project
from store.workspaces import Workspace
from workers.jobs.reports import build_artifact
from workers.settings import SigningSettings


def throwaway_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed RSA certificate and key (PEM), for the demo only: a real deployment names its own."""
    from cryptography import x509  # demo only: cryptography
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Halton Meter demo (self-signed)")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "demo-signer.pem", folder / "demo-signer.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def project_filename(workspace_slug: str, slug: str) -> str:
    """The file says which project it reports on: acme-code-review-report.pdf (the seed's project slugs
    already start with the workspace's; others get it prepended)."""
    named = slug if slug.startswith(f"{workspace_slug}-") else f"{workspace_slug}-{slug}"
    return f"{named}-report.pdf"


DEMO_DAYS = 30  # the reports cover the last 30 whole UTC days, the days the demo seeds


def demo_period(now: datetime) -> tuple[date, date]:
    end = now.astimezone(UTC).date()
    return end - timedelta(days=DEMO_DAYS), end


def write_demo_reports(conn: Conn, workspace: Workspace, out_dir: Path, console: Console) -> None:
    now = datetime.now(UTC).replace(microsecond=0)  # one moment for the period and both reports
    start, end = demo_period(now)
    top = top_project(conn, workspace.id, start, end)
    table = Table(title=f"PDF reports, last 30 days (in {out_dir})", title_justify="left")
    for column in ("report", "file", "pages", "signed"):
        table.add_column(column)
    with tempfile.TemporaryDirectory(prefix="halton-demo-cert-") as folder:
        cert, key = throwaway_certificate(Path(folder))
        signing = SigningSettings(signing_cert=cert, signing_key=key)
        jobs: list[tuple[str, str, int | None, str]] = [
            ("executive summary", "executive", None, f"{workspace.slug}-executive-summary.pdf")]
        if top is not None:
            jobs.insert(0, ("project report", "project", top, project_filename(workspace.slug,
                                                                              project_slug(conn, workspace.id, top))))
        for label, kind, project_id, filename in jobs:
            request = ReportRequest(None, workspace.id, kind, project_id, start, end, "demo", now)
            artifact = build_artifact(conn, request, signing, now=now)
            path = out_dir / filename
            path.write_bytes(artifact.pdf)
            table.add_row(label, path.name, str(artifact.pages), "true" if artifact.signed else "false")
    console.print(table)
