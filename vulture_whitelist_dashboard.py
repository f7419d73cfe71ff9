"""vulture false positives in dashboard/ (read by `vulture dashboard/ vulture_whitelist_dashboard.py`)."""

import zipfile

zipfile.ZipInfo.compress_type  # noqa: B018 - set on ZipInfo before writestr: zipfile reads it (exports/pack.py, exports/ods.py)
