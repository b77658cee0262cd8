"""records.match_profile: each record's match profile, stored with the record

Revision ID: 0008
Revises: 0007

The union index compared records by profiles it made again from the normalized JSON every
time it read a record (each neighbour of a changed record, every record of a rebuild). The
harvest and ingest workers make the profile anyway; it is now kept beside the record, with
the version of ``profile_of`` that made it (a profile of another version is made again).
Records stored before have none until they are stored again; the index makes theirs.
"""

from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('records', sa.Column('match_profile', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('records') as batch_op:
        batch_op.drop_column('match_profile')
