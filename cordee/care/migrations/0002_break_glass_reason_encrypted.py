# The break-the-glass reason may describe the patient's condition: encrypted at rest with the
# patient's data key (cordee.vault). Expand (an encrypted column next to the clear one), fill
# (encrypt every existing reason), contract (drop the clear column). Reversible.

import cordee.vault.fields
from django.db import migrations, models


def encrypt_reasons(apps, schema_editor):
    Grant = apps.get_model('care', 'BreakGlassGrant')
    for grant in Grant.objects.select_related('patient').order_by('pk'):
        grant.reason = grant.reason_clear or ''
        grant.save(update_fields=['reason'])


def decrypt_reasons(apps, schema_editor):
    Grant = apps.get_model('care', 'BreakGlassGrant')
    for grant in Grant.objects.select_related('patient').order_by('pk'):
        grant.reason_clear = grant.reason
        grant.save(update_fields=['reason_clear'])


class Migration(migrations.Migration):

    dependencies = [
        ('care', '0001_care_team_oppositions_break_glass'),
        ('accounts', '0003_patient_encrypted_identity'),
        ('vault', '0001_datakeys_and_blobs'),
    ]

    operations = [
        migrations.RenameField('breakglassgrant', 'reason', 'reason_clear'),
        migrations.AlterField('breakglassgrant', 'reason_clear', models.TextField(null=True)),
        migrations.AddField('breakglassgrant', 'reason', cordee.vault.fields.EncryptedTextField(null=True, owner='patient')),
        migrations.RunPython(encrypt_reasons, decrypt_reasons),
        migrations.RemoveField('breakglassgrant', 'reason_clear'),
        migrations.AlterField('breakglassgrant', 'reason', cordee.vault.fields.EncryptedTextField(owner='patient')),
    ]
