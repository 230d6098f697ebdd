"""A real OpenID Connect provider on loopback, shaped like Pro Santé Connect, for tests.

Built on pyop (the OpenID Connect provider library used by SATOSA) behind wsgiref, it serves
discovery, authorization, token, userinfo and JWKS over HTTP on 127.0.0.1 with a freshly
generated RSA signing key. The authorization endpoint signs in whoever the test made the
"current user" without a login page, and redirects back to the client with a code; the rest is
a genuine OIDC code flow: the client exchanges the code (client secret, PKCE), receives an ID
token signed RS256 and calls userinfo with the access token.

Like Pro Santé Connect it insists on ``acr_values=eidas1`` and on PKCE (S256), and returns the
PSC claims (``SubjectNameID``, ``SubjectRefPro``…) from userinfo under the ``scope_all`` scope.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import json
import ssl
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from Cryptodome.PublicKey import RSA
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from jwkest.jwk import RSAKey
from pyop.authz_state import AuthorizationState
from pyop.exceptions import (
    BearerTokenError,
    InvalidAccessToken,
    InvalidAuthenticationRequest,
    InvalidClientAuthentication,
    OAuthError,
)
from pyop.provider import Provider
from pyop.subject_identifier import HashBasedSubjectIdentifierFactory
from pyop.userinfo import Userinfo

# The claims Pro Santé Connect releases under its "scope_all" scope.
PSC_CLAIMS = [
    "SubjectNameID",
    "preferred_username",
    "given_name",
    "family_name",
    "email",
    "SubjectRefPro",
    "SubjectOrganization",
    "SubjectOrganizationID",
    "SubjectRole",
    "codeCivilite",
    "otherIds",
]
PSC_SUB_PREFIX = "f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:"


def psc_userinfo(
    id_nat_ps: str,
    *,
    given_name: str = "Alice",
    family_name: str = "Martin",
    profession: str = "10",
    email: str | None = None,
    sub: str | None = None,
) -> dict[str, Any]:
    """A Pro Santé Connect userinfo document for the professional ``id_nat_ps`` (``8`` + RPPS)."""
    claims: dict[str, Any] = {
        "sub": sub or PSC_SUB_PREFIX + id_nat_ps,
        "SubjectNameID": id_nat_ps,
        "preferred_username": id_nat_ps,
        "given_name": given_name,
        "family_name": family_name,
        "codeCivilite": "DR",
        "SubjectRole": [f"{profession}^1.2.250.1.213.1.1.5.5"],
        "SubjectRefPro": {
            "codeCivilite": "DR",
            "exercices": [
                {
                    "codeProfession": profession,
                    "codeCategorieProfessionnelle": "C",
                    "codeCiviliteDexercice": "DR",
                    "nomDexercice": family_name.upper(),
                    "prenomDexercice": given_name,
                    "codeTypeSavoirFaire": "S",
                    "codeSavoirFaire": "SM54",
                    "activities": [
                        {
                            "codeModeExercice": "L",
                            "codeSecteurDactivite": "SA07",
                            "codeGenreActivite": "GENR01",
                            "raisonSocialeSite": "MAISON DE SANTE DES TILLEULS",
                            "numeroFinessSite": "010002129",
                            "codePostal": "01000",
                        }
                    ],
                }
            ],
        },
        "otherIds": [{"identifiant": id_nat_ps, "origine": "RPPS", "qualite": 1}],
    }
    if email is not None:
        claims["email"] = email
    return claims


@functools.cache
def _signing_key() -> RSAKey:
    """One RSA key per test session: generating it is the slow part of starting a provider."""
    return RSAKey(key=RSA.generate(2048), alg="RS256", use="sig", kid="psc-test-" + uuid.uuid4().hex[:8])


def write_tls_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (PEM certificate and key files in ``directory``).

    The certificate file doubles as the CA bundle the client trusts (``REQUESTS_CA_BUNDLE``).
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "oidc-provider.pem", directory / "oidc-provider.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        pass


class OidcProvider:
    """A running provider. Set ``current_user`` (userinfo claims) before each authorization."""

    def __init__(
        self, *, client_id: str, client_secret: str, redirect_uris: Iterable[str], certificate: tuple[Path, Path]
    ) -> None:
        self.certificate = certificate
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = list(redirect_uris)
        self.current_user: dict[str, Any] | None = None
        self.authorization_requests: list[dict[str, Any]] = []
        self.token_requests: list[dict[str, str]] = []
        self.issued_id_tokens: list[str] = []
        self.userinfo_calls = 0
        self._users: dict[str, dict[str, Any]] = {}
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.issuer = ""
        self.op: Provider | None = None

    # --- life cycle ---------------------------------------------------------------------------
    def start(self) -> OidcProvider:
        self._server = make_server("127.0.0.1", 0, self._wsgi, handler_class=_QuietHandler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*self.certificate)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.issuer = f"https://127.0.0.1:{self._server.server_port}"
        self.op = self._build_provider()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="oidc-provider", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> OidcProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def discovery_url(self) -> str:
        return self.issuer + "/.well-known/openid-configuration"

    def set_id_token_lifetime(self, seconds: int) -> None:
        assert self.op is not None
        self.op.id_token_lifetime = seconds

    def _build_provider(self) -> Provider:
        configuration = {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/auth",
            "token_endpoint": self.issuer + "/token",
            "userinfo_endpoint": self.issuer + "/userinfo",
            "jwks_uri": self.issuer + "/certs",
            "scopes_supported": ["openid"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "acr_values_supported": ["eidas1"],
            "claims_supported": ["sub", *PSC_CLAIMS],
        }
        clients = {
            self.client_id: {
                "client_secret": self.client_secret,
                "redirect_uris": self.redirect_uris,
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_post",
            }
        }
        state = AuthorizationState(HashBasedSubjectIdentifierFactory(uuid.uuid4().hex))
        return Provider(
            _signing_key(),
            configuration,
            state,
            clients,
            Userinfo(self._users),
            extra_scopes={"scope_all": PSC_CLAIMS},
        )

    # --- HTTP ---------------------------------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        headers = {"Authorization": environ["HTTP_AUTHORIZATION"]} if "HTTP_AUTHORIZATION" in environ else {}
        try:
            if method == "GET" and path == "/.well-known/openid-configuration":
                return self._json(start_response, self.op.provider_configuration.to_dict())
            if method == "GET" and path == "/certs":
                return self._json(start_response, self.op.jwks)
            if method == "GET" and path == "/auth":
                return self._authorize(start_response, query)
            if method == "POST" and path == "/token":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = environ["wsgi.input"].read(length).decode()
                return self._token(start_response, body, headers)
            if method in ("GET", "POST") and path == "/userinfo":
                self.userinfo_calls += 1
                response = self.op.handle_userinfo_request(query, headers)
                return self._json(start_response, response.to_dict())
        except (InvalidAccessToken, BearerTokenError) as exc:
            return self._json(start_response, {"error": "invalid_token", "error_description": str(exc)}, "401")
        except InvalidClientAuthentication as exc:
            return self._json(start_response, {"error": "invalid_client", "error_description": str(exc)}, "401")
        except OAuthError as exc:
            return self._json(start_response, {"error": exc.oauth_error, "error_description": str(exc)}, "400")
        return self._json(start_response, {"error": "not_found"}, "404")

    def _authorize(self, start_response: Any, query: str) -> list[bytes]:
        params = dict(parse_qsl(query))
        self.authorization_requests.append(params)
        try:
            request = self.op.parse_authentication_request(query)
        except InvalidAuthenticationRequest as exc:
            return self._json(start_response, {"error": "invalid_request", "error_description": str(exc)}, "400")
        # Pro Santé Connect's own requirements on top of OpenID Connect.
        problem = None
        if request.get("acr_values") != ["eidas1"]:
            problem = "acr_values=eidas1 is required"
        elif request.get("code_challenge_method") != "S256" or not request.get("code_challenge"):
            problem = "PKCE with S256 is required"
        elif self.current_user is None:
            problem = "no current user"
        if problem:
            return self._json(start_response, {"error": "invalid_request", "error_description": problem}, "400")
        user_id = self.current_user["sub"]
        self._users[user_id] = dict(self.current_user)
        response = self.op.authorize(request, user_id)
        location = response.request(request["redirect_uri"])
        start_response("302 Found", [("Location", location), ("Content-Length", "0")])
        return [b""]

    def _token(self, start_response: Any, body: str, headers: dict[str, str]) -> list[bytes]:
        self.token_requests.append(dict(parse_qsl(body)))
        response = self.op.handle_token_request(body, headers)
        self.issued_id_tokens.append(response["id_token"])
        return self._json(start_response, response.to_dict())

    @staticmethod
    def _json(start_response: Any, data: dict[str, Any], status: str = "200") -> list[bytes]:
        payload = json.dumps(data).encode()
        reason = {"200": "OK", "400": "Bad Request", "401": "Unauthorized", "404": "Not Found"}[status]
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        start_response(f"{status} {reason}", [*headers, ("Cache-Control", "no-store")])
        return [payload]
