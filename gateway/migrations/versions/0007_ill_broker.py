"""ILL broker: requests, rotas, message audit, webhooks

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str, ondelete: str | None = 'CASCADE'
        ) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f'{target}.id'],
                                   name=op.f(f'fk_{table}_{column}_{target}'), ondelete=ondelete)


def upgrade() -> None:
    op.create_table('ill_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=True),
    sa.Column('service_type', sa.String(length=8), nullable=False),
    sa.Column('citation', JSONType, nullable=False),
    sa.Column('item_key', sa.String(length=255), nullable=False),
    sa.Column('patron_ref', sa.String(length=255), nullable=True),
    sa.Column('needed_by', sa.Date(), nullable=True),
    sa.Column('accept_print', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('holds', JSONType, nullable=False),
    sa.Column('position', sa.Integer(), server_default='0', nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=True),
    sa.Column('txn', JSONType, nullable=False),
    sa.Column('excluded', JSONType, nullable=False),
    sa.Column('conditions', JSONType, nullable=True),
    sa.Column('deadline_at', Timestamp, nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', Timestamp, nullable=False),
    sa.Column('updated_at', Timestamp, nullable=False),
    _fk('ill_requests', 'requester_id', 'members'),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'],
                            name=op.f('fk_ill_requests_cluster_id_clusters')),
    _fk('ill_requests', 'supplier_id', 'members', 'SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ill_requests')),
    sa.UniqueConstraint('requester_id', 'ref', name='uq_ill_requests_requester_ref'),
    )
    op.create_index(op.f('ix_ill_requests_requester_id'), 'ill_requests', ['requester_id'])
    op.create_index(op.f('ix_ill_requests_supplier_id'), 'ill_requests', ['supplier_id'])
    op.create_index('ix_ill_requests_state_deadline', 'ill_requests', ['state', 'deadline_at'])
    op.create_table('ill_rota',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('term', sa.Text(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('sent_at', Timestamp, nullable=True),
    sa.Column('answered_at', Timestamp, nullable=True),
    _fk('ill_rota', 'request_id', 'ill_requests'),
    _fk('ill_rota', 'member_id', 'members'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ill_rota')),
    sa.UniqueConstraint('request_id', 'position', name='uq_ill_rota_request_position'),
    )
    op.create_index(op.f('ix_ill_rota_member_id'), 'ill_rota', ['member_id'])
    op.create_table('ill_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=48), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('raw', sa.Text(), nullable=True),
    sa.Column('parsed', JSONType, nullable=True),
    sa.Column('signature', sa.Text(), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('created_at', Timestamp, nullable=False),
    _fk('ill_messages', 'request_id', 'ill_requests'),
    _fk('ill_messages', 'member_id', 'members', 'SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ill_messages')),
    )
    op.create_index(op.f('ix_ill_messages_request_id'), 'ill_messages', ['request_id'])
    op.create_index(op.f('ix_ill_messages_member_id'), 'ill_messages', ['member_id'])
    op.create_table('ill_webhooks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('created_at', Timestamp, nullable=False),
    _fk('ill_webhooks', 'member_id', 'members'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ill_webhooks')),
    )
    op.create_index(op.f('ix_ill_webhooks_member_id'), 'ill_webhooks', ['member_id'])


def downgrade() -> None:
    op.drop_table('ill_webhooks')
    op.drop_table('ill_messages')
    op.drop_table('ill_rota')
    op.drop_table('ill_requests')
