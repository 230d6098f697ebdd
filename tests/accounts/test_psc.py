"""Pro Santé Connect login, end to end against a real OpenID Connect provider on loopback.

The provider (tests/accounts/oidc_provider.py, pyop over TLS) is driven exactly as PSC would be:
Django's test client posts the PSC button, a plain HTTP client follows the redirect to the
provider's authorization endpoint, which answers with a code for the callback; allauth then
exchanges the code (client secret + PKCE), validates the ID token and reads userinfo. Nothing
in the HTTP path is mocked.
"""

from __future__ import annotations

import copy
import ssl
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.models import SocialAccount
from django.conf import settings as django_settings

from cordee.accounts import demo, identifiers, psc
from cordee.accounts.models import Professional, User
from cordee.audit.models import AuditEntry
from tests.accounts.oidc_provider import OidcProvider, psc_userinfo, write_tls_certificate

LOGIN_URL = "/accounts/oidc/psc/login/?process=login"
CALLBACK_URL = "http://testserver/accounts/oidc/psc/login/callback/"
UNKNOWN_RPPS = "10000000041"  # a well-formed RPPS (Luhn key right) that no Cordée account has

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def tls_certificate(tmp_path_factory):
    return write_tls_certificate(tmp_path_factory.mktemp("oidc-tls"))


@pytest.fixture
def provider(settings, monkeypatch, tls_certificate):
    """A running PSC-like provider, and Cordée's PSC settings pointed at it."""
    # allauth talks to the provider through requests: trust the provider's certificate, no proxy.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_certificate[0]))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with OidcProvider(
        client_id="cordee-test",
        client_secret="s3cr3t-for-tests",
        redirect_uris=[CALLBACK_URL],
        certificate=tls_certificate,
    ) as running:
        settings.PSC_SERVER_URL = running.issuer
        settings.SOCIALACCOUNT_PROVIDERS = {
            "openid_connect": {
                "OAUTH_PKCE_ENABLED": True,
                "APPS": [
                    {
                        "provider_id": psc.PROVIDER_ID,
                        "name": "Pro Santé Connect",
                        "client_id": running.client_id,
                        "secret": running.client_secret,
                        # The production settings, only the server differs.
                        "settings": {"server_url": running.issuer, **copy.deepcopy(django_settings.PSC_APP_SETTINGS)},
                    }
                ],
            }
        }
        yield running


def _browser(certificate):
    """What the user's browser does at the provider: one GET, no redirect followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    context = ssl.create_default_context(cafile=str(certificate))
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context), NoRedirect
    )


def sign_in_with_psc(client, provider, claims):
    """The whole PSC round trip for the user ``claims`` describe; returns the callback's response."""
    provider.current_user = claims
    start = client.post(LOGIN_URL)
    assert start.status_code == 302, start.content
    assert start["Location"].startswith(provider.issuer + "/auth?")
    try:
        _browser(provider.certificate[0]).open(start["Location"], timeout=5)
        raise AssertionError("the provider should have redirected back")
    except urllib.error.HTTPError as redirect:
        with redirect:
            assert redirect.code == 302, redirect.read()
            callback = redirect.headers["Location"]
    assert callback.startswith(CALLBACK_URL)
    parts = urlsplit(callback)
    return client.get(parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()})


def signed_in_user_id(client):
    return client.session.get("_auth_user_id")


def entries(action):
    return list(AuditEntry.objects.filter(action=action).order_by("seq"))


def alice_claims(alice, **overrides):
    return psc_userinfo(alice.professional.id_nat_ps, given_name="Alice", family_name="Martin", **overrides)


# --- the happy path -------------------------------------------------------------------------------
def test_verified_professional_signs_in_and_is_bound(client, provider, alice):
    response = sign_in_with_psc(client, provider, alice_claims(alice, email="alice.martin@psc.example"))

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_user_id(client) == str(alice.pk)
    account = SocialAccount.objects.get()
    assert (account.user_id, account.provider) == (alice.pk, "psc")
    assert account.uid == alice_claims(alice)["sub"]
    [bound] = entries("account.psc_bound")
    assert (bound.actor_id, bound.target_type, bound.target_id) == (
        alice.pk,
        "accounts.professional",
        str(alice.professional.pk),
    )
    assert bound.details["professions"] == ["10"]
    [success] = entries("login.success")
    assert success.actor_id == alice.pk
    assert success.details == {"method": "psc"}
    # PSC (CPS / e-CPS) is two-factor: Alice has TOTP set up, yet is not asked for it again.
    assert client.get("/").status_code == 200


def test_the_flow_is_a_real_oidc_code_flow_as_psc_wants_it(client, provider, alice):
    sign_in_with_psc(client, provider, alice_claims(alice))

    [authorization] = provider.authorization_requests
    assert authorization["response_type"] == "code"
    assert authorization["acr_values"] == "eidas1"
    assert set(authorization["scope"].split()) == {"openid", "scope_all"}
    assert authorization["code_challenge_method"] == "S256"
    assert authorization["redirect_uri"] == CALLBACK_URL
    [token] = provider.token_requests
    assert token["grant_type"] == "authorization_code"
    assert token["client_secret"] == provider.client_secret  # client_secret_post
    assert token["code_verifier"]  # PKCE, checked by the provider against the challenge
    assert provider.userinfo_calls == 1
    # The ID token allauth accepted is signed with the key the provider publishes.
    [id_token] = provider.issued_id_tokens
    decoded = jwtkit.verify_and_decode(
        credential=id_token,
        keys_url=provider.issuer + "/certs",
        issuer=provider.issuer,
        audience=provider.client_id,
        lookup_kid=jwtkit.lookup_kid_jwk,
    )
    assert decoded["sub"] == SocialAccount.objects.get().uid


def test_second_sign_in_reuses_the_binding(client, provider, alice):
    sign_in_with_psc(client, provider, alice_claims(alice))
    client.post("/accounts/logout/")
    assert signed_in_user_id(client) is None

    response = sign_in_with_psc(client, provider, alice_claims(alice))

    assert response.status_code == 302
    assert signed_in_user_id(client) == str(alice.pk)
    assert SocialAccount.objects.count() == 1
    assert len(entries("account.psc_bound")) == 1
    assert [e.details["method"] for e in entries("login.success")] == ["psc", "psc"]


# --- refusals -------------------------------------------------------------------------------------
def assert_refused(response, client, reason, *, users_before=None):
    assert response.status_code == 403
    assert "accounts/psc_refused.html" in [t.name for t in response.templates]
    assert signed_in_user_id(client) is None
    assert not SocialAccount.objects.exists()
    [refused] = entries("login.psc_refused")
    assert refused.outcome == "denied"
    assert refused.actor_id is None
    assert refused.details["reason"] == reason
    assert not entries("login.success")
    if users_before is not None:
        assert User.objects.count() == users_before
    return refused


def test_unverified_professional_is_refused(client, provider, alice):
    Professional.objects.filter(pk=alice.professional.pk).update(verification=Professional.Verification.UNVERIFIED)

    response = sign_in_with_psc(client, provider, alice_claims(alice))

    refused = assert_refused(response, client, "not_verified")
    assert refused.target_id == "10000000009"


def test_unknown_rpps_is_refused_and_creates_nothing(client, provider, personas):
    assert identifiers.validate_rpps(UNKNOWN_RPPS) == UNKNOWN_RPPS
    users_before = User.objects.count()

    response = sign_in_with_psc(
        client, provider, psc_userinfo("8" + UNKNOWN_RPPS, given_name="Eve", family_name="Inconnue")
    )

    refused = assert_refused(response, client, "unknown_rpps", users_before=users_before)
    assert (refused.target_type, refused.target_id, refused.target_display) == ("rpps", UNKNOWN_RPPS, "Eve Inconnue")


def test_malformed_id_nat_ps_is_refused(client, provider, alice):
    bad_key = "8" + alice.professional.rpps[:-1] + "8"  # same digits, wrong Luhn key

    response = sign_in_with_psc(client, provider, psc_userinfo(bad_key))

    assert_refused(response, client, "malformed_id", users_before=len(demo.PERSONAS))


def test_other_profession_in_subject_ref_pro_is_refused(client, provider, alice):
    response = sign_in_with_psc(client, provider, alice_claims(alice, profession="60"))  # infirmier, not médecin

    assert_refused(response, client, "profession_mismatch")


def test_email_is_never_used_to_match(client, provider, charlie):
    """A PSC identity whose e-mail is Charlie's but whose RPPS is nobody's signs in nobody."""
    claims = psc_userinfo("8" + UNKNOWN_RPPS, given_name="Charlie", family_name="Petit", email=charlie.email)

    response = sign_in_with_psc(client, provider, claims)

    assert_refused(response, client, "unknown_rpps")
    assert not SocialAccount.objects.filter(user=charlie).exists()


def test_rpps_wins_over_email(client, provider, alice, charlie):
    response = sign_in_with_psc(client, provider, alice_claims(alice, email=charlie.email))

    assert response.status_code == 302
    assert signed_in_user_id(client) == str(alice.pk)
    assert SocialAccount.objects.get().user_id == alice.pk


def test_a_bound_subject_cannot_switch_to_another_account(client, provider, alice, charlie):
    sign_in_with_psc(client, provider, alice_claims(alice))
    client.post("/accounts/logout/")
    same_subject = psc_userinfo(charlie.professional.id_nat_ps, sub=alice_claims(alice)["sub"])

    response = sign_in_with_psc(client, provider, same_subject)

    assert response.status_code == 403
    assert signed_in_user_id(client) is None
    [refused] = entries("login.psc_refused")
    assert refused.details["reason"] == "bound_to_other_account"
    assert SocialAccount.objects.get().user_id == alice.pk


def test_binding_does_not_outlive_the_verification(client, provider, alice):
    sign_in_with_psc(client, provider, alice_claims(alice))
    client.post("/accounts/logout/")
    Professional.objects.filter(pk=alice.professional.pk).update(verification=Professional.Verification.REJECTED)

    response = sign_in_with_psc(client, provider, alice_claims(alice))

    assert response.status_code == 403
    assert signed_in_user_id(client) is None
    assert entries("login.psc_refused")[0].details["reason"] == "not_verified"


def test_expired_id_token_is_refused(client, provider, alice):
    provider.set_id_token_lifetime(-60)

    response = sign_in_with_psc(client, provider, alice_claims(alice))

    assert "socialaccount/authentication_error.html" in [t.name for t in response.templates]
    assert signed_in_user_id(client) is None
    assert not SocialAccount.objects.exists()


# --- the second factor after, or without, PSC -----------------------------------------------------
def test_password_sign_in_still_asks_for_the_second_factor(client, provider, alice):
    response = client.post("/accounts/login/", {"login": alice.email, "password": demo.DEMO_PASSWORD})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/authenticate/")
    assert signed_in_user_id(client) is None


def test_an_abandoned_psc_attempt_does_not_vouch_for_a_password_sign_in(client, provider, personas):
    newcomer = User.objects.create_user("nina@cordee.test", demo.DEMO_PASSWORD, kind=User.Kind.PROFESSIONAL)
    EmailAddress.objects.create(user=newcomer, email=newcomer.email, verified=True, primary=True)
    session = client.session
    session[psc.LOGIN_METHOD_SESSION_KEY] = "psc"
    session.save()

    client.post("/accounts/login/", {"login": newcomer.email, "password": demo.DEMO_PASSWORD})

    assert signed_in_user_id(client) == str(newcomer.pk)
    assert client.get("/")["Location"].startswith("/accounts/2fa/totp/activate/")
    assert entries("login.success")[-1].details == {"method": "password"}


def test_login_stages_swap_only_the_second_factor():
    stages = ["allauth.account.stages.EmailVerificationStage", psc.MFA_STAGE, "allauth.mfa.stages.TrustStage"]

    assert psc.login_stages(stages) == [
        "allauth.account.stages.EmailVerificationStage",
        "cordee.accounts.psc.SecondFactorUnlessPscStage",
        "allauth.mfa.stages.TrustStage",
    ]


# --- the login page -------------------------------------------------------------------------------
def test_login_page_offers_psc_when_configured(client, provider):
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en")

    html = response.content.decode()
    assert f'action="{LOGIN_URL}"' in html
    assert "Sign in with Pro Santé Connect" in html
    assert 'name="password"' in html  # allauth's own form stays
    assert "<script>" not in html  # CSP: no inline script


def test_login_page_without_psc(client, db, settings):
    settings.PSC_SERVER_URL = ""

    html = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "/accounts/oidc/psc/login/" not in html
    assert 'name="password"' in html


# --- claims ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "extra_data",
    [
        {"userinfo": psc_userinfo("810000000009"), "id_token": {"sub": psc_userinfo("810000000009")["sub"]}},
        psc_userinfo("810000000009"),  # flat, as allauth < 65.11 stored it
        {"userinfo": {k: v for k, v in psc_userinfo("810000000009").items() if k != "SubjectNameID"}},
        {"userinfo": {"sub": "x", "SubjectRefPro": {}}, "id_token": {"sub": "x", "preferred_username": "810000000009"}},
        {"id_token": {"sub": "x", "SubjectNameID": "810000000009"}},  # fetch_userinfo off
    ],
    ids=["userinfo-and-id-token", "flat", "preferred-username-only", "username-in-id-token", "id-token-only"],
)
def test_claims_from_finds_the_rpps(extra_data):
    assert psc.claims_from(extra_data).rpps == "10000000009"


def test_claims_from_reads_names_and_professions():
    info = psc_userinfo("810000000009", given_name="Alice", family_name="Martin", profession="10")
    info["SubjectRefPro"]["exercices"].append({"codeProfession": "21", "codeCategorieProfessionnelle": "C"})
    info["SubjectRefPro"]["exercices"].append({"codeCategorieProfessionnelle": "C"})  # no profession: skipped

    claims = psc.claims_from({"userinfo": info})

    assert claims == psc.PscClaims(
        rpps="10000000009", given_name="Alice", family_name="Martin", profession_codes=("10", "21")
    )
    assert claims.display_name == "Alice Martin"


@pytest.mark.parametrize(
    ("userinfo", "id_token", "problem"),
    [
        ({"sub": "s", "SubjectNameID": "810000000008"}, {}, "malformed_id"),  # wrong Luhn key
        ({"sub": "s", "SubjectNameID": "10000000009"}, {}, "malformed_id"),  # RPPS without the leading 8
        ({"sub": "s", "SubjectNameID": "ANS20231122132732"}, {}, "malformed_id"),  # a PSC test identity
        ({"sub": "s"}, {}, "malformed_id"),  # nothing at all
        ({"sub": "s", "SubjectNameID": "810000000009", "preferred_username": "810000000025"}, {}, "id_mismatch"),
        ({"sub": "s", "SubjectNameID": "810000000009"}, {"sub": "another"}, "subject_mismatch"),
    ],
)
def test_claims_from_refuses_doubtful_identities(userinfo, id_token, problem):
    claims = psc.claims_from({"userinfo": userinfo, "id_token": id_token})

    assert (claims.rpps, claims.problem) == (None, problem)


@pytest.mark.parametrize("ref_pro", [None, "10", {"exercices": None}, {"exercices": "10"}, {"exercices": [None, "x"]}])
def test_claims_from_tolerates_odd_subject_ref_pro(ref_pro):
    claims = psc.claims_from({"sub": "s", "SubjectNameID": "810000000009", "SubjectRefPro": ref_pro})

    assert (claims.rpps, claims.profession_codes) == ("10000000009", ())
