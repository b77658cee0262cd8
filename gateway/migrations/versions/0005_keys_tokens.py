"""member signing keys, API tokens, seen signature nonces

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('member_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.String(length=128), nullable=False),
    sa.Column('public_key', sa.Text(), nullable=False),
    sa.Column('created_at', Timestamp, nullable=False),
    sa.Column('valid_until', Timestamp, nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_keys_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_keys')),
    sa.UniqueConstraint('key_id', name=op.f('uq_member_keys_key_id')),
    )
    op.create_index(op.f('ix_member_keys_member_id'), 'member_keys', ['member_id'])
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('label', sa.Text(), nullable=True),
    sa.Column('created_at', Timestamp, nullable=False),
    sa.Column('revoked_at', Timestamp, nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_api_tokens_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash')),
    )
    op.create_index(op.f('ix_api_tokens_member_id'), 'api_tokens', ['member_id'])
    op.create_table('seen_nonces',
    sa.Column('key_id', sa.String(length=128), nullable=False),
    sa.Column('nonce', sa.String(length=128), nullable=False),
    sa.Column('seen_at', Timestamp, nullable=False),
    sa.PrimaryKeyConstraint('key_id', 'nonce', name=op.f('pk_seen_nonces')),
    )
    op.create_index(op.f('ix_seen_nonces_seen_at'), 'seen_nonces', ['seen_at'])


def downgrade() -> None:
    for table in ('seen_nonces', 'api_tokens', 'member_keys'):
        op.drop_table(table)
