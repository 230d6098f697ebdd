# Patient identity encrypted at rest (cordee.vault): expand (new encrypted columns next to the clear
# ones), fill (encrypt every existing row with its own data key), contract (drop the clear columns).
# Reversible: going back decrypts into clear columns again (not for crypto-shredded patients).

import uuid

import cordee.accounts.identifiers
import cordee.vault.fields
from django.db import migrations, models

# (name, clear field while migrating, encrypted field while migrating)
CLEAR = {
    'ins': models.CharField(blank=True, max_length=15, null=True),
    'birth_name': models.CharField(max_length=100, null=True),
    'birth_given_names': models.CharField(max_length=200, null=True),
    'used_name': models.CharField(blank=True, max_length=100, null=True),
    'used_given_name': models.CharField(blank=True, max_length=100, null=True),
    'birth_date': models.DateField(null=True),
    'birth_place_code': models.CharField(max_length=5, null=True),
}


def encrypted_fields(*, null):
    return {
        'ins': cordee.vault.fields.EncryptedCharField(blank=True, max_length=15, null=null, validators=[cordee.accounts.identifiers.ins_validator], verbose_name='INS number (NIR or NIA)'),
        'birth_name': cordee.vault.fields.EncryptedCharField(max_length=100, null=null, verbose_name='birth name'),
        'birth_given_names': cordee.vault.fields.EncryptedCharField(max_length=200, null=null, verbose_name='birth given names'),
        'used_name': cordee.vault.fields.EncryptedCharField(blank=True, max_length=100, null=null, verbose_name='used name'),
        'used_given_name': cordee.vault.fields.EncryptedCharField(blank=True, max_length=100, null=null, verbose_name='used given name'),
        'birth_date': cordee.vault.fields.EncryptedDateField(null=null, verbose_name='birth date'),
        'birth_place_code': cordee.vault.fields.EncryptedCharField(max_length=5, null=null, verbose_name='INSEE code of the birth place'),
        'address': cordee.vault.fields.EncryptedTextField(blank=True, max_length=500, null=null, verbose_name='address'),
    }


def encrypt_identities(apps, schema_editor):
    Patient = apps.get_model('accounts', 'Patient')
    for pk in Patient.objects.order_by('pk').values_list('pk', flat=True):
        patient = Patient.objects.get(pk=pk)
        patient.vault_id = uuid.uuid4()
        for name in CLEAR:
            setattr(patient, name, getattr(patient, f'{name}_clear') or '')
        patient.address = ''
        patient.save()  # the encrypted fields seal with the patient's data key, indexes are computed


def decrypt_identities(apps, schema_editor):
    Patient = apps.get_model('accounts', 'Patient')
    for pk in Patient.objects.order_by('pk').values_list('pk', flat=True):
        patient = Patient.objects.get(pk=pk)
        for name in CLEAR:
            setattr(patient, f'{name}_clear', getattr(patient, name))
        patient.save(update_fields=[f'{name}_clear' for name in CLEAR])


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_annuaire'),
        ('vault', '0001_datakeys_and_blobs'),
    ]

    operations = [
        *[migrations.RenameField('patient', name, f'{name}_clear') for name in CLEAR],
        *[migrations.AlterField('patient', f'{name}_clear', field) for name, field in CLEAR.items()],
        migrations.AddField('patient', 'vault_id', models.UUIDField(editable=False, null=True)),
        *[migrations.AddField('patient', name, field) for name, field in encrypted_fields(null=True).items()],
        migrations.AddField('patient', 'ins_index', cordee.vault.fields.BlindIndexField(blank=True, db_index=True, default='', max_length=64, purpose='patient.ins', sources=('ins',))),
        migrations.AddField('patient', 'birth_index', cordee.vault.fields.BlindIndexField(blank=True, db_index=True, default='', max_length=64, purpose='patient.birth_name+birth_date', sources=('birth_name', 'birth_date'))),
        migrations.RunPython(encrypt_identities, decrypt_identities),
        *[migrations.RemoveField('patient', f'{name}_clear') for name in CLEAR],
        migrations.AlterField('patient', 'vault_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
        *[migrations.AlterField('patient', name, field) for name, field in encrypted_fields(null=False).items()],
    ]
