# ruff: noqa: B018 - a vulture whitelist is a list of bare expressions
# Names in metrics/ that `vulture metrics` cannot see used: the dashboard's and the exports' API,
# and dataclass fields read by them. Run as: vulture metrics vulture_whitelist_metrics.py --min-confidence 60
from metrics import config, findings, narrative, spoc, spoc_findings

config.SHARED_REFERENCE_DIR  # the shared reference tables, read by tests/sample_data
config.DEFAULT_SAMPLE_DATA  # dashboard/cli.py: where `eqdash sample` writes by default
config.code_lists  # dashboard/data.py: the code lists for the filters' labels
findings.Finding.lead  # dashboard/app_pages (STRIDE and IOPC senior leads)
findings.needs_action  # dashboard/app_pages/overview.py and stride.py
findings.NEEDS_ACTION_TABLES  # dashboard/app_pages/overview.py
findings.ALL_YEARS_TABLES  # dashboard/app_pages/overview.py
narrative.ratio_sentences  # the dashboard pages' sentences
narrative.rate_sentence  # dashboard/app_pages/recruitment.py, acting_up.py
narrative.target_sentence  # dashboard/app_pages/recruitment.py
narrative.funnel_sentence  # dashboard/app_pages/grievances.py
narrative.median_sentence  # dashboard/app_pages/grievances.py
narrative.trend_sentences  # dashboard/app_pages/misconduct.py
spoc.MEASURE_LABELS  # the packs' and the SPOC page's labels
spoc.RELEASE_STATEMENT  # the packs' release statement (dashboard/exports/pdf.py)
spoc.PackTable.registry_name  # tests/exports: the registry table a pack table came from
spoc.PackTable.filters  # tests/exports: the filters it was fetched with
spoc.SpocPack.area_code  # dashboard/exports
spoc.SpocPack.area_name  # dashboard/exports
spoc.SpocPack.findings_note  # dashboard/exports/format.py, pdf.py
spoc.SpocPack.funnel_note  # dashboard/exports/pdf.py
spoc.SpocPack.build_date  # dashboard/exports/xlsx.py, pdf.py
spoc.assemble_pack  # dashboard/exports/pack.py, dashboard/data.py
spoc.resolution_curves  # dashboard/exports/pack.py
spoc_findings.Finding.p_value  # dashboard/exports/format.py
