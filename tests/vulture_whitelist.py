"""Names vulture cannot see used, for `vulture dashboard metrics data_contracts sample_data
tests/vulture_whitelist.py --min-confidence 60` (run by tests/test_code_quality.py). Each is used."""
# ruff: noqa: B018 - a vulture whitelist is a list of bare expressions

import zipfile

from data_contracts import gx_runner
from metrics import config, release_programme, spoc, sql_models
from sample_data import codes

zipfile.ZipInfo.compress_type  # set before writestr; zipfile reads it (dashboard/exports/pack.py, ods.py)
gx_runner.GxRunner.progress_bars  # set on great-expectations' context variables to silence its bars
config.SHARED_REFERENCE_DIR  # read by tests/sample_data (the shared reference tables)
spoc.PackTable.registry_name  # tests/exports: the registry table a pack table came from
sql_models.read_header  # tests/sql: grains and invariants read from each model's header
sql_models.Header.purpose  # tests/sql
sql_models.Header.invariants  # tests/sql
codes.MIXED  # names index 3 of the ethnic-group enumeration; no simulator needs it alone
codes.RESIGNATION  # names index 1 of LEAVING beside RETIREMENT and DISMISSAL_LEAVE
# highspy's HighsLp fields, set to pass the programme to the solver
lp = release_programme.Programme.highs
lp.num_col_, lp.num_row_, lp.col_cost_, lp.col_lower_, lp.col_upper_, lp.row_lower_, lp.row_upper_
lp.format_, lp.start_, lp.index_, lp.value_
