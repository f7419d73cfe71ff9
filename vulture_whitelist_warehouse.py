# vulture false positives in metrics/warehouse*.py (vulture is run on the files a helper owns):
from metrics.sql_models import Header, read_header
from metrics.warehouse_build import BuildReport

BuildReport.seconds  # noqa: B018 - read by dashboard/cli.py's build summary
BuildReport.accepted_breaches  # noqa: B018 - read by dashboard/cli.py, which prints each breach built anyway
BuildReport.quarantine_counts  # noqa: B018 - read by the CLI's build summary and pinned by tests/sql
read_header  # noqa: B018 - tests/sql/test_marts.py reads every model's declared grain and invariants with it
Header.purpose  # noqa: B018 - pinned by tests/sql/test_marts.py
Header.invariants  # noqa: B018 - each is checked on every row by tests/sql/test_marts.py
