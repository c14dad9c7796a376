"""Offer mode (issue 14): the city's allocation mode and its settings, ranked choices, offers, the pause, the
`offered` place state and event, the allocation section of a protocol, and each run's inputs document (append-only
on PostgreSQL by the trigger of migration 0002)."""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models



def allocation_run_append_only(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE TRIGGER placement_allocationrun_append_only BEFORE UPDATE OR DELETE ON placement_allocationrun "
        "FOR EACH ROW EXECUTE FUNCTION indigo_refuse_change()",
        None,
    )


def allocation_run_append_only_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP TRIGGER IF EXISTS placement_allocationrun_append_only ON placement_allocationrun")


class Migration(migrations.Migration):

    dependencies = [
        ('placement', '0008_retiming'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='application',
            name='any_other',
            field=models.BooleanField(db_default=False, default=False, help_text='Offer any other matching place when none of the chosen kindergartens has one.', verbose_name='any other matching place'),
        ),
        migrations.AddField(
            model_name='application',
            name='paused_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='paused at'),
        ),
        migrations.AddField(
            model_name='application',
            name='resumed_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='resumed by the parent at'),
        ),
        migrations.AddField(
            model_name='city',
            name='allocation_mode',
            field=models.CharField(choices=[('claim', 'Claim: the head of the queue takes a place'), ('offer', 'Offer: the 18:00 run offers places by ranked choices')], default='claim', help_text='Claim mode: parents take places themselves. Offer mode: the 18:00 run offers them.', max_length=8, verbose_name='allocation mode'),
        ),
        migrations.AddField(
            model_name='city',
            name='choices_max',
            field=models.PositiveSmallIntegerField(default=5, help_text='In offer mode, how many ranked kindergartens an application may name.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(20)], verbose_name='kindergartens an application may choose'),
        ),
        migrations.AddField(
            model_name='city',
            name='offer_working_days',
            field=models.PositiveSmallIntegerField(default=2, help_text='An offer holds its place until 18:00 of this counted working day.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(10)], verbose_name='working days to answer an offer'),
        ),
        migrations.AddField(
            model_name='protocol',
            name='allocation',
            field=models.JSONField(blank=True, default=list, verbose_name='allocation'),
        ),
        migrations.AddField(
            model_name='protocol',
            name='inputs_sha256',
            field=models.CharField(blank=True, max_length=64, verbose_name="SHA-256 of the allocation's inputs"),
        ),
        migrations.AlterField(
            model_name='place',
            name='state',
            field=models.CharField(choices=[('scheduled', 'Scheduled'), ('priority', 'Priority access'), ('general', 'General access'), ('offered', 'Offered'), ('taken', 'Taken (referral issued)'), ('enrolled', 'Enrolled'), ('withdrawn', 'Withdrawn')], max_length=16, verbose_name='state'),
        ),
        migrations.AlterField(
            model_name='placeevent',
            name='kind',
            field=models.CharField(choices=[('released', 'Released'), ('scheduled', 'Scheduled for its summer window'), ('to_priority', 'Entered priority access'), ('to_general', 'Moved to general access'), ('withdrawn', 'Withdrawn'), ('offered', 'Offered'), ('taken', 'Taken'), ('returned', 'Returned'), ('enrolled', 'Enrolled'), ('retimed', 'Re-timed')], max_length=16, verbose_name='event'),
        ),
        migrations.CreateModel(
            name='AllocationRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField(verbose_name='protocol day')),
                ('made_at', models.DateTimeField(verbose_name='made at')),
                ('inputs', models.JSONField(verbose_name='inputs document')),
                ('inputs_sha256', models.CharField(max_length=64, verbose_name='SHA-256 of the inputs')),
                ('city', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='allocation_runs', to='placement.city', verbose_name='city')),
            ],
            options={
                'verbose_name': 'allocation run',
                'verbose_name_plural': 'allocation runs',
                'ordering': ['city', '-day'],
                'constraints': [models.UniqueConstraint(fields=('city', 'day'), name='allocation_run_one_per_city_and_day')],
            },
        ),
        migrations.CreateModel(
            name='ApplicationChoice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('rank', models.PositiveSmallIntegerField(verbose_name='rank')),
                ('application', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='choices', to='placement.application', verbose_name='application')),
                ('kindergarten', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='placement.kindergarten', verbose_name='kindergarten')),
            ],
            options={
                'verbose_name': 'kindergarten choice',
                'verbose_name_plural': 'kindergarten choices',
                'ordering': ['application', 'rank'],
                'constraints': [models.UniqueConstraint(fields=('application', 'rank'), name='choice_one_per_rank'), models.UniqueConstraint(fields=('application', 'kindergarten'), name='choice_kindergarten_once')],
            },
        ),
        migrations.CreateModel(
            name='Offer',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('rank', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='rank of the kindergarten in the choices')),
                ('queue_position', models.PositiveIntegerField(verbose_name='queue position at the run')),
                ('made_at', models.DateTimeField(verbose_name='made at')),
                ('valid_until', models.DateTimeField(verbose_name='valid until')),
                ('state', models.CharField(choices=[('live', 'Waiting for an answer'), ('accepted', 'Accepted'), ('declined', 'Declined'), ('expired', 'Expired')], default='live', max_length=16, verbose_name='state')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='decided at')),
                ('close_reason', models.CharField(blank=True, max_length=500, verbose_name='reason')),
                ('protocol_day', models.DateField(verbose_name='protocol day')),
                ('application', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='offers', to='placement.application', verbose_name='application')),
                ('kindergarten', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='offers', to='placement.kindergarten', verbose_name='kindergarten')),
                ('parent', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='offers', to=settings.AUTH_USER_MODEL, verbose_name='parent')),
                ('place', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='offers', to='placement.place', verbose_name='place')),
                ('referral', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='offer', to='placement.referral', verbose_name='referral')),
            ],
            options={
                'verbose_name': 'offer',
                'verbose_name_plural': 'offers',
                'ordering': ['-made_at', 'pk'],
                'indexes': [models.Index(fields=['state', 'valid_until'], name='offer_state_valid')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('state', 'live')), fields=('place',), name='offer_one_live_per_place'), models.UniqueConstraint(condition=models.Q(('state', 'live')), fields=('application',), name='offer_one_live_per_application'), models.CheckConstraint(condition=models.Q(('state', 'live'), ('decided_at__isnull', False), _connector='OR'), name='offer_decided_has_time'), models.CheckConstraint(condition=models.Q(models.Q(('state', 'accepted'), _negated=True), ('referral__isnull', False), _connector='OR'), name='offer_accepted_has_referral')],
            },
        ),
        migrations.RunPython(allocation_run_append_only, allocation_run_append_only_drop, elidable=False),
    ]
