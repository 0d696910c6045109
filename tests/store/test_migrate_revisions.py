"""The launch-path revision check reads the migration scripts without Alembic: keep it in step."""

from __future__ import annotations

import subprocess
import sys

from alembic.script import ScriptDirectory

from omnidesk.services.setup import init_store
from omnidesk.store import migrate


def test_packaged_revisions_match_alembic() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert migrate.head_revision() == script.get_current_head()
    expected = {rev.revision: tuple(rev._all_down_revisions) for rev in script.walk_revisions()}
    assert migrate.packaged_revisions() == expected


def test_checking_a_store_does_not_import_alembic(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    init_store(url)
    code = (
        "import sys\n"
        "from omnidesk.services.setup import open_context\n"
        f"ctx = open_context({url!r})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic' or m == 'sqlalchemy.orm'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
