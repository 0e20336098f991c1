"""The throw-away PostgreSQL server of tests/postgres.py really runs and accepts SQL."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_postgres_server_answers_sql(postgres_url: str) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(postgres_url)
    with engine.connect() as connection:
        assert connection.execute(sqlalchemy.text("select 6 * 7")).scalar() == 42
        assert "127.0.0.1" in postgres_url
    engine.dispose()
