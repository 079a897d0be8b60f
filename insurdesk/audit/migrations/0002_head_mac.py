from django.db import migrations, models


def sign_the_current_head(apps, schema_editor):
    """Sign the head as it stands at the upgrade: from here on every append signs it again."""
    from insurdesk.audit.services import head_mac

    AuditHead = apps.get_model("audit", "AuditHead")
    for head in AuditHead.objects.using(schema_editor.connection.alias).all():
        head.mac = head_mac(head.seq, head.hash)
        head.save(update_fields=["mac"])


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="audithead",
            name="mac",
            field=models.CharField(default="", max_length=64),
        ),
        migrations.RunPython(sign_the_current_head, migrations.RunPython.noop),
    ]
