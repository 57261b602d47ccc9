"""The signed executive summary: pyhanko (and poppler's pdfsig where installed) accept it; one changed
byte fails it; signing the same render at the same moment gives the same bytes."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from core.errors import ConfigError
from pdf import render, signing
from pdf.model import Signature
from pdf.periods import Period
from pdf.signing import SigningFiles, load_signer, sign_pdf, signer_name
from tests.unit.pdf_certs import ThrowawayCert, self_signed
from tests.unit.pdf_samples import executive_data
from tests.unit.pdf_text import pdf_text

OCTOBER = Period(date(2026, 10, 1), date(2026, 11, 1))
SIGNED_AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayCert:
    return self_signed(tmp_path_factory.mktemp("cert"))


@pytest.fixture(scope="module")
def signed(cert: ThrowawayCert) -> bytes:
    signer = load_signer(SigningFiles(cert.cert, cert.key))
    rendered = render.render_executive(executive_data(OCTOBER), Signature(signer_name(signer), SIGNED_AT))
    return sign_pdf(rendered.pdf, signer, SIGNED_AT, "board pack")


def validate(pdf: bytes, cert: ThrowawayCert) -> tuple[bool, bool]:
    """(intact, valid) as pyhanko judges the one signature against the test certificate as trust root."""
    reader = PdfFileReader(io.BytesIO(pdf))
    [embedded] = reader.embedded_signatures
    status = validate_pdf_signature(embedded, ValidationContext(trust_roots=[cert.trust_root()]))
    return bool(status.intact), bool(status.bottom_line)


def test_pyhanko_validates_the_signed_summary(signed: bytes, cert: ThrowawayCert) -> None:
    assert validate(signed, cert) == (True, True)
    text = pdf_text(signed)
    assert "digitally signed (PAdES) by Halton test signer" in text and "2026-11-02 09:30 UTC" in text


def test_one_changed_byte_fails_validation(signed: bytes, cert: ThrowawayCert) -> None:
    at = signed.index(b"stream\n", len(signed) // 3) + 40  # inside a content stream the signature covers
    tampered = signed[:at] + bytes([signed[at] ^ 0x01]) + signed[at + 1:]
    try:
        intact, valid = validate(tampered, cert)
    except Exception:  # a reader may refuse the file outright: also a failed validation
        intact, valid = False, False
    assert not intact and not valid


def test_signing_is_deterministic_for_the_same_moment(signed: bytes, cert: ThrowawayCert) -> None:
    signer = load_signer(SigningFiles(cert.cert, cert.key))
    rendered = render.render_executive(executive_data(OCTOBER), Signature(signer_name(signer), SIGNED_AT))
    assert sign_pdf(rendered.pdf, signer, SIGNED_AT, "board pack") == signed


def test_pdfsig_accepts_the_signature(signed: bytes, tmp_path: Path) -> None:
    pdfsig = shutil.which("pdfsig")
    if pdfsig is None:
        pytest.skip("poppler's pdfsig is not installed (apt-get install poppler-utils); pyhanko's check ran")
    path = tmp_path / "summary.pdf"
    path.write_bytes(signed)
    result = subprocess.run([pdfsig, str(path)], capture_output=True, text=True, check=False)
    assert "Signature is Valid." in result.stdout, result.stdout + result.stderr
    at = signed.index(b"stream\n", len(signed) // 3) + 40
    path.write_bytes(signed[:at] + bytes([signed[at] ^ 0x01]) + signed[at + 1:])
    tampered = subprocess.run([pdfsig, str(path)], capture_output=True, text=True, check=False)
    assert "Signature is Valid." not in tampered.stdout


def test_unreadable_pem_is_a_config_error_naming_the_setting(tmp_path: Path, cert: ThrowawayCert) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(ConfigError, match="HALTON_SIGNING_CERT"):
        load_signer(SigningFiles(junk, cert.key))
    with pytest.raises(ConfigError, match=r"HALTON_SIGNING_KEY: .* is not a readable file"):
        load_signer(SigningFiles(cert.cert, tmp_path / "missing.key"))


def test_the_signer_is_loaded_once_per_files_and_again_when_one_is_replaced(tmp_path: Path) -> None:
    first = self_signed(tmp_path / "first")
    files = SigningFiles(first.cert, first.key)
    signer = load_signer(files)
    assert load_signer(files) is signer  # a warm worker parses the key and certificate once
    rotated = self_signed(tmp_path / "rotated")
    shutil.copyfile(rotated.cert, first.cert)
    shutil.copyfile(rotated.key, first.key)
    reloaded = load_signer(files)
    assert reloaded is not signer
    assert reloaded.signing_cert is not None and signer.signing_cert is not None
    assert reloaded.signing_cert.dump() != signer.signing_cert.dump()


def test_the_key_caching_signer_signs_the_same_bytes_as_pyhankos_own(cert: ThrowawayCert) -> None:
    from pyhanko.sign.signers import SimpleSigner

    plain = SimpleSigner.load(key_file=str(cert.key), cert_file=str(cert.cert))  # type: ignore[no-untyped-call]
    rendered = render.render_executive(executive_data(OCTOBER), Signature("Halton test signer", SIGNED_AT))
    ours = sign_pdf(rendered.pdf, load_signer(SigningFiles(cert.cert, cert.key)), SIGNED_AT, "board pack")
    assert ours == sign_pdf(rendered.pdf, plain, SIGNED_AT, "board pack")


def test_the_signature_gets_the_room_pyhanko_would_size_for_it(cert: ThrowawayCert,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    signer = load_signer(SigningFiles(cert.cert, cert.key))
    rendered = render.render_executive(executive_data(OCTOBER), Signature(signer_name(signer), SIGNED_AT))
    signing._reserved_bytes.cache_clear()
    sized_once = sign_pdf(rendered.pdf, signer, SIGNED_AT, "board pack")
    assert sign_pdf(rendered.pdf, signer, SIGNED_AT, "board pack") == sized_once
    assert signing._reserved_bytes.cache_info().hits == 1  # the second signature did not size it again
    monkeypatch.setattr(signing, "_reserved_bytes", lambda _signer: None)  # pyhanko sizes it with a dummy signature
    assert sign_pdf(rendered.pdf, signer, SIGNED_AT, "board pack") == sized_once
