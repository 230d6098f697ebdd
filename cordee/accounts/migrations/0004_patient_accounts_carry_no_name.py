"""Patient accounts carry no name: it lives only in the patient's encrypted identity (issue 10).

Audit entries written before this keep their display copies (the chain seals them); the retention
purge blanks them in time (docs/security.md, "What a theft reveals").
"""

from django.db import migrations


def blank_patient_names(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    User.objects.filter(kind="patient").exclude(first_name="", last_name="").update(first_name="", last_name="")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_patient_encrypted_identity")]

    operations = [migrations.RunPython(blank_patient_names, migrations.RunPython.noop)]
