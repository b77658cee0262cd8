"""search over the union index: search docs, identifiers, holders, languages, text index

The text index is dialect-specific: an FTS5 virtual table on SQLite, a tsvector column with a
GIN index on PostgreSQL (see the search section of gateway/store/schema.py).

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

TSVectorType = sa.Text().with_variant(postgresql.TSVECTOR(), "postgresql")

# Words are folded and split by LibGate before they reach FTS5 (protocols.search_query
# .search_words), so the tokenizer only has to split on the blanks it is given.
SQLITE_FTS = ("CREATE VIRTUAL TABLE search_fts USING fts5(title, author, subject, other, "
              "tokenize = 'unicode61 remove_diacritics 0')")


def _cluster_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'],
                                   name=op.f(f'fk_{table}_cluster_id_clusters'),
                                   ondelete='CASCADE')


def upgrade() -> None:
    op.create_table('search_docs',
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('lendable', sa.Boolean(), nullable=False),
    sa.Column('holder_count', sa.Integer(), nullable=False),
    sa.Column('languages', sa.Text(), server_default='', nullable=False),
    sa.Column('holders', sa.Text(), server_default='', nullable=False),
    sa.Column('document', TSVectorType, nullable=True),
    _cluster_fk('search_docs'),
    sa.PrimaryKeyConstraint('cluster_id', name=op.f('pk_search_docs')),
    )
    op.create_index('ix_search_docs_format_year', 'search_docs', ['format', 'year'])
    op.create_index('ix_search_docs_year', 'search_docs', ['year'])
    op.create_table('cluster_identifiers',
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('value', sa.String(length=64), nullable=False),
    _cluster_fk('cluster_identifiers'),
    )
    op.create_index(op.f('ix_cluster_identifiers_cluster_id'), 'cluster_identifiers',
                    ['cluster_id'])
    op.create_index('ix_cluster_identifiers_kind_value', 'cluster_identifiers',
                    ['kind', 'value'])
    op.create_table('cluster_holders',
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('member', sa.String(length=64), nullable=False),
    sa.Column('lendable', sa.Boolean(), nullable=False),
    _cluster_fk('cluster_holders'),
    )
    op.create_index('ix_cluster_holders_cluster', 'cluster_holders',
                    ['cluster_id', 'member', 'lendable'])
    op.create_index('ix_cluster_holders_member', 'cluster_holders', ['member', 'cluster_id'])
    op.create_table('cluster_languages',
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    _cluster_fk('cluster_languages'),
    )
    op.create_index('ix_cluster_languages_cluster', 'cluster_languages',
                    ['cluster_id', 'language'])
    op.create_index('ix_cluster_languages_language', 'cluster_languages',
                    ['language', 'cluster_id'])
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(SQLITE_FTS)
    else:
        op.create_index('ix_search_docs_document', 'search_docs', ['document'],
                        postgresql_using='gin')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("DROP TABLE IF EXISTS search_fts")
    for table in ('cluster_languages', 'cluster_holders', 'cluster_identifiers',
                  'search_docs'):
        op.drop_table(table)
