"""union index: clusters, memberships, match keys, links, staff decisions

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('clusters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('record_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('format', sa.String(length=16), nullable=True),
    sa.Column('merged', JSONType, nullable=False),
    sa.Column('created_at', Timestamp, nullable=False),
    sa.Column('updated_at', Timestamp, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clusters')),
    )
    op.create_index('ix_clusters_updated', 'clusters', ['updated_at', 'id'])
    op.create_table('cluster_records',
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['records.id'], name=op.f('fk_cluster_records_record_id_records'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_cluster_records_cluster_id_clusters')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_cluster_records_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('record_id', name=op.f('pk_cluster_records')),
    )
    op.create_index(op.f('ix_cluster_records_cluster_id'), 'cluster_records', ['cluster_id'])
    op.create_index(op.f('ix_cluster_records_member_id'), 'cluster_records', ['member_id'])
    op.create_table('match_keys',
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['records.id'], name=op.f('fk_match_keys_record_id_records'), ondelete='CASCADE'),
    )
    op.create_index(op.f('ix_match_keys_record_id'), 'match_keys', ['record_id'])
    op.create_index('ix_match_keys_kind_value', 'match_keys', ['kind', 'value'])
    op.create_table('cluster_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('record_a', sa.Integer(), nullable=False),
    sa.Column('record_b', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('evidence', JSONType, nullable=False),
    sa.Column('created_at', Timestamp, nullable=False),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_cluster_links_cluster_id_clusters')),
    sa.ForeignKeyConstraint(['record_a'], ['records.id'], name=op.f('fk_cluster_links_record_a_records'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['record_b'], ['records.id'], name=op.f('fk_cluster_links_record_b_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cluster_links')),
    )
    op.create_index(op.f('ix_cluster_links_cluster_id'), 'cluster_links', ['cluster_id'])
    op.create_index(op.f('ix_cluster_links_record_a'), 'cluster_links', ['record_a'])
    op.create_index(op.f('ix_cluster_links_record_b'), 'cluster_links', ['record_b'])
    op.create_table('cluster_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('member_a', sa.String(length=64), nullable=False),
    sa.Column('local_id_a', sa.String(length=255), nullable=False),
    sa.Column('member_b', sa.String(length=64), nullable=True),
    sa.Column('local_id_b', sa.String(length=255), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('made_by', sa.String(length=128), nullable=True),
    sa.Column('created_at', Timestamp, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cluster_decisions')),
    )


def downgrade() -> None:
    for table in ('cluster_decisions', 'cluster_links', 'match_keys', 'cluster_records',
                  'clusters'):
        op.drop_table(table)
