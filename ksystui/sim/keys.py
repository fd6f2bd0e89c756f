"""Key material for the simulator: SSH host/client keys and a small TLS CA.

Everything here is synchronous file and crypto work; callers on the event loop
run it through ``asyncio.to_thread``. With no state directory, keys live only
in memory; with one, they are written once and reused on the next start, so a
``known_hosts`` or a CA file handed to a client stays valid across restarts.

Layout inside a state directory::

    hostkeys/<node>      SSH host key of each node (OpenSSH private key, 0600)
    id_ed25519(.pub)     client key authorised on every node (0600 / 0644)
    ca.pem, ca-key.pem   TLS CA that signs the REST servers' certificates
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

import asyncssh
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOSTKEYS_DIR = "hostkeys"
CLIENT_KEY_FILE = "id_ed25519"
CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"


def _key_usage(*, signs_certificates: bool) -> x509.KeyUsage:
    """Signatures only (TLS server keys sign the handshake); a CA's also sign
    certificates and revocation lists."""
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=signs_certificates, crl_sign=signs_certificates,
        encipher_only=False, decipher_only=False,
    )


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable by the owner only (0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _load_or_create_ssh_key(path: Path | None, comment: str) -> asyncssh.SSHKey:
    if path is not None and path.exists():
        return asyncssh.read_private_key(path)
    key = asyncssh.generate_private_key("ssh-ed25519", comment=comment)
    if path is not None:
        write_private(path, key.export_private_key("openssh"))
    return key


def load_or_create_host_key(state_dir: Path | None, node: str) -> asyncssh.SSHKey:
    """The ed25519 host key of ``node`` (``<state_dir>/hostkeys/<node>``)."""
    path = None
    if state_dir is not None:
        keydir = state_dir / HOSTKEYS_DIR
        keydir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = keydir / node
    return _load_or_create_ssh_key(path, f"root@{node}")


def load_or_create_client_key(state_dir: Path | None) -> asyncssh.SSHKey:
    """The client key authorised on every node (``<state_dir>/id_ed25519`` + ``.pub``)."""
    if state_dir is None:
        return _load_or_create_ssh_key(None, "ksystui-sim")
    path = state_dir / CLIENT_KEY_FILE
    key = _load_or_create_ssh_key(path, "ksystui-sim")
    pub = path.with_name(CLIENT_KEY_FILE + ".pub")
    data = key.export_public_key("openssh")
    if not pub.exists() or pub.read_bytes() != data:
        pub.write_bytes(data)
        os.chmod(pub, 0o644)
    return key


def public_key_line(key: asyncssh.SSHKey) -> str:
    """``ssh-ed25519 AAAA...`` (algorithm and base64 blob, no comment)."""
    alg, blob = key.export_public_key("openssh").decode("ascii").split()[:2]
    return f"{alg} {blob}"


def known_hosts_line(host: str, port: int, key: asyncssh.SSHKey) -> str:
    """One OpenSSH known_hosts line for ``host:port`` (no trailing newline)."""
    pattern = host if port == 22 else f"[{host}]:{port}"
    return f"{pattern} {public_key_line(key)}"


# --- TLS ---------------------------------------------------------------------


@dataclass(frozen=True)
class TlsMaterial:
    """A CA plus one server certificate it signed, all PEM encoded."""

    ca_cert_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    def server_context(self) -> ssl.SSLContext:
        """An SSL context for a server presenting the certificate."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        # The stdlib loads a certificate chain from files only: use a private
        # temporary directory and remove it at once.
        with tempfile.TemporaryDirectory(prefix="ksystui-sim-tls-") as tmp:
            cert = Path(tmp) / "cert.pem"
            key = Path(tmp) / "key.pem"
            cert.write_bytes(self.cert_pem)
            write_private(key, self.key_pem)
            ctx.load_cert_chain(cert, key)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """An SSL context for a client trusting only this CA (hostname checked)."""
        return ssl.create_default_context(cadata=self.ca_cert_pem.decode("ascii"))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _create_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ksystui simulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, "ksystui simulator CA"),
        ]
    )
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signs_certificates=True), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _load_or_create_ca(
    state_dir: Path | None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    if state_dir is not None:
        cert_path, key_path = state_dir / CA_FILE, state_dir / CA_KEY_FILE
        if cert_path.exists() and key_path.exists():
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if isinstance(key, ec.EllipticCurvePrivateKey) and cert.not_valid_after_utc > _now():
                return cert, key
    cert, key = _create_ca()
    if state_dir is not None:
        state_dir.mkdir(parents=True, exist_ok=True)
        write_private(state_dir / CA_KEY_FILE, _key_pem(key))
        (state_dir / CA_FILE).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _san_entries(hosts: list[str]) -> list[x509.GeneralName]:
    entries: list[x509.GeneralName] = []
    for host in dict.fromkeys(["127.0.0.1", "localhost", *hosts]):
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            entries.append(x509.DNSName(host))
    return entries


def tls_material(state_dir: Path | None, hosts: list[str] | None = None) -> TlsMaterial:
    """A server certificate for 127.0.0.1/localhost (plus ``hosts``) signed by the
    state directory's CA (created on first use; in memory when no state dir).

    The server certificate itself is issued afresh on every start; only the CA
    persists, so ``ca.pem`` is what clients pin.
    """
    ca_cert, ca_key = _load_or_create_ca(state_dir)
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=397))
        .add_extension(x509.SubjectAlternativeName(_san_entries(hosts or [])), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signs_certificates=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return TlsMaterial(
        ca_cert_pem=ca_cert.public_bytes(serialization.Encoding.PEM),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM),
        key_pem=_key_pem(key),
    )
