"""e-resources (KBART titles, licences), service status periods, emergencies, access links,
copyright entries, emergency temporary access checkouts

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def _member_fk(table: str, column: str = 'member_id') -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], ['members.id'],
                                   name=op.f(f'fk_{table}_{column}_members'), ondelete='CASCADE')


def upgrade() -> None:
    op.add_column('members', sa.Column('policy', JSONType, nullable=True))
    op.create_table('member_status_periods',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('set_by', sa.String(length=128), nullable=True),
    sa.Column('created_at', Timestamp, nullable=False),
    _member_fk('member_status_periods'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_status_periods')),
    )
    op.create_index(op.f('ix_member_status_periods_member_id'), 'member_status_periods', ['member_id'])
    op.create_table('emergencies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('declared_by', sa.String(length=128), nullable=True),
    sa.Column('declared_at', Timestamp, nullable=False),
    sa.Column('ended_at', Timestamp, nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emergencies')),
    )
    op.create_table('eresource_titles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('package', sa.String(length=255), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('publication_type', sa.String(length=16), nullable=False),
    sa.Column('coverage', JSONType, nullable=False),
    sa.Column('title_url', sa.Text(), nullable=True),
    sa.Column('line', sa.Integer(), nullable=True),
    sa.Column('loaded_at', Timestamp, nullable=False),
    _member_fk('eresource_titles'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eresource_titles')),
    )
    op.create_index(op.f('ix_eresource_titles_member_id'), 'eresource_titles', ['member_id'])
    op.create_index('ix_eresource_titles_member_package', 'eresource_titles', ['member_id', 'package'])
    op.create_table('eresource_identifiers',
    sa.Column('title_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['title_id'], ['eresource_titles.id'], name=op.f('fk_eresource_identifiers_title_id_eresource_titles'), ondelete='CASCADE'),
    )
    op.create_index(op.f('ix_eresource_identifiers_title_id'), 'eresource_identifiers', ['title_id'])
    op.create_index(op.f('ix_eresource_identifiers_value'), 'eresource_identifiers', ['value'])
    op.create_table('licences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('package', sa.String(length=255), nullable=True),
    sa.Column('title_identifier', sa.String(length=32), nullable=True),
    sa.Column('terms', JSONType, nullable=False),
    sa.Column('emergency_from', sa.Date(), nullable=True),
    sa.Column('emergency_until', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('loaded_at', Timestamp, nullable=False),
    _member_fk('licences'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_licences')),
    )
    op.create_index(op.f('ix_licences_member_id'), 'licences', ['member_id'])
    op.create_table('access_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('link_id', sa.String(length=32), nullable=False),
    sa.Column('lender_id', sa.Integer(), nullable=False),
    sa.Column('borrower_id', sa.Integer(), nullable=False),
    sa.Column('request_ref', sa.String(length=128), nullable=True),
    sa.Column('file_path', sa.Text(), nullable=True),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('filename', sa.Text(), nullable=True),
    sa.Column('content_type', sa.String(length=128), nullable=True),
    sa.Column('max_views', sa.Integer(), nullable=False),
    sa.Column('views', sa.Integer(), server_default='0', nullable=False),
    sa.Column('expires_at', Timestamp, nullable=False),
    sa.Column('created_at', Timestamp, nullable=False),
    sa.Column('purged_at', Timestamp, nullable=True),
    _member_fk('access_links', 'lender_id'),
    _member_fk('access_links', 'borrower_id'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_links')),
    sa.UniqueConstraint('link_id', name=op.f('uq_access_links_link_id')),
    )
    op.create_index(op.f('ix_access_links_borrower_id'), 'access_links', ['borrower_id'])
    op.create_table('copyright_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('borrower_id', sa.Integer(), nullable=False),
    sa.Column('title_key', sa.String(length=255), nullable=False),
    sa.Column('journal_title', sa.Text(), nullable=True),
    sa.Column('request_year', sa.Integer(), nullable=False),
    sa.Column('published_year', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=4), nullable=False),
    sa.Column('ordinal', sa.Integer(), nullable=True),
    sa.Column('needs_decision', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('request_ref', sa.String(length=128), nullable=True),
    sa.Column('created_at', Timestamp, nullable=False),
    _member_fk('copyright_entries', 'borrower_id'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_copyright_entries')),
    )
    op.create_index('ix_copyright_borrower_title_year', 'copyright_entries',
                    ['borrower_id', 'title_key', 'request_year'])
    op.create_table('digitized_records',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('local_id', sa.String(length=255), nullable=False),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('added_at', Timestamp, nullable=False),
    _member_fk('digitized_records'),
    sa.PrimaryKeyConstraint('member_id', 'local_id', name=op.f('pk_digitized_records')),
    )
    op.create_table('etas_checkouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('reader', sa.String(length=255), nullable=False),
    sa.Column('digital_member_id', sa.Integer(), nullable=True),
    sa.Column('started_at', Timestamp, nullable=False),
    sa.Column('expires_at', Timestamp, nullable=False),
    sa.Column('ended_at', Timestamp, nullable=True),
    sa.Column('live', sa.Boolean(), nullable=True),
    _member_fk('etas_checkouts'),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_etas_checkouts_cluster_id_clusters')),
    sa.ForeignKeyConstraint(['digital_member_id'], ['members.id'], name=op.f('fk_etas_checkouts_digital_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_etas_checkouts')),
    )
    op.create_index('uq_etas_live_slot', 'etas_checkouts',
                    ['member_id', 'cluster_id', 'slot', 'live'], unique=True)


def downgrade() -> None:
    for table in ('etas_checkouts', 'digitized_records', 'copyright_entries', 'access_links', 'licences',
                  'eresource_identifiers', 'eresource_titles', 'emergencies',
                  'member_status_periods'):
        op.drop_table(table)
    with op.batch_alter_table('members') as batch_op:
        batch_op.drop_column('policy')
