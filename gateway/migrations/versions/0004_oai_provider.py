"""OAI-PMH provider: shared gateway secrets (token key) and the sets of each cluster

Revision ID: 0004
Revises: 0003 (the integrator rechains it after 0003)
"""

from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('gateway_secrets',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('created_at', Timestamp, nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_gateway_secrets')),
    )
    op.create_table('cluster_sets',
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('set_spec', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_cluster_sets_cluster_id_clusters'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('cluster_id', 'set_spec', name=op.f('pk_cluster_sets')),
    )
    op.create_index('ix_cluster_sets_spec', 'cluster_sets', ['set_spec', 'cluster_id'])


def downgrade() -> None:
    op.drop_index('ix_cluster_sets_spec', table_name='cluster_sets')
    op.drop_table('cluster_sets')
    op.drop_table('gateway_secrets')
