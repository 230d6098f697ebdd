"""Who is who in Cordée: users, structures, professionals, staff, patients, invitations.

Models stay thin: state changes go through ``services.py`` (``do_*``), which audits them.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cordee.accounts import identifiers
from cordee.accounts.professions import PROFESSION_CHOICES, profession_label
from cordee.vault import models as vault
from cordee.vault.errors import VaultError


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("an e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True, kind=User.Kind.STAFF)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """An account. ``kind`` says which profile it has (professional, staff or patient)."""

    class Kind(models.TextChoices):
        PROFESSIONAL = "professional", _("Health professional")
        STAFF = "staff", _("Staff")
        PATIENT = "patient", _("Patient")

    username = None  # type: ignore[assignment,misc]  # the e-mail is the login
    email = models.EmailField(_("e-mail address"), unique=True)
    kind = models.CharField(_("kind of account"), max_length=16, choices=Kind.choices, default=Kind.PATIENT)
    modules = models.JSONField(_("chosen modules"), default=list, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []  # type: ignore[misc]  # the e-mail (USERNAME_FIELD) is the only one
    objects = UserManager()  # type: ignore[assignment,misc]  # e-mail based manager

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name to show. A patient's is read from their encrypted identity (``Patient``): the
        user row of a patient account carries no name, so a stolen database does not say who is a
        patient here. Professionals' and staff's names stay in clear (public in the RPPS directory)."""
        if self.kind == self.Kind.PATIENT:
            return patient_display_name(self)
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email

    @property
    def mfa_mandatory(self) -> bool:
        """Professionals and staff may not skip MFA; it is offered to patients."""
        return self.kind in (self.Kind.PROFESSIONAL, self.Kind.STAFF)


class Structure(models.Model):
    class Kind(models.TextChoices):
        CABINET = "cabinet", _("Practice (cabinet)")
        MAISON_SANTE = "maison_sante", _("Health centre (maison / centre de santé)")
        HOPITAL = "hopital", _("Hospital or clinic")
        LABORATOIRE = "laboratoire", _("Medical laboratory")
        PHARMACIE = "pharmacie", _("Pharmacy")
        EHPAD = "ehpad", _("Nursing home (EHPAD)")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    finess = models.CharField(
        _("FINESS number"), max_length=9, blank=True, null=True, unique=True, validators=[identifiers.finess_validator]
    )
    siret = models.CharField(
        _("SIRET number"), max_length=14, blank=True, null=True, unique=True, validators=[identifiers.siret_validator]
    )
    # Printed on every prescription (CSP R.5132-3: the prescriber's address and telephone).
    street = models.CharField(_("street address"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=5, blank=True, validators=[identifiers.postcode_validator])
    city = models.CharField(_("city"), max_length=100, blank=True)
    telephone = models.CharField(_("telephone"), max_length=14, blank=True, validators=[identifiers.phone_fr_validator])
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("structure")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def address_lines(self) -> list[str]:
        """The postal address as printed: the street, then the postcode and city (empty parts left out)."""
        town = f"{self.postcode} {self.city}".strip()
        return [part for part in (self.street.strip(), town) if part]


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", _("Administrator")
        MEMBER = "member", _("Member")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    structure = models.ForeignKey(Structure, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    security_officer = models.BooleanField(_("security officer"), default=False)
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "structure"], name="membership_unique_user_structure")]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.structure_id}:{self.role}"


class Professional(models.Model):
    """A health professional, identified by RPPS; must be verified to open patient data or prescribe."""

    class Verification(models.TextChoices):
        UNVERIFIED = "unverified", _("Not verified")
        VERIFIED = "verified", _("Verified (Annuaire Santé)")
        REJECTED = "rejected", _("Rejected")

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="professional")
    rpps = models.CharField(_("RPPS number"), max_length=11, unique=True, validators=[identifiers.rpps_validator])
    profession_code = models.CharField(_("profession"), max_length=2, choices=PROFESSION_CHOICES)
    specialty = models.CharField(_("specialty"), max_length=120, blank=True)
    verification = models.CharField(max_length=12, choices=Verification.choices, default=Verification.UNVERIFIED)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by_id = models.BigIntegerField(null=True, blank=True)  # id copy: the verifier may leave
    verification_source = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.user.display_name} (RPPS {self.rpps})"

    @property
    def id_nat_ps(self) -> str:
        return "8" + self.rpps

    @property
    def profession_label(self) -> str:
        return profession_label(self.profession_code)

    @property
    def is_verified(self) -> bool:
        return self.verification == self.Verification.VERIFIED


class Staff(models.Model):
    """Secretaries, reception staff and clinical research associates act for named professionals."""

    class Function(models.TextChoices):
        SECRETARY = "secretary", _("Medical secretary")
        RECEPTION = "reception", _("Reception")
        CRA = "cra", _("Clinical research associate")
        ADMINISTRATION = "administration", _("Administration")

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="staff")
    function = models.CharField(_("function"), max_length=16, choices=Function.choices)
    acts_for = models.ManyToManyField(Professional, blank=True, related_name="assistants", verbose_name=_("acts for"))

    def __str__(self) -> str:
        return f"{self.user.display_name} ({self.get_function_display()})"


class Patient(vault.VaultOwner):
    """A patient and the INS identity (matricule + 5 strict traits).

    Identity data is stored encrypted with the patient's own data key (``cordee.vault``): names,
    INS, birth date, birth place and address. Sex and identity status stay in clear: three and four
    possible values that identify nobody alone, and the care workflow filters on the status.
    Exact look-ups (by INS; by birth name + birth date) use the blind indexes, through
    ``accounts.services.find_patients_by_ins`` / ``find_patients_by_name_and_birth_date``.
    """

    class IdentityStatus(models.TextChoices):
        PROVISOIRE = "provisoire", _("Provisional")
        RECUPEREE = "recuperee", _("Retrieved (INSi)")
        VALIDEE = "validee", _("Validated (identity document)")
        QUALIFIEE = "qualifiee", _("Qualified")

    class Sex(models.TextChoices):
        FEMALE = "F", _("Female")
        MALE = "M", _("Male")
        UNKNOWN = "I", _("Undetermined")

    user = models.OneToOneField(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="patient")
    ins = vault.EncryptedCharField(
        _("INS number (NIR or NIA)"), max_length=15, blank=True, validators=[identifiers.ins_validator]
    )
    birth_name = vault.EncryptedCharField(_("birth name"), max_length=100)
    birth_given_names = vault.EncryptedCharField(_("birth given names"), max_length=200)
    used_name = vault.EncryptedCharField(_("used name"), max_length=100, blank=True)
    used_given_name = vault.EncryptedCharField(_("used given name"), max_length=100, blank=True)
    birth_date = vault.EncryptedDateField(_("birth date"))
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    birth_place_code = vault.EncryptedCharField(_("INSEE code of the birth place"), max_length=5)
    address = vault.EncryptedTextField(_("address"), max_length=500, blank=True)
    identity_status = models.CharField(max_length=10, choices=IdentityStatus.choices, default=IdentityStatus.PROVISOIRE)
    created_at = models.DateTimeField(default=timezone.now)
    ins_index = vault.BlindIndexField(purpose="patient.ins", sources=("ins",))
    birth_index = vault.BlindIndexField(purpose="patient.birth_name+birth_date", sources=("birth_name", "birth_date"))

    def __str__(self) -> str:
        return f"patient #{self.pk}"

    @property
    def vault_patient_id(self) -> int | None:
        return self.pk

    @property
    def display_name(self) -> str:
        """The name used today: used given name (else the first birth given name) and used name
        (else birth name). Decrypted: raises ``VaultError`` once the patient's data were erased."""
        given = self.used_given_name or self.first_birth_given_name
        return f"{given} {self.used_name or self.birth_name}".strip()

    @property
    def first_birth_given_name(self) -> str:
        return self.birth_given_names.split(" ")[0] if self.birth_given_names else ""

    @property
    def ins_oid(self) -> str:
        return identifiers.ins_oid(self.ins) if self.ins else ""


_PATIENT_NAME_CACHE = "_cordee_patient_name"


def patient_display_name(user: User) -> str:
    """A patient account's name, decrypted from its identity (cached on the instance)."""
    cached = user.__dict__.get(_PATIENT_NAME_CACHE)
    if cached is None:
        try:
            cached = user.patient.display_name or str(_("Patient"))
        except Patient.DoesNotExist:
            cached = str(_("Patient"))  # an account whose identity is not linked (yet)
        except VaultError:
            cached = str(_("erased patient"))
        user.__dict__[_PATIENT_NAME_CACHE] = cached
    return cached


class Invitation(models.Model):
    """An invitation by a structure admin, or by a professional of a patient's care team for that
    patient (``patient``); only the token's hash is stored, it expires."""

    structure = models.ForeignKey(Structure, on_delete=models.CASCADE, related_name="invitations")
    # Set when the invitation is for a registered patient: the account created from it is theirs.
    patient = models.ForeignKey(
        "accounts.Patient", on_delete=models.CASCADE, null=True, blank=True, related_name="invitations"
    )
    email = models.EmailField()
    kind = models.CharField(max_length=16, choices=User.Kind.choices)
    role = models.CharField(max_length=10, choices=Membership.Role.choices, default=Membership.Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"invitation #{self.pk} to {self.structure_id}"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class LoginFailure(models.Model):
    """One failed login, kept to throttle and lock accounts (works on SQLite and across processes)."""

    email = models.CharField(max_length=254, db_index=True)
    ip = models.GenericIPAddressField(null=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"failure {self.email} {self.at:%Y-%m-%d %H:%M}"


class AccountLock(models.Model):
    email = models.CharField(max_length=254, unique=True)
    locked_until = models.DateTimeField()

    def __str__(self) -> str:
        return f"lock {self.email} until {self.locked_until:%Y-%m-%d %H:%M}"


from cordee.accounts.annuaire.models import AnnuaireEntry, AnnuaireImport  # noqa: E402, F401  # Django finds models here
