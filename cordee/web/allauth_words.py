"""allauth's words for passkeys, so that Cordée's catalogue can say them one way.

allauth's French catalogue calls a WebAuthn credential now "clé de sécurité", now "clé d'accès".
Cordée's catalogue (``LOCALE_PATHS``, read before the apps' own) translates each of the msgids
below with the single word "clé d'accès". They are listed here only so that ``makemessages``
keeps them in Cordée's catalogue; nothing calls this module.
"""

from django.utils.translation import gettext_noop, ngettext_lazy

ALLAUTH_PASSKEY_WORDS = (
    gettext_noop("Use a security key"),
    gettext_noop("Sign in with a passkey"),
    gettext_noop("Sign up using a passkey"),
    gettext_noop("Passkey Sign Up"),
    gettext_noop("A new security key has been added."),
    gettext_noop("Security Key Added"),
    gettext_noop("A security key has been removed."),
    gettext_noop("Security Key Removed"),
    gettext_noop("Security Keys"),
    ngettext_lazy("You have added %(count)s security key.", "You have added %(count)s security keys.", "count"),
    gettext_noop("No security keys have been added."),
    gettext_noop("Security key added."),
    gettext_noop("Security key removed."),
    gettext_noop("Add Security Key"),
    gettext_noop("Remove Security Key"),
    gettext_noop("Are you sure you want to remove this security key?"),
    gettext_noop("Passkey"),
    gettext_noop("Security key"),
    gettext_noop("This key does not indicate whether it is a passkey."),
    gettext_noop("Edit Security Key"),
    gettext_noop("Create Passkey"),
    gettext_noop(
        "You are about to create a passkey for your account. As you can add additional keys later on, "
        "you can use a descriptive name to tell the keys apart."
    ),
)
