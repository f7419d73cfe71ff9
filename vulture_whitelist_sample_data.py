# vulture false positives in sample_data/ (each name is used; vulture sees one folder at a time)
from sample_data import codes, hr_export

codes.MIXED  # noqa: B018 - names index 3 of the ethnic-group enumeration (WHITE..NS_GROUP); no simulator needs it alone
codes.RESIGNATION  # noqa: B018 - names index 1 of LEAVING beside RETIREMENT and DISMISSAL_LEAVE; drawn by index in workforce
hr_export.STYLES  # noqa: B018 - the --style choices of `eqdash sample` (dashboard/cli.py)
hr_export.write_style  # noqa: B018 - called by `eqdash sample --style` (dashboard/cli.py)
