"""TensorFlow's GCS client pointed at the tests' GCS-protocol server.

TensorFlow's own GCS filesystem (the one tf.data reads a tfds ``data_dir``
on gs:// through) always calls https://www.googleapis.com and has no
endpoint setting, so STORAGE_EMULATOR_HOST does not reach it.  It does go
through libcurl's standard ``HTTPS_PROXY`` and trusts the certificates in
``CURL_CA_BUNDLE``.  This proxy answers CONNECT for Google's storage hosts,
ends the TLS with a certificate for them signed by a CA made here, and
relays the plain HTTP to the local server.  Any other host is refused, so
nothing else is silently redirected.
"""
import datetime
import socket
import ssl
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOSTS = ("www.googleapis.com", "storage.googleapis.com")


def _name(common_name):
  return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _signed(subject, public_key, issuer, issuer_key, extension):
  now = datetime.datetime.now(datetime.timezone.utc)
  return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
          .public_key(public_key).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=7))
          .add_extension(extension, critical=extension.oid == x509.BasicConstraints.oid)
          .sign(issuer_key, hashes.SHA256()))


def write_certificates(folder):
  """A throw-away CA and a certificate for ``HOSTS`` signed by it.

  Returns (ca.pem, cert.pem, key.pem) paths under ``folder``.
  """
  ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
  ca_name = _name("ssl_jax tests CA")
  ca = _signed(ca_name, ca_key.public_key(), ca_name, ca_key,
               x509.BasicConstraints(ca=True, path_length=None))
  cert = _signed(_name(HOSTS[0]), key.public_key(), ca_name, ca_key,
                 x509.SubjectAlternativeName([x509.DNSName(h) for h in HOSTS]))
  paths = tuple(folder / n for n in ("ca.pem", "cert.pem", "key.pem"))
  paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
  paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
  paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))
  return paths


def _pump(source, sink):
  try:
    while data := source.recv(1 << 16):
      sink.sendall(data)
  except OSError:
    pass
  finally:
    for s in (source, sink):
      try:
        s.shutdown(socket.SHUT_RDWR)
      except OSError:
        pass


class TlsProxy:
  """An HTTPS proxy on 127.0.0.1 that serves ``HOSTS`` from ``upstream``
  (host, port), a plain-HTTP server.  ``url`` is the HTTPS_PROXY value."""

  def __init__(self, folder, upstream):
    self.ca, cert, key = write_certificates(folder)
    self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    self._context.load_cert_chain(cert, key)
    self._context.set_alpn_protocols(["http/1.1"])
    self._upstream = upstream
    self._listener = socket.create_server(("127.0.0.1", 0))
    self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
    threading.Thread(target=self._accept, daemon=True).start()

  def close(self):
    self._listener.close()

  def _accept(self):
    while True:
      try:
        conn, _ = self._listener.accept()
      except OSError:  # closed
        return
      threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

  def _serve(self, conn):
    head = b""
    while b"\r\n\r\n" not in head:
      chunk = conn.recv(4096)
      if not chunk:
        conn.close()
        return
      head += chunk
    method, target = head.split(b" ", 2)[:2]
    if method != b"CONNECT" or target.decode().rsplit(":", 1)[0] not in HOSTS:
      conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
      conn.close()
      return
    conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    try:
      tls = self._context.wrap_socket(conn, server_side=True)
    except (OSError, ssl.SSLError):
      conn.close()
      return
    upstream = socket.create_connection(self._upstream)
    threading.Thread(target=_pump, args=(upstream, tls), daemon=True).start()
    _pump(tls, upstream)
