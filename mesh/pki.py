"""The mesh's own certificate authority, and the TLS credentials of servers and clients.

``python -m mesh.pki init DIR`` makes, once, in DIR:

- ``ca.crt`` / ``ca.key``: a local CA (EC P-256, ten years) that signs nothing but the mesh;
- ``<name>.crt`` / ``<name>.key`` for each identity (``prompt_svc``, ``image_svc``,
  ``conversation_svc`` — which the worker uses too — and ``edge``, the gRPC-web edge): EC P-256,
  one year, the name as common name and as DNS name (plus ``localhost`` and ``127.0.0.1``), good
  for both TLS server and client authentication.

Run again, it keeps what is valid and reissues a leaf that expires within 30 days (rotation:
restart each service afterwards; delete the folder to replace the CA too). Keys are written
mode 0600.

With ``MESH_TLS_DIR`` set a server listens with TLS and requires a client certificate from that
CA (``server_credentials``); the worker and the edge present theirs (``channel_credentials``).
The handshake refuses a client without a certificate, with one from another CA or an expired
one, and a plaintext client: none of them reaches a handler. ``mesh.access`` then reads the
peer's common name as its service identity.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
from collections.abc import Sequence
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

IDENTITIES = ("prompt_svc", "image_svc", "conversation_svc", "edge")
CA_NAME = "PhotoFun mesh CA"
LEAF_DAYS = 365
RENEW_BEFORE = dt.timedelta(days=30)


def _write(path: Path, data: bytes, *, secret: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def create_ca(folder: Path, *, days: int = 3650) -> None:
    """A new CA in ``folder`` (``ca.crt``, ``ca.key``), replacing any there."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(CA_NAME))
        .issuer_name(_name(CA_NAME))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    _write(folder / "ca.key", _key_pem(key), secret=True)
    _write(folder / "ca.crt", cert.public_bytes(serialization.Encoding.PEM))


def issue(
    folder: Path,
    name: str,
    *,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> None:
    """``<name>.crt`` / ``<name>.key`` signed by the CA in ``folder`` (one year from now)."""
    ca_key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), None)
    ca_cert = x509.load_pem_x509_certificate((folder / "ca.crt").read_bytes())
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    names: list[x509.GeneralName] = [x509.DNSName(name), x509.DNSName("localhost")]
    names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - dt.timedelta(minutes=5))
        .not_valid_after(not_after or now + dt.timedelta(days=LEAF_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(folder / f"{name}.key", _key_pem(key), secret=True)
    _write(folder / f"{name}.crt", cert.public_bytes(serialization.Encoding.PEM))


def _due(path: Path) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return True
    return cert.not_valid_after_utc - dt.datetime.now(dt.UTC) < RENEW_BEFORE


def init(folder: Path, names: Sequence[str] = IDENTITIES) -> list[str]:
    """Make the CA and every identity's certificate where missing or about to expire; returns
    what was (re)made."""
    made: list[str] = []
    if not (folder / "ca.key").is_file() or _due(folder / "ca.crt"):
        create_ca(folder)
        made.append("ca")
        for name in names:  # a new CA invalidates every leaf
            (folder / f"{name}.crt").unlink(missing_ok=True)
    for name in names:
        if _due(folder / f"{name}.crt") or not (folder / f"{name}.key").is_file():
            issue(folder, name)
            made.append(name)
    return made


def server_credentials(folder: Path, name: str) -> grpc.ServerCredentials:
    """TLS with ``name``'s certificate, requiring a client certificate from the mesh CA."""
    return grpc.ssl_server_credentials(
        [((folder / f"{name}.key").read_bytes(), (folder / f"{name}.crt").read_bytes())],
        root_certificates=(folder / "ca.crt").read_bytes(),
        require_client_auth=True,
    )


def channel_credentials(folder: Path, name: str) -> grpc.ChannelCredentials:
    """TLS that checks the server against the mesh CA and presents ``name``'s certificate."""
    return grpc.ssl_channel_credentials(
        root_certificates=(folder / "ca.crt").read_bytes(),
        private_key=(folder / f"{name}.key").read_bytes(),
        certificate_chain=(folder / f"{name}.crt").read_bytes(),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mesh.pki init DIR``: the mesh's CA and certificates (see the docstring)."""
    parser = argparse.ArgumentParser(prog="python -m mesh.pki", description=main.__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("init", help="create the CA and certificates where missing or expiring")
    make.add_argument("folder", type=Path)
    make.add_argument("--names", default=",".join(IDENTITIES), help="comma-separated identities")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.names.split(",") if n.strip()]
    made = init(args.folder, names)
    print(f"{args.folder}: {'made ' + ', '.join(made) if made else 'all certificates valid'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
