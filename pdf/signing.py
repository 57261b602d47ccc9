"""PAdES signing of the executive summary with pyhanko, from PEM files.

Deterministic on purpose: the signing time is given by the caller (the moment the report was requested),
and the two things pyhanko would otherwise take from the clock or the random source — the updated
document's modification date and the second half of its /ID — are fixed from that time and the unsigned
bytes. With an RSA key (PKCS#1 v1.5 signatures carry no randomness) the same request over the same data
gives the same signed bytes. pyhanko offers no public switch for the last two, so this reaches into two
attributes of its writer; a test renders twice and compares bytes, so an upgrade that moves them shows.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import io
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import DocumentMetadata
from pyhanko.sign import fields as sig_fields
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from core.errors import ConfigError, present

FIELD_NAME = "HaltonSignature"
DIGEST = "sha256"


@dataclass(frozen=True)
class SigningFiles:
    cert: Path
    key: Path
    chain: Path | None = None


def load_signer(files: SigningFiles) -> signers.SimpleSigner:
    """The signer from PEM files; ConfigError naming the file when one cannot be read as PEM.

    Loaded once per worker process and set of files: parsing the key and certificate costs about as much as
    signing. The cache is keyed by each file's path, mtime and size, so a rotated certificate or key (a new
    file written, or the old one replaced) is read again on the next report."""
    stamps: list[tuple[int, int]] = []
    for label, path in (("HALTON_SIGNING_CERT", files.cert), ("HALTON_SIGNING_KEY", files.key),
                        ("HALTON_SIGNING_CHAIN", files.chain)):
        if path is not None and not path.is_file():
            raise ConfigError(f"{label}: {path} is not a readable file")
        if path is not None:
            status = path.stat()
            stamps.append((status.st_mtime_ns, status.st_size))
    return _load_signer(files, tuple(stamps))


@functools.lru_cache(maxsize=4)
def _load_signer(files: SigningFiles, _stamps: tuple[tuple[int, int], ...]) -> signers.SimpleSigner:
    try:
        signer: signers.SimpleSigner | None = signers.SimpleSigner.load(  # type: ignore[no-untyped-call]
            key_file=str(files.key), cert_file=str(files.cert),
            ca_chain_files=(str(files.chain),) if files.chain else None)
    except Exception as error:  # pyhanko raises assorted types for unreadable PEM
        raise ConfigError(f"HALTON_SIGNING_CERT/HALTON_SIGNING_KEY could not be loaded as PEM: {error}") from None
    if signer is None:  # pyhanko logs and returns None for a key or certificate it cannot parse
        raise ConfigError("HALTON_SIGNING_CERT/HALTON_SIGNING_KEY could not be loaded as a PEM certificate and key")
    return _KeyCachingSigner(signing_cert=signer.signing_cert, signing_key=signer.signing_key,
                             cert_registry=signer.cert_registry)


class _KeyCachingSigner(signers.SimpleSigner):
    """pyhanko's SimpleSigner turns its stored key into a `cryptography` key for every signature it makes
    (twice per document: a dry run sizes the signature), and `cryptography` checks an RSA key's consistency
    on each load, about 50 ms a time. This loads it once per signer (so once per worker process, with the
    cache above) and signs with it; any mechanism other than RSA PKCS#1 v1.5 or ECDSA goes to pyhanko's own
    path unchanged. The signature is the same: PKCS#1 v1.5 is deterministic for a given key."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._private_key = serialization.load_der_private_key(self.signing_key.dump(), password=None)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        key = self._private_key
        if mechanism == "rsassa_pkcs1v15" and isinstance(key, RSAPrivateKey):
            return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if mechanism == "ecdsa" and isinstance(key, EllipticCurvePrivateKey):
            return key.sign(data, ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        return bytes(super().sign_raw(data, digest_algorithm))


def signer_name(signer: signers.SimpleSigner) -> str:
    cert = present(signer.signing_cert, "the signer's certificate")
    names = cert.subject.native
    return str(names.get("common_name") or cert.subject.human_friendly)


class _FixedMetadata(DocumentMetadata):
    """pyhanko sets `last_modified = 'now'` right before writing; this keeps the given moment instead."""

    _fixed: datetime

    @property
    def last_modified(self) -> datetime:
        return self._fixed

    @last_modified.setter
    def last_modified(self, _value: Any) -> None:
        pass


class _FixedTimeSigner(signers.PdfSigner):
    def __init__(self, *args: Any, system_time: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._system_time = system_time

    def init_signing_session(self, *args: Any, **kwargs: Any) -> Any:
        session = super().init_signing_session(*args, **kwargs)
        session.system_time = self._system_time  # the /M entry and the CMS signing time
        return session


def sign_pdf(pdf: bytes, signer: signers.SimpleSigner, signing_time: datetime, reason: str) -> bytes:
    """The PDF with a PAdES B-B signature appended as an incremental update (PDF/A stays valid)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    previous = writer._meta
    fixed = _FixedMetadata(**{f.name: getattr(previous, f.name) for f in fields(previous)})
    fixed._fixed = signing_time
    writer._meta = fixed
    first_id = writer._document_id[0]
    writer._document_id = generic.ArrayObject(
        [first_id, generic.ByteStringObject(hashlib.sha256(pdf + signing_time.isoformat().encode()).digest()[:16])])
    meta = signers.PdfSignatureMetadata(field_name=FIELD_NAME, md_algorithm=DIGEST,
                                        subfilter=SigSeedSubFilter.PADES, reason=reason)
    pdf_signer = _FixedTimeSigner(meta, signer=signer, system_time=signing_time,
                                  new_field_spec=sig_fields.SigFieldSpec(FIELD_NAME))
    out = pdf_signer.sign_pdf(writer, bytes_reserved=_reserved_bytes(signer))
    return bytes(out.getbuffer())


@functools.lru_cache(maxsize=4)
def _reserved_bytes(signer: signers.Signer) -> int:
    """The room for the signature in the file, as pyhanko sizes it when not told: the length of a dummy PAdES
    signature by this signer, hex-encoded, plus half again. pyhanko builds that dummy for every document,
    about a third of the signing time; it depends only on the signer's certificates and key and the digest (a
    PAdES signature carries no signing-time attribute), so it is sized once per signer, with pyhanko's own code
    and margin, and the signed bytes stay the same."""
    dummy = asyncio.run(signer.async_sign(hashlib.sha256().digest(), DIGEST, dry_run=True, use_pades=True,
                                          signed_attr_settings=PdfCMSSignedAttributes()))
    hex_length = len(dummy.dump()) * 2
    return hex_length + 2 * (hex_length // 4)
