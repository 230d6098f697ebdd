"""The web shell as people use it: sign-in with a second factor, MFA set-up, language, phone width, passkeys."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from playwright.sync_api import expect

from cordee.accounts import demo
from cordee.accounts.models import Professional, User
from tests.browser.support import enter_totp, fresh_totp, orm, shoot, sign_in, sign_out

pytestmark = [
    pytest.mark.browser,
    # WhiteNoise 6 serves static files through synchronous iterators, which Django's ASGI handler
    # warns about once per file; harmless here, and not what these tests are about.
    pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators"),
]

HOME = re.compile(r"^http://localhost:\d+/$")


def sign_in_with_totp(page, email: str) -> None:
    sign_in(page, email)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    enter_totp(page, fresh_totp())
    expect(page).to_have_url(HOME)


def test_alice_signs_in_with_password_then_totp(page, browser_issues, alice):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    sign_in(page, alice.email)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    expect(page.locator("input[name=code]")).to_be_visible()
    enter_totp(page, fresh_totp())
    expect(page).to_have_url(HOME)
    expect(page.locator("h1")).to_contain_text("Alice Martin")
    browser_issues.assert_clean()


def _professional_without_second_factor() -> User:
    user = User.objects.create_user(
        "nina@cordee.test", demo.DEMO_PASSWORD, kind=User.Kind.PROFESSIONAL, first_name="Nina", last_name="Nouvelle"
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    Professional.objects.create(user=user, rpps="10000000058", profession_code="10")
    return user


def test_professional_without_second_factor_must_set_up_totp(page, browser_issues):
    nina = orm(_professional_without_second_factor)
    sign_in(page, nina.email)
    setup = re.compile(r"/accounts/2fa/totp/activate/\?required=1$")
    expect(page).to_have_url(setup)
    page.goto("/")  # typing the home page's address does not get around it
    expect(page).to_have_url(setup)

    # No phone to scan the QR code with: read the secret shown under it, as someone typing it would.
    secret = page.locator("#authenticator_secret").input_value()
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret)
    enter_totp(page, fresh_totp(lambda at: format_hotp_value(hotp_value(secret, int(at) // 30))))
    expect(page).not_to_have_url(setup)
    assert orm(lambda: Authenticator.objects.filter(user=nina, type=Authenticator.Type.TOTP).exists())
    page.goto("/")
    expect(page).to_have_url(HOME)
    expect(page.locator("h1")).to_contain_text("Nina Nouvelle")
    browser_issues.assert_clean()


def test_language_switch_from_french_to_english(page, browser_issues, alice):
    page.goto("/accounts/login/")
    footer = page.locator("footer")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(footer).to_contain_text("l'espace de travail sécurisé des professionnels de santé")
    expect(footer).to_be_visible()
    page.locator("#lang-select").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "fr")  # choosing is not applying (WCAG 3.2.2)
    page.get_by_role("button", name="Appliquer").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(footer).to_contain_text("the secure workspace of health professionals")
    expect(page.locator("h1")).to_have_text(re.compile(r"^\s*Sign In\s*$"))
    expect(page.locator("#lang-select option:checked")).to_have_text("English")
    browser_issues.assert_clean()


def test_phone_width_has_no_horizontal_scroll_and_the_drawer_works_by_keyboard(page, browser_issues, alice):
    page.set_viewport_size({"width": 375, "height": 480})  # a small phone: the drawer is taller than the screen
    sign_in_with_totp(page, alice.email)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
    expect(page.locator(".sidenav")).to_be_hidden()  # the tab bar instead
    tabbar = page.get_by_role("navigation", name="Navigation rapide")
    expect(tabbar.get_by_role("link", name="Messagerie")).to_be_visible()

    toggle = tabbar.get_by_role("button", name="Menu")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    drawer = page.get_by_role("navigation", name="Navigation principale")
    links = drawer.get_by_role("link")
    expect(links.first).to_be_focused()  # the drawer opens with focus on its first link
    assert links.count() >= 5
    for index in range(1, links.count()):
        page.keyboard.press("Tab")
        expect(links.nth(index)).to_be_focused()
        expect(links.nth(index)).to_be_in_viewport()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
    page.keyboard.press("Escape")  # closes it, focus back on its button
    expect(drawer).to_be_hidden()
    expect(toggle).to_be_focused()
    page.keyboard.press("Enter")
    expect(links.first).to_be_focused()
    page.keyboard.press("Enter")  # follows the focused link
    expect(page).to_have_url(HOME)
    browser_issues.assert_clean()


@pytest.mark.parametrize("width", [375, 1280])
def test_screenshots_of_the_main_pages(page, browser_issues, alice, width):
    """Pictures for people to look at (test-artifacts/screenshots/), and what a picture would show."""
    page.set_viewport_size({"width": width, "height": 800})
    page.goto("/accounts/login/")
    shoot(page, f"login-{width}")
    sign_in_with_totp(page, alice.email)
    shoot(page, f"home-{width}")
    page.locator("details.user-menu summary").click()
    shoot(page, f"home-menu-{width}")
    page.goto("/accounts/2fa/")
    shoot(page, f"mfa-{width}")
    nina = orm(_professional_without_second_factor)
    sign_out(page)
    sign_in(page, nina.email)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/"))
    shoot(page, f"mfa-setup-{width}")
    # On a phone there is no QR code to scan: the secret must be readable whole.
    assert page.locator("#authenticator_secret").evaluate("input => input.scrollWidth <= input.clientWidth")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    browser_issues.assert_clean()


def test_alice_adds_a_passkey_then_signs_in_with_it(page, browser_issues, alice):
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )["authenticatorId"]
    sign_in_with_totp(page, alice.email)

    page.goto("/accounts/2fa/")
    page.locator("a[href$='/accounts/2fa/webauthn/add/']").click()
    page.locator("input[name=name]").fill("Téléphone d'Alice")
    page.locator("input[name=passwordless]").check()
    page.locator("#mfa_webauthn_add").click()
    expect(page).not_to_have_url(re.compile(r"/webauthn/add/"))
    passkey = orm(lambda: Authenticator.objects.get(user=alice, type=Authenticator.Type.WEBAUTHN))
    assert passkey.wrap().name == "Téléphone d'Alice"
    assert passkey.wrap().is_passwordless
    (credential,) = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert credential["isResidentCredential"]

    # The passkey alone signs her in: no password, no TOTP code.
    sign_out(page)
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.locator("#passkey_login").click()
    expect(page).to_have_url(HOME)
    expect(page.locator("h1")).to_contain_text("Alice Martin")
    browser_issues.assert_clean()
